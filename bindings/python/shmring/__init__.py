"""shmring for Python: ctypes over the C API of libshmring.so.1 (spec/C_API.md).

Standard library only. The shared library is found through $SHMRING_LIBRARY,
then ctypes.util.find_library("shmring"), then the name "libshmring.so.1".

    with shmring.Ring.create("demo", groups=["logs"]) as ring:
        with ring.producer() as p:
            p.write(b"hello", type=1)
        with ring.reader("logs") as r:
            for rec in r.poll():
                print(rec.position, rec.type, rec.data)
"""

import ctypes
import ctypes.util
import os
from collections import namedtuple

__all__ = ["Ring", "Producer", "Reader", "Record", "ShmringError", "BLOCK", "REJECT", "OVERWRITE", "library"]

BLOCK, REJECT, OVERWRITE = 1, 2, 3
_POLICIES = {"block": BLOCK, "reject": REJECT, "overwrite": OVERWRITE}
_OPEN_READ_ONLY = 1

Record = namedtuple("Record", "position type flags producer data")
Record.__doc__ = "One delivered record; data is a bytes copy of the payload."


def _load():
    names = [os.environ.get("SHMRING_LIBRARY"), ctypes.util.find_library("shmring"), "libshmring.so.1"]
    errors = []
    for name in filter(None, names):
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            errors.append(str(e))
    raise ImportError("shmring: cannot load libshmring.so.1 (set SHMRING_LIBRARY): " + "; ".join(errors))


class _CreateOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("policy", ctypes.c_uint32), ("capacity", ctypes.c_uint64),
                ("max_record", ctypes.c_uint32), ("max_producers", ctypes.c_uint32),
                ("max_groups", ctypes.c_uint32), ("mode", ctypes.c_uint32), ("checksums", ctypes.c_int32),
                ("num_groups", ctypes.c_uint32), ("groups", ctypes.POINTER(ctypes.c_char_p)),
                ("initial_position", ctypes.c_uint64), ("stale_after_ms", ctypes.c_uint32),
                ("evict_after_ms", ctypes.c_uint32), ("unblock_after_ms", ctypes.c_uint32),
                ("message_batches", ctypes.c_int32)]


class _Stats(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("policy", ctypes.c_uint32), ("capacity", ctypes.c_uint64),
                ("max_record", ctypes.c_uint32), ("num_groups", ctypes.c_uint32)] + [
                   (n, ctypes.c_uint64) for n in ("tail", "head", "used_bytes", "high_water", "committed",
                                                  "committed_bytes", "dropped", "aborted", "delivered",
                                                  "overwritten", "corrupt", "abandoned", "unblocked", "unblocks",
                                                  "evictions", "reclaims", "fence_skips")]


_U64 = ctypes.c_uint64


class _GroupStats(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("slot", ctypes.c_uint32), ("name", ctypes.c_char * 64),
                ("generation", ctypes.c_uint32), ("pid", ctypes.c_int32), ("pidns", _U64),
                ("liveness", ctypes.c_uint32), ("evicted", ctypes.c_int32)] + [
                   (n, _U64) for n in ("heartbeat_age_ns", "cursor", "lag_bytes", "lag_records", "delivered",
                                       "delivered_bytes", "overwritten", "corrupt", "evictions", "abandoned")]


class _ProducerStats(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("slot", ctypes.c_uint32), ("generation", ctypes.c_uint32),
                ("pid", ctypes.c_int32), ("pidns", _U64), ("liveness", ctypes.c_uint32),
                ("fenced", ctypes.c_int32)] + [
                   (n, _U64) for n in ("heartbeat_age_ns", "committed", "committed_bytes", "dropped", "aborted",
                                       "blocked_ns", "wakeups", "abandoned", "unblocked")]


_LIVENESS = ("none", "alive", "stale", "dead")  # shmring_liveness
_OUT_OF_RANGE = 11
# shmring_reader_wait's SHMRING_NO_DEADLINE (INT64_MAX ns).
_NO_DEADLINE = (1 << 63) - 1
# Ring.create keywords beyond its named parameters: fields of shmring_create_options.
_MORE_CREATE_OPTIONS = ("initial_position", "stale_after_ms", "evict_after_ms", "unblock_after_ms", "message_batches")


class _Message(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("len", ctypes.c_size_t), ("type", ctypes.c_uint16)]


class _ProducerOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("reserved_", ctypes.c_uint32),
                ("block_timeout_ns", ctypes.c_int64)]


class _Reservation(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("len", ctypes.c_size_t), ("position", ctypes.c_uint64)]


class _ReaderOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("auto_commit", ctypes.c_int32), ("spin", ctypes.c_int32),
                ("reserved_", ctypes.c_uint32)]


