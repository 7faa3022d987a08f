#!/usr/bin/env python3
"""Reads COUNT records from GROUP of RING and prints "<type> <payload>" per record.

    python3 examples/consumer.py [--create] RING GROUP COUNT
--create makes the ring (1 MiB, block policy) with GROUP first.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import shmring  # noqa: E402


def main():
    args = sys.argv[1:]
    create = args[0] == "--create"
    if create:
        args = args[1:]
    ring_name, group, count = args[0], args[1], int(args[2])
    ring = shmring.Ring.create(ring_name, groups=[group]) if create else shmring.Ring.open(ring_name)
    print("ready", flush=True)  # the producer may start now
    with ring, ring.reader(group) as reader:
        got = 0
        while got < count:
            batch = reader.wait(max=64, timeout=10.0)
            if not batch:
                sys.exit(f"timed out after {got} of {count} records")
            for rec in batch:
                print(rec.type, rec.data.decode(), flush=False)
            got += len(batch)
        reader.commit()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
