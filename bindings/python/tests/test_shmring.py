"""Tests of the ctypes binding, in process and across processes with C and C++ peers.

Environment: SHMRING_LIBRARY (the libshmring.so.1 to load), SHMRING_C_DEMO
(tests/capi/shmring_c_demo) and SHMRING_CXX_PEER (tests/capi/cxx_peer); the
cross-process tests are skipped when the peers are not given.
"""
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import shmring  # noqa: E402

C_DEMO = os.environ.get("SHMRING_C_DEMO")
CXX_PEER = os.environ.get("SHMRING_CXX_PEER")
N = 500


class RingTest(unittest.TestCase):
    def setUp(self):
        self.name = f"shmring-py-{os.getpid()}-{self.id().rsplit('.', 1)[-1]}"
        self.ring = shmring.Ring.create(self.name, capacity=1 << 16, groups=["g"])

    def tearDown(self):
        self.ring.close()
        try:
            shmring.Ring.remove(self.name)
        except shmring.ShmringError:
            pass

    def test_write_poll_commit(self):
        with self.ring.producer() as p, self.ring.reader("g", auto_commit=False) as r:
            p.write(b"one", type=1)
            view = p.reserve(3, type=2)
            view[:] = b"two"
            p.commit()
            p.reserve(8)
            p.abort()
            p.write(b"")
            recs = r.poll()
            self.assertEqual([(x.type, x.data) for x in recs], [(1, b"one"), (2, b"two"), (0, b"")])
            self.assertEqual(r.committed_position, 0)
            r.commit()
            self.assertGreater(r.committed_position, recs[1].position)
            self.assertEqual(r.wait(timeout=0.001), [])
            self.assertEqual(r.attach_report()["previous_pid"], 0)
        st = self.ring.stats()
        self.assertEqual((st["committed"], st["aborted"], st["delivered"]), (3, 1, 3))

    def test_doorbell_fd_wakes_a_selector(self):
        import selectors
        with self.ring.producer() as p, self.ring.reader("g") as r:
            fd = r.doorbell_fd()
            sel = selectors.DefaultSelector()
            sel.register(fd, selectors.EVENT_READ)
            for i in range(2):
                self.assertEqual(r.poll(), [])  # arms
                self.assertEqual(sel.select(timeout=0), [])
                p.write(b"ding %d" % i)
                self.assertEqual(len(sel.select(timeout=10)), 1)
                self.assertEqual([x.data for x in r.poll()], [b"ding %d" % i])
            sel.close()

    def test_reserved_view_is_released_by_commit_and_abort(self):
        with self.ring.producer() as p, self.ring.reader("g") as r:
            view = p.reserve(3)
            view[:] = b"abc"
            p.commit()
            with self.assertRaises(ValueError):  # released: cannot write into the committed record
                view[0] = ord("X")
            view = p.reserve(2)
            p.abort()
            with self.assertRaises(ValueError):
                view[:] = b"zz"
            view = p.reserve(1)
        with self.assertRaises(ValueError):  # close aborts and releases too
            view[0] = 1
        with self.ring.reader("g") as r:
            self.assertEqual([x.data for x in r.poll()], [b"abc"])

    def test_create_refuses_unknown_options(self):
        typo = self.name + "-typo"
        self.addCleanup(lambda: os.path.exists("/dev/shm/" + typo) and shmring.Ring.remove(typo))
        with self.assertRaises(TypeError) as cm:
            shmring.Ring.create(typo, groups=["g"], stale_after_sm=10)
        self.assertIn("stale_after_sm", str(cm.exception))
        self.assertFalse(os.path.exists("/dev/shm/" + typo))  # nothing was created

    def test_wait_without_deadline(self):
        import threading
        with self.ring.producer() as p, self.ring.reader("g") as r:
            # Whether the write lands before or during the wait, wait(None) returns it.
            t = threading.Thread(target=p.write, args=(b"late",))
            t.start()
            try:
                recs = r.wait(timeout=None)
            finally:
                t.join()  # before the producer closes, even if wait raised
            self.assertEqual([x.data for x in recs], [b"late"])
            self.assertEqual(r.wait(timeout=-1), [])  # <= 0: does not wait

    def test_group_and_producer_stats(self):
        with self.ring.producer() as p, self.ring.reader("g", auto_commit=False) as r:
            for _ in range(5):
                p.write(b"0123456789")
            self.assertEqual(len(r.poll(max=2)), 2)
            r.commit()
            self.ring.add_group("idle")
            st = self.ring.stats()
            g, idle = st["groups"]
            self.assertEqual((g["name"], g["slot"], g["cursor"]), ("g", 0, r.committed_position))
            self.assertEqual((g["lag_records"], g["lag_bytes"]), (3, st["tail"] - g["cursor"]))
            self.assertEqual((g["delivered"], g["delivered_bytes"], g["overwritten"]), (2, 20, 0))
            self.assertEqual((g["pid"], g["liveness"], g["evicted"]), (os.getpid(), "alive", False))
            self.assertEqual((idle["name"], idle["pid"], idle["liveness"], idle["lag_records"]), ("idle", 0, "none", 0))
            [prod] = st["producers"]
            self.assertEqual((prod["slot"], prod["committed"], prod["committed_bytes"]), (p.slot, 5, 50))
            self.assertEqual((prod["pid"], prod["liveness"], prod["fenced"]), (os.getpid(), "alive", False))

    def test_message_batches(self):
        name = self.name + "-batches"
        ring = shmring.Ring.create(name, capacity=1 << 16, groups=["g"], message_batches=True)
        try:
            with ring.producer() as p, ring.reader("g") as r:
                p.write_messages([b"a", (b"bb", 7), b""])
                recs = r.poll(max=2)  # split over two polls; the cursor passes the batch once whole
                self.assertEqual([(x.type, x.data) for x in recs], [(0, b"a"), (7, b"bb")])
                self.assertTrue(all(x.flags & 1 for x in recs))
                self.assertEqual([x.data for x in r.poll()], [b""])
                r.commit()
            self.assertEqual((ring.stats()["committed"], ring.stats()["delivered"]), (1, 1))
            with self.ring.producer() as p, self.assertRaises(shmring.ShmringError) as e:
                p.write_messages([b"x"])  # self.ring was created without message_batches
            self.assertEqual(e.exception.status, "FAILED_PRECONDITION")
        finally:
            ring.close()
            shmring.Ring.remove(name)

    def test_errors(self):
        with self.assertRaises(shmring.ShmringError) as e:
            shmring.Ring.open(self.name + "-missing")
        self.assertEqual(e.exception.code, 5)
        self.assertEqual(e.exception.status, "NOT_FOUND")
        self.assertIn(self.name + "-missing", e.exception.message)
        with self.assertRaises(shmring.ShmringError) as e:
            shmring.Ring.create(self.name)
        self.assertEqual(e.exception.status, "ALREADY_EXISTS")
        with self.ring.producer() as p:
            with self.assertRaises(shmring.ShmringError) as e:
                p.write(b"x" * (self.ring.max_record + 1))
            self.assertEqual(e.exception.status, "INVALID_ARGUMENT")
        with self.ring.reader("g"):
            with self.assertRaises(shmring.ShmringError) as e:
                self.ring.reader("g")
            self.assertEqual(e.exception.status, "FAILED_PRECONDITION")

    def test_groups_and_properties(self):
        self.assertEqual(self.ring.find_group("g"), 0)
        self.assertEqual(self.ring.add_group("h"), 1)
        self.ring.remove_group("h")
        self.assertEqual(self.ring.capacity, 1 << 16)
        self.assertEqual(self.ring.policy, shmring.BLOCK)
        self.assertTrue(self.ring.path.endswith(self.name))
        with shmring.Ring.open(self.name, read_only=True) as ro:
            self.assertEqual(ro.stats()["num_groups"], 1)