class _Record(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("len", ctypes.c_size_t), ("position", ctypes.c_uint64),
                ("type", ctypes.c_uint16), ("flags", ctypes.c_uint16), ("producer", ctypes.c_uint32)]


class _AttachReport(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("previous_pid", ctypes.c_uint32),
                ("resumed_at", ctypes.c_uint64), ("lost_while_away", ctypes.c_uint64)]


library = _load()
_P = ctypes.POINTER
_vp, _cp, _u16, _u32, _u64, _i64, _sz, _int = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint16, ctypes.c_uint32,
                                               ctypes.c_uint64, ctypes.c_int64, ctypes.c_size_t, ctypes.c_int)
for _name, _res, _args in [
    ("shmring_last_error", _cp, []), ("shmring_status_name", _cp, [_int]), ("shmring_version", _cp, []),
    ("shmring_create_options_init", None, [_P(_CreateOptions)]),
    ("shmring_ring_create", _int, [_cp, _P(_CreateOptions), _P(_vp)]),
    ("shmring_ring_open", _int, [_cp, _u32, _P(_vp)]), ("shmring_ring_close", None, [_vp]),
    ("shmring_ring_remove", _int, [_cp]), ("shmring_ring_add_group", _int, [_vp, _cp, _P(_u32)]),
    ("shmring_ring_remove_group", _int, [_vp, _cp]), ("shmring_ring_find_group", _int, [_vp, _cp, _P(_u32)]),
    ("shmring_ring_path", _cp, [_vp]), ("shmring_ring_capacity", _u64, [_vp]),
    ("shmring_ring_max_record", _u32, [_vp]), ("shmring_ring_policy", _int, [_vp]),
    ("shmring_ring_stats", _int, [_vp, _P(_Stats)]),
    ("shmring_ring_num_groups", _int, [_vp, _P(_u32)]), ("shmring_ring_num_producers", _int, [_vp, _P(_u32)]),
    ("shmring_ring_group_stats", _int, [_vp, _u32, _P(_GroupStats)]),
    ("shmring_ring_producer_stats", _int, [_vp, _u32, _P(_ProducerStats)]),
    ("shmring_producer_options_init", None, [_P(_ProducerOptions)]),
    ("shmring_producer_attach", _int, [_vp, _P(_ProducerOptions), _P(_vp)]),
    ("shmring_producer_close", None, [_vp]),
    ("shmring_producer_reserve", _int, [_vp, _sz, _u16, _i64, _P(_Reservation)]),
    ("shmring_producer_commit", _int, [_vp]), ("shmring_producer_abort", _int, [_vp]),
    ("shmring_producer_write", _int, [_vp, _cp, _sz, _u16]), ("shmring_producer_slot", _u32, [_vp]),
    ("shmring_producer_write_messages", _int, [_vp, _P(_Message), _sz]),
    ("shmring_reader_options_init", None, [_P(_ReaderOptions)]),
    ("shmring_reader_attach", _int, [_vp, _cp, _P(_ReaderOptions), _P(_vp)]),
    ("shmring_reader_close", None, [_vp]),
    ("shmring_reader_poll", _int, [_vp, _P(_Record), _sz, _P(_sz)]),
    ("shmring_reader_wait", _int, [_vp, _P(_Record), _sz, _i64, _P(_sz)]),
    ("shmring_reader_commit", _int, [_vp]), ("shmring_reader_committed_position", _u64, [_vp]),
    ("shmring_reader_attach_report", _int, [_vp, _P(_AttachReport)]),
    ("shmring_reader_doorbell_fd", _int, [_vp, _P(ctypes.c_int)]),
]:
    _f = getattr(library, _name)
    _f.restype, _f.argtypes = _res, _args
_L = library


class ShmringError(Exception):
    """A failed call: .code is the shmring_status number, .status its name."""

    def __init__(self, code, message):
        self.code = code
        self.status = _L.shmring_status_name(code).decode()
        self.message = message
        super().__init__(f"{self.status}: {message}")


def _check(code):
    if code != 0:
        raise ShmringError(code, _L.shmring_last_error().decode(errors="replace"))


def _b(s):
    return s if isinstance(s, bytes) else os.fsencode(s)


def version():
    return _L.shmring_version().decode()


class _Handle:
    _close = None
    _h = None

    def __init__(self, handle):
        self._h = handle

    def close(self):
        if self._h:
            type(self)._close(self._h)
            self._h = None

    @property
    def handle(self):
        if not self._h:
            raise ValueError(f"{type(self).__name__} is closed")
        return self._h

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


