#!/usr/bin/env python3
"""Writes COUNT records "record <i>" (type 3) into RING.

    python3 examples/producer.py RING COUNT   (create the ring first, e.g. with consumer.py --create)
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import shmring  # noqa: E402


def main():
    ring_name, count = sys.argv[1], int(sys.argv[2])
    with shmring.Ring.open(ring_name) as ring, ring.producer() as producer:
        for i in range(count):
            producer.write(f"record {i}".encode(), type=3)
    print(f"produced {count}")


if __name__ == "__main__":
    main()