def expected(type_):
    return [f"{type_} record {i}" for i in range(N)]


class CrossProcessTest(unittest.TestCase):
    def setUp(self):
        self.name = f"shmring-pyx-{os.getpid()}-{self.id().rsplit('.', 1)[-1]}"
        self.ring = shmring.Ring.create(self.name, groups=["g"])

    def tearDown(self):
        self.ring.close()
        shmring.Ring.remove(self.name)

    def consume_here(self):
        got = []
        with self.ring.reader("g") as r:
            while len(got) < N:
                batch = r.wait(timeout=10.0)
                self.assertTrue(batch, f"timed out after {len(got)} records")
                got += [f"{x.type} {x.data.decode()}" for x in batch]
            r.commit()
        return got

    def produce_here(self):
        with self.ring.producer() as p:
            for i in range(N):
                p.write(f"record {i}".encode(), type=3)

    def exchange(self, exe, type_):
        producer = subprocess.Popen([exe, "produce", self.name, str(N)], stdout=subprocess.DEVNULL)
        self.assertEqual(self.consume_here(), expected(type_))
        self.assertEqual(producer.wait(timeout=30), 0)
        consumer = subprocess.Popen([exe, "consume", self.name, "g", str(N)], stdout=subprocess.PIPE, text=True)
        self.produce_here()
        out, _ = consumer.communicate(timeout=30)
        self.assertEqual(consumer.returncode, 0)
        self.assertEqual(out.splitlines(), expected(3))

    @unittest.skipUnless(C_DEMO, "SHMRING_C_DEMO not set")
    def test_with_c_process(self):
        self.exchange(C_DEMO, 1)

    @unittest.skipUnless(CXX_PEER, "SHMRING_CXX_PEER not set")
    def test_with_cxx_process(self):
        self.exchange(CXX_PEER, 2)

    def test_python_examples(self):
        examples = os.path.join(HERE, "..", "examples")
        self.ring.close()
        shmring.Ring.remove(self.name)
        consumer = subprocess.Popen([sys.executable, os.path.join(examples, "consumer.py"), "--create", self.name,
                                     "g", str(N)], stdout=subprocess.PIPE, text=True)
        self.assertEqual(consumer.stdout.readline().strip(), "ready")
        subprocess.run([sys.executable, os.path.join(examples, "producer.py"), self.name, str(N)], check=True,
                       stdout=subprocess.DEVNULL, timeout=30)
        out, _ = consumer.communicate(timeout=30)
        self.assertEqual(consumer.returncode, 0)
        self.assertEqual(out.splitlines(), expected(3))
        self.ring = shmring.Ring.open(self.name)  # for tearDown


if __name__ == "__main__":
    unittest.main()