class Ring(_Handle):
    """A ring handle. Producers and readers made from it outlive it safely."""
    _close = _L.shmring_ring_close

    @classmethod
    def create(cls, name, capacity=1 << 20, policy="block", groups=(), max_record=0, max_producers=64,
               max_groups=16, mode=0o600, checksums=True, **more):
        """Creates a ring. More keywords: initial_position, stale_after_ms, evict_after_ms,
        unblock_after_ms, message_batches; any other raises TypeError."""
        unknown = sorted(set(more) - set(_MORE_CREATE_OPTIONS))
        if unknown:
            raise TypeError(f"Ring.create() got unknown option {unknown[0]!r} "
                            f"(known besides its parameters: {', '.join(_MORE_CREATE_OPTIONS)})")
        o = _CreateOptions()
        _L.shmring_create_options_init(ctypes.byref(o))
        o.capacity, o.max_record, o.max_producers, o.max_groups = capacity, max_record, max_producers, max_groups
        o.policy = _POLICIES[policy] if isinstance(policy, str) else policy
        o.mode, o.checksums = mode, int(bool(checksums))
        names = (ctypes.c_char_p * max(len(groups), 1))(*[_b(g) for g in groups])
        o.groups, o.num_groups = ctypes.cast(names, ctypes.POINTER(ctypes.c_char_p)), len(groups)
        for k, v in more.items():
            setattr(o, k, v)
        h = ctypes.c_void_p()
        _check(_L.shmring_ring_create(_b(name), ctypes.byref(o), ctypes.byref(h)))
        return cls(h.value)

    @classmethod
    def open(cls, name, read_only=False):
        h = ctypes.c_void_p()
        _check(_L.shmring_ring_open(_b(name), _OPEN_READ_ONLY if read_only else 0, ctypes.byref(h)))
        return cls(h.value)

    @staticmethod
    def remove(name):
        _check(_L.shmring_ring_remove(_b(name)))

    def add_group(self, name):
        i = ctypes.c_uint32()
        _check(_L.shmring_ring_add_group(self.handle, _b(name), ctypes.byref(i)))
        return i.value

    def remove_group(self, name):
        _check(_L.shmring_ring_remove_group(self.handle, _b(name)))

    def find_group(self, name):
        i = ctypes.c_uint32()
        _check(_L.shmring_ring_find_group(self.handle, _b(name), ctypes.byref(i)))
        return i.value

    path = property(lambda self: os.fsdecode(_L.shmring_ring_path(self.handle)))
    capacity = property(lambda self: _L.shmring_ring_capacity(self.handle))
    max_record = property(lambda self: _L.shmring_ring_max_record(self.handle))
    policy = property(lambda self: _L.shmring_ring_policy(self.handle))

    def stats(self):
        """Ring-wide counters (a dict), plus "groups" and "producers": a dict per named
        group (cursor, lag_records, lag_bytes, delivered, reader pid and liveness, ...)
        and per producer slot ever used (committed, dropped, pid, liveness, ...)."""
        s = _Stats(struct_size=ctypes.sizeof(_Stats))
        _check(_L.shmring_ring_stats(self.handle, ctypes.byref(s)))
        out = _fields(s)
        out["groups"] = self._each(_L.shmring_ring_num_groups, _L.shmring_ring_group_stats, _GroupStats)
        out["producers"] = self._each(_L.shmring_ring_num_producers, _L.shmring_ring_producer_stats, _ProducerStats)
        return out

    def _each(self, count, get, struct):
        n = ctypes.c_uint32()
        _check(count(self.handle, ctypes.byref(n)))
        items = []
        for i in range(n.value):
            s = struct(struct_size=ctypes.sizeof(struct))
            code = get(self.handle, i, ctypes.byref(s))
            if code == _OUT_OF_RANGE:  # a group or producer went away since the count
                break
            _check(code)
            items.append(_fields(s))
        return items

    def producer(self, block_timeout=None):
        return Producer(self, block_timeout)

    def reader(self, group, auto_commit=True, spin=200):
        return Reader(self, group, auto_commit, spin)


def _fields(s):
    d = {name: getattr(s, name) for name, _ in s._fields_ if name != "struct_size"}
    if "name" in d:
        d["name"] = d["name"].decode(errors="replace")
    if "liveness" in d:
        d["liveness"] = _LIVENESS[d["liveness"]] if d["liveness"] < len(_LIVENESS) else str(d["liveness"])
    for flag in ("evicted", "fenced"):
        if flag in d:
            d[flag] = bool(d[flag])
    return d


class Producer(_Handle):
    """Writes records. Use from one thread at a time."""
    _close = _L.shmring_producer_close
    _view = None  # the memoryview of the outstanding reservation

    def __init__(self, ring, block_timeout=None):
        o = _ProducerOptions()
        _L.shmring_producer_options_init(ctypes.byref(o))
        if block_timeout is not None:
            o.block_timeout_ns = int(block_timeout * 1e9)
        h = ctypes.c_void_p()
        _check(_L.shmring_producer_attach(ring.handle, ctypes.byref(o), ctypes.byref(h)))
        super().__init__(h.value)
        self._view = None

    def close(self):
        self._release()
        super().close()

    def _release(self):
        # The reservation's bytes belong to the ring once committed or aborted: writing
        # through the view then would corrupt a published record.
        if self._view is not None:
            self._view.release()
            self._view = None

    slot = property(lambda self: _L.shmring_producer_slot(self.handle))

    def write(self, data, type=0):
        data = bytes(data)
        _check(_L.shmring_producer_write(self.handle, data, len(data), type))

    def write_messages(self, messages):
        """Packs messages (bytes, or (bytes, type) pairs) into one record; a reader gets
        one record per message. The ring must be created with message_batches=True."""
        items = [(bytes(m), 0) if isinstance(m, (bytes, bytearray, memoryview)) else (bytes(m[0]), m[1])
                 for m in messages]
        arr = (_Message * max(len(items), 1))()
        for i, (data, type_) in enumerate(items):
            arr[i].data = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p) if data else None
            arr[i].len, arr[i].type = len(data), type_
        _check(_L.shmring_producer_write_messages(self.handle, arr, len(items)))

    def reserve(self, length, type=0, timeout=None):
        """Claims length bytes; returns a writable memoryview into the ring. commit(), abort()
        and close() release it (using it then raises ValueError); do not keep slices of it."""
        r = _Reservation()
        t = -1 if timeout is None else int(timeout * 1e9)
        _check(_L.shmring_producer_reserve(self.handle, length, type, t, ctypes.byref(r)))
        if not r.len:
            self._view = memoryview(bytearray())
        else:
            self._view = memoryview((ctypes.c_ubyte * r.len).from_address(r.data)).cast("B")
        return self._view

    def commit(self):
        self._release()
        _check(_L.shmring_producer_commit(self.handle))

    def abort(self):
        self._release()
        _check(_L.shmring_producer_abort(self.handle))


class Reader(_Handle):
    """The reader of one consumer group. Use from one thread at a time."""
    _close = _L.shmring_reader_close

    def __init__(self, ring, group, auto_commit=True, spin=200):
        o = _ReaderOptions()
        _L.shmring_reader_options_init(ctypes.byref(o))
        o.auto_commit, o.spin = int(bool(auto_commit)), spin
        h = ctypes.c_void_p()
        _check(_L.shmring_reader_attach(ring.handle, _b(group), ctypes.byref(o), ctypes.byref(h)))
        super().__init__(h.value)
        self._buf, self._n = (_Record * 0)(), 0

    def _batch(self, max):
        if self._n < max:
            self._buf, self._n = (_Record * max)(), max
        return self._buf, ctypes.c_size_t()

    @staticmethod
    def _records(buf, n):
        return [Record(r.position, r.type, r.flags, r.producer, ctypes.string_at(r.data, r.len) if r.len else b"")
                for r in buf[:n.value]]

    def poll(self, max=64):
        """Up to max ready records (a list, maybe empty); never blocks."""
        buf, n = self._batch(max)
        _check(_L.shmring_reader_poll(self.handle, buf, max, ctypes.byref(n)))
        return self._records(buf, n)

    def wait(self, max=64, timeout=1.0):
        """Like poll, but waits up to timeout seconds for records ([] when none came);
        timeout=None waits without deadline, until records arrive; timeout <= 0 does not wait."""
        buf, n = self._batch(max)
        t = _NO_DEADLINE if timeout is None else min(int(timeout * 1e9), _NO_DEADLINE)
        _check(_L.shmring_reader_wait(self.handle, buf, max, t, ctypes.byref(n)))
        return self._records(buf, n)

    def commit(self):
        _check(_L.shmring_reader_commit(self.handle))

    committed_position = property(lambda self: _L.shmring_reader_committed_position(self.handle))

    def doorbell_fd(self):
        """A file descriptor for selectors/asyncio/poll that becomes readable when records
        may have arrived: a poll() that returns [] arms it; wait for it, then poll() again
        (which resets it). Owned by the reader: do not read or close it."""
        fd = ctypes.c_int(-1)
        _check(_L.shmring_reader_doorbell_fd(self.handle, ctypes.byref(fd)))
        return fd.value

    def attach_report(self):
        a = _AttachReport(struct_size=ctypes.sizeof(_AttachReport))
        _check(_L.shmring_reader_attach_report(self.handle, ctypes.byref(a)))
        return {"previous_pid": a.previous_pid, "resumed_at": a.resumed_at, "lost_while_away": a.lost_while_away}
