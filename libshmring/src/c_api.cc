// The C API (include/shmring/shmring.h) over the C++ engine. Nothing thrown
// crosses the boundary: every entry point that can fail catches everything.
#include "shmring/shmring.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/ring.h"
#include "shmring/stats.h"

struct shmring_ring {
  std::shared_ptr<shmring::Ring> ring;
};
struct shmring_producer {
  std::unique_ptr<shmring::Producer> producer;
  shmring::Reservation reservation;
};
struct shmring_reader {
  std::unique_ptr<shmring::Reader> reader;
};

namespace {

thread_local std::string last_error;

int Fail(int code, std::string msg) {
  try {
    last_error = std::move(msg);
  } catch (...) {
    last_error.clear();
  }
  return code;
}
int Fail(const absl::Status& s) { return Fail(static_cast<int>(s.code()), std::string(s.message())); }
int Ok() { return SHMRING_OK; }

// Runs f, turning exceptions into SHMRING_INTERNAL / RESOURCE_EXHAUSTED.
template <typename F>
int Guard(F&& f) noexcept {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return Fail(SHMRING_RESOURCE_EXHAUSTED, "out of memory");
  } catch (const std::exception& e) {
    return Fail(SHMRING_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return Fail(SHMRING_INTERNAL, "internal error: unknown exception");
  }
}

int OutOfRange(const char* what, uint32_t index, size_t count) {
  return Fail(SHMRING_OUT_OF_RANGE, std::string(what) + " index " + std::to_string(index) + " is out of range: the ring has " +
                                        std::to_string(count) + " (indexes 0 .. count - 1)");
}

// shmring_liveness and shmring::Liveness are the same numbers.
static_assert(static_cast<int>(shmring::Liveness::kNone) == SHMRING_LIVENESS_NONE &&
              static_cast<int>(shmring::Liveness::kAlive) == SHMRING_LIVENESS_ALIVE &&
              static_cast<int>(shmring::Liveness::kStale) == SHMRING_LIVENESS_STALE &&
              static_cast<int>(shmring::Liveness::kDead) == SHMRING_LIVENESS_DEAD);

int NullArg(const char* what) { return Fail(SHMRING_INVALID_ARGUMENT, std::string(what) + " is NULL"); }

// Copies the caller's versioned struct over defaults: only the first
// min(struct_size, sizeof(T)) bytes are read, so older callers keep working.
template <typename T>
bool ReadVersioned(const T* in, T* out) {
  if (in == nullptr) return true;
  if (in->struct_size < sizeof(uint32_t)) return false;
  std::memcpy(out, in, std::min<size_t>(in->struct_size, sizeof(T)));
  out->struct_size = sizeof(T);
  return true;
}
template <typename T>
int WriteVersioned(const T& value, T* out) {
  if (out->struct_size < sizeof(uint32_t)) return Fail(SHMRING_INVALID_ARGUMENT, "struct_size is not set");
  const uint32_t size = out->struct_size;
  std::memcpy(out, &value, std::min<size_t>(size, sizeof(T)));
  out->struct_size = size;
  return SHMRING_OK;
}

// Who holds a group or producer slot: the fields shmring_group_stats and
// shmring_producer_stats share with GroupStats and ProducerStats.
template <typename From, typename To>
void CopyAttachment(const From& from, To& to) {
  to.slot = from.slot;
  to.generation = from.generation;
  to.pid = from.pid;
  to.pidns = from.pidns;
  to.liveness = static_cast<uint32_t>(from.liveness);
  to.heartbeat_age_ns = from.heartbeat_age_ns;
}

// The 1.2 per-group / per-producer entry points: checks the handle and the out
// pointer, takes one snapshot and hands it to f.
template <typename F>
int WithStats(const shmring_ring* ring, const void* out, const char* out_name, F&& f) {
  return Guard([&] {
    if (ring == nullptr) return NullArg("ring");
    if (out == nullptr) return NullArg(out_name);
    return f(ring->ring->Stats());
  });
}

int Batch(absl::StatusOr<std::span<const shmring::RecordView>> batch, shmring_record* out, size_t* count) {
  if (!batch.ok()) return Fail(batch.status());
  size_t n = 0;
  for (const shmring::RecordView& v : *batch) {
    out[n++] = shmring_record{v.payload.data(), v.payload.size(), v.position, v.type, v.flags, v.producer};
  }
  *count = n;
  return Ok();
}

}  // namespace

extern "C" {

const char* shmring_last_error(void) { return last_error.c_str(); }

const char* shmring_status_name(int status) {
  static const char* const kNames[] = {"OK",           "CANCELLED",         "UNKNOWN",
                                       "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
                                       "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION", "ABORTED",     "OUT_OF_RANGE",
                                       "UNIMPLEMENTED", "INTERNAL",         "UNAVAILABLE",
                                       "DATA_LOSS",    "UNAUTHENTICATED"};
  if (status < 0 || status > SHMRING_UNAUTHENTICATED) return "UNKNOWN";
  return kNames[status];
}

#define SHMRING_STR2(x) #x
#define SHMRING_STR(x) SHMRING_STR2(x)
const char* shmring_version(void) {
  return SHMRING_STR(SHMRING_VERSION_MAJOR) "." SHMRING_STR(SHMRING_VERSION_MINOR) "." SHMRING_STR(SHMRING_VERSION_PATCH);
}

// ---- rings ----

void shmring_create_options_init(shmring_create_options* o) {
  if (o == nullptr) return;
  const shmring::CreateOptions d;
  *o = shmring_create_options{};
  o->struct_size = sizeof(*o);
  o->policy = static_cast<uint32_t>(d.policy);
  o->capacity = d.capacity;
  o->max_record = d.max_record;
  o->max_producers = d.max_producers;
  o->max_groups = d.max_groups;
  o->mode = d.mode;
  o->checksums = d.checksums;
  o->initial_position = d.initial_position;
  o->stale_after_ms = d.stale_after_ms;
  o->evict_after_ms = d.evict_after_ms;
  o->unblock_after_ms = d.unblock_after_ms;
  o->message_batches = d.message_batches;
}

int shmring_ring_create(const char* ring, const shmring_create_options* options, shmring_ring** out) {
  return Guard([&] {
    if (ring == nullptr) return NullArg("ring");
    if (out == nullptr) return NullArg("out");
    *out = nullptr;
    shmring_create_options o;
    shmring_create_options_init(&o);
    if (!ReadVersioned(options, &o)) return Fail(SHMRING_INVALID_ARGUMENT, "create options: struct_size is not set");
    if (o.policy < 1 || o.policy > 3) {
      return Fail(SHMRING_INVALID_ARGUMENT, "create options: policy " + std::to_string(o.policy) +
                                                " is not BLOCK (1), REJECT (2) or OVERWRITE (3)");
    }
    shmring::CreateOptions c;
    c.capacity = o.capacity;
    c.max_record = o.max_record;
    c.policy = static_cast<shmring::Policy>(o.policy);
    c.max_producers = o.max_producers;
    c.max_groups = o.max_groups;
    c.mode = static_cast<mode_t>(o.mode);
    c.checksums = o.checksums != 0;
    for (uint32_t i = 0; i < o.num_groups; ++i) {
      if (o.groups == nullptr || o.groups[i] == nullptr) return NullArg("create options: group name");
      c.groups.emplace_back(o.groups[i]);
    }
    c.initial_position = o.initial_position;
    c.stale_after_ms = o.stale_after_ms;
    c.evict_after_ms = o.evict_after_ms;
    c.unblock_after_ms = o.unblock_after_ms;
    c.message_batches = o.message_batches != 0;
    auto r = shmring::Ring::Create(ring, c);
    if (!r.ok()) return Fail(r.status());
    *out = new shmring_ring{std::move(*r)};
    return Ok();
  });
}

int shmring_ring_open(const char* ring, uint32_t flags, shmring_ring** out) {
  return Guard([&] {
    if (ring == nullptr) return NullArg("ring");
    if (out == nullptr) return NullArg("out");
    *out = nullptr;
    if (flags & ~SHMRING_OPEN_READ_ONLY) return Fail(SHMRING_INVALID_ARGUMENT, "open: unknown flags");
    shmring::OpenOptions o;
    o.read_only = (flags & SHMRING_OPEN_READ_ONLY) != 0;
    auto r = shmring::Ring::Open(ring, o);
    if (!r.ok()) return Fail(r.status());
    *out = new shmring_ring{std::move(*r)};
    return Ok();
  });
}

void shmring_ring_close(shmring_ring* ring) { delete ring; }

int shmring_ring_remove(const char* ring) {
  return Guard([&] {
    if (ring == nullptr) return NullArg("ring");
    absl::Status s = shmring::Ring::Remove(ring);
    return s.ok() ? Ok() : Fail(s);
  });
}

int shmring_ring_add_group(shmring_ring* ring, const char* name, uint32_t* index_out) {
  return Guard([&] {
    if (ring == nullptr) return NullArg("ring");
    if (name == nullptr) return NullArg("name");
    auto g = ring->ring->AddGroup(name);
    if (!g.ok()) return Fail(g.status());
    if (index_out) *index_out = *g;
    return Ok();
  });
}

int shmring_ring_remove_group(shmring_ring* ring, const char* name) {
  return Guard([&] {
    if (ring == nullptr) return NullArg("ring");
    if (name == nullptr) return NullArg("name");
    absl::Status s = ring->ring->RemoveGroup(name);
    return s.ok() ? Ok() : Fail(s);
  });
}

int shmring_ring_find_group(const shmring_ring* ring, const char* name, uint32_t* index_out) {
  return Guard([&] {
    if (ring == nullptr) return NullArg("ring");
    if (name == nullptr) return NullArg("name");
    auto g = ring->ring->FindGroup(name);
    if (!g.ok()) return Fail(g.status());
    if (index_out) *index_out = *g;
    return Ok();
  });
}

const char* shmring_ring_path(const shmring_ring* ring) { return ring ? ring->ring->path().c_str() : ""; }
uint64_t shmring_ring_capacity(const shmring_ring* ring) { return ring ? ring->ring->capacity() : 0; }
uint32_t shmring_ring_max_record(const shmring_ring* ring) { return ring ? ring->ring->max_record() : 0; }
int shmring_ring_policy(const shmring_ring* ring) { return ring ? static_cast<int>(ring->ring->policy()) : 0; }

int shmring_ring_stats(const shmring_ring* ring, shmring_stats* stats) {
  return Guard([&] {
    if (ring == nullptr) return NullArg("ring");
    if (stats == nullptr) return NullArg("stats");
    const shmring::RingStats s = ring->ring->Stats();
    shmring_stats c{};
    c.struct_size = sizeof(c);
    c.policy = static_cast<uint32_t>(s.policy);
    c.capacity = s.capacity;
    c.max_record = s.max_record;
    c.num_groups = static_cast<uint32_t>(s.groups.size());
    c.tail = s.tail;
    c.head = s.head;
    c.used_bytes = s.used_bytes;
    c.high_water = s.high_water;
    c.committed = s.committed;
    c.committed_bytes = s.committed_bytes;
    c.dropped = s.dropped;
    c.aborted = s.aborted;
    c.abandoned = s.abandoned;
    c.unblocked = s.unblocked;
    c.unblocks = s.unblocks;
    c.evictions = s.evictions;
    c.reclaims = s.reclaims;
    c.fence_skips = s.fence_skips;
    for (const shmring::GroupStats& g : s.groups) {
      c.delivered += g.delivered;
      c.overwritten += g.overwritten;
      c.corrupt += g.corrupt;
    }
    return WriteVersioned(c, stats);
  });
}

int shmring_ring_num_groups(const shmring_ring* ring, uint32_t* count) {
  return WithStats(ring, count, "count", [&](const shmring::RingStats& s) {
    *count = static_cast<uint32_t>(s.groups.size());
    return Ok();
  });
}

int shmring_ring_num_producers(const shmring_ring* ring, uint32_t* count) {
  return WithStats(ring, count, "count", [&](const shmring::RingStats& s) {
    *count = static_cast<uint32_t>(s.producers.size());
    return Ok();
  });
}

int shmring_ring_group_stats(const shmring_ring* ring, uint32_t index, shmring_group_stats* stats) {
  return WithStats(ring, stats, "stats", [&](const shmring::RingStats& s) {
    if (index >= s.groups.size()) return OutOfRange("group", index, s.groups.size());
    const shmring::GroupStats& g = s.groups[index];
    shmring_group_stats c{};
    c.struct_size = sizeof(c);
    CopyAttachment(g, c);
    // GroupName is at most kGroupNameMax (63) clean bytes; truncation only guards a bad ring.
    std::memcpy(c.name, g.name.data(), std::min(g.name.size(), sizeof(c.name) - 1));
    c.evicted = g.evicted;
    c.cursor = g.cursor;
    c.lag_bytes = g.lag_bytes;
    c.lag_records = g.lag_records;
    c.delivered = g.delivered;
    c.delivered_bytes = g.delivered_bytes;
    c.overwritten = g.overwritten;
    c.corrupt = g.corrupt;
    c.evictions = g.evictions;
    c.abandoned = g.abandoned;
    return WriteVersioned(c, stats);
  });
}

int shmring_ring_producer_stats(const shmring_ring* ring, uint32_t index, shmring_producer_stats* stats) {
  return WithStats(ring, stats, "stats", [&](const shmring::RingStats& s) {
    if (index >= s.producers.size()) return OutOfRange("producer", index, s.producers.size());
    const shmring::ProducerStats& p = s.producers[index];
    shmring_producer_stats c{};
    c.struct_size = sizeof(c);
    CopyAttachment(p, c);
    c.fenced = p.fenced;
    c.committed = p.committed;
    c.committed_bytes = p.committed_bytes;
    c.dropped = p.dropped;
    c.aborted = p.aborted;
    c.blocked_ns = p.blocked_ns;
    c.wakeups = p.wakeups;
    c.abandoned = p.abandoned;
    c.unblocked = p.unblocked;
    return WriteVersioned(c, stats);
  });
}

// ---- producers ----

void shmring_producer_options_init(shmring_producer_options* o) {
  if (o == nullptr) return;
  *o = shmring_producer_options{};
  o->struct_size = sizeof(*o);
  o->block_timeout_ns = shmring::ProducerOptions{}.block_timeout.count();
}

int shmring_producer_attach(shmring_ring* ring, const shmring_producer_options* options, shmring_producer** out) {
  return Guard([&] {
    if (ring == nullptr) return NullArg("ring");
    if (out == nullptr) return NullArg("out");
    *out = nullptr;
    shmring_producer_options o;
    shmring_producer_options_init(&o);
    if (!ReadVersioned(options, &o)) return Fail(SHMRING_INVALID_ARGUMENT, "producer options: struct_size is not set");
    shmring::ProducerOptions po;
    po.block_timeout = std::chrono::nanoseconds(o.block_timeout_ns);
    auto p = shmring::Producer::Attach(ring->ring, po);
    if (!p.ok()) return Fail(p.status());
    *out = new shmring_producer{std::move(*p), {}};
    return Ok();
  });
}

void shmring_producer_close(shmring_producer* producer) {
  if (producer == nullptr) return;
  try {
    producer->producer->Abort(producer->reservation);
  } catch (...) {
  }
  delete producer;
}

int shmring_producer_reserve(shmring_producer* p, size_t len, uint16_t type, int64_t timeout_ns,
                             shmring_reservation* out) {
  return Guard([&] {
    if (p == nullptr) return NullArg("producer");
    if (out == nullptr) return NullArg("out");
    auto r = timeout_ns < 0 ? p->producer->Reserve(len, type)
                            : p->producer->Reserve(len, type, std::chrono::nanoseconds(timeout_ns));
    if (!r.ok()) return Fail(r.status());
    p->reservation = std::move(*r);
    const auto d = p->reservation.data();
    *out = shmring_reservation{d.data(), d.size(), p->reservation.position()};
    return Ok();
  });
}

int shmring_producer_commit(shmring_producer* p) {
  return Guard([&] {
    if (p == nullptr) return NullArg("producer");
    if (!p->reservation.active()) return Fail(SHMRING_FAILED_PRECONDITION, "commit: no outstanding reservation");
    absl::Status s = p->producer->Commit(p->reservation);
    return s.ok() ? Ok() : Fail(s);
  });
}

int shmring_producer_abort(shmring_producer* p) {
  return Guard([&] {
    if (p == nullptr) return NullArg("producer");
    if (!p->reservation.active()) return Fail(SHMRING_FAILED_PRECONDITION, "abort: no outstanding reservation");
    p->producer->Abort(p->reservation);
    return Ok();
  });
}

int shmring_producer_write(shmring_producer* p, const void* data, size_t len, uint16_t type) {
  return Guard([&] {
    if (p == nullptr) return NullArg("producer");
    if (data == nullptr && len != 0) return NullArg("data");
    absl::Status s = p->producer->Write(std::span(static_cast<const std::byte*>(data), len), type);
    return s.ok() ? Ok() : Fail(s);
  });
}

uint32_t shmring_producer_slot(const shmring_producer* p) { return p ? p->producer->slot() : 0; }

int shmring_producer_write_messages(shmring_producer* p, const shmring_message* messages, size_t count) {
  return Guard([&] {
    if (p == nullptr) return NullArg("producer");
    if (messages == nullptr && count != 0) return NullArg("messages");
    std::vector<shmring::Message> ms(count);
    for (size_t i = 0; i < count; ++i) {
      if (messages[i].data == nullptr && messages[i].len != 0) return NullArg("messages[i].data");
      ms[i] = {std::span(static_cast<const std::byte*>(messages[i].data), messages[i].len), messages[i].type};
    }
    absl::Status s = p->producer->WriteMessages(ms);
    return s.ok() ? Ok() : Fail(s);
  });
}

// ---- readers ----

void shmring_reader_options_init(shmring_reader_options* o) {
  if (o == nullptr) return;
  const shmring::ReaderOptions d;
  *o = shmring_reader_options{};
  o->struct_size = sizeof(*o);
  o->auto_commit = d.auto_commit;
  o->spin = d.spin;
}

int shmring_reader_attach(shmring_ring* ring, const char* group, const shmring_reader_options* options,
                          shmring_reader** out) {
  return Guard([&] {
    if (ring == nullptr) return NullArg("ring");
    if (group == nullptr) return NullArg("group");
    if (out == nullptr) return NullArg("out");
    *out = nullptr;
    shmring_reader_options o;
    shmring_reader_options_init(&o);
    if (!ReadVersioned(options, &o)) return Fail(SHMRING_INVALID_ARGUMENT, "reader options: struct_size is not set");
    shmring::ReaderOptions ro;
    ro.auto_commit = o.auto_commit != 0;
    ro.spin = o.spin;
    auto r = shmring::Reader::Attach(ring->ring, group, ro);
    if (!r.ok()) return Fail(r.status());
    *out = new shmring_reader{std::move(*r)};
    return Ok();
  });
}

void shmring_reader_close(shmring_reader* reader) { delete reader; }

int shmring_reader_poll(shmring_reader* r, shmring_record* records, size_t max, size_t* count) {
  return Guard([&] {
    if (r == nullptr) return NullArg("reader");
    if (count == nullptr) return NullArg("count");
    *count = 0;
    if (records == nullptr && max != 0) return NullArg("records");
    return Batch(r->reader->Poll(max), records, count);
  });
}

int shmring_reader_wait(shmring_reader* r, shmring_record* records, size_t max, int64_t timeout_ns, size_t* count) {
  return Guard([&] {
    if (r == nullptr) return NullArg("reader");
    if (count == nullptr) return NullArg("count");
    *count = 0;
    if (records == nullptr && max != 0) return NullArg("records");
    // SHMRING_NO_DEADLINE (INT64_MAX) passes through: Reader::Wait's deadline is
    // now + timeout in uint64 ns, which INT64_MAX cannot overflow.
    return Batch(r->reader->Wait(max, std::chrono::nanoseconds(std::max<int64_t>(timeout_ns, 0))), records, count);
  });
}

int shmring_reader_commit(shmring_reader* r) {
  return Guard([&] {
    if (r == nullptr) return NullArg("reader");
    absl::Status s = r->reader->Commit();
    return s.ok() ? Ok() : Fail(s);
  });
}

int shmring_reader_doorbell_fd(shmring_reader* r, int* fd) {
  return Guard([&] {
    if (r == nullptr) return NullArg("reader");
    if (fd == nullptr) return NullArg("fd");
    absl::StatusOr<int> bell = r->reader->DoorbellFd();
    if (!bell.ok()) return Fail(bell.status());
    *fd = *bell;
    return Ok();
  });
}

uint64_t shmring_reader_committed_position(const shmring_reader* r) {
  return r ? r->reader->committed_position() : 0;
}

int shmring_reader_attach_report(const shmring_reader* r, shmring_attach_report* report) {
  return Guard([&] {
    if (r == nullptr) return NullArg("reader");
    if (report == nullptr) return NullArg("report");
    const shmring::AttachReport& a = r->reader->attach_report();
    shmring_attach_report c{};
    c.struct_size = sizeof(c);
    c.previous_pid = a.previous_pid;
    c.resumed_at = a.resumed_at;
    c.lost_while_away = a.lost_while_away;
    return WriteVersioned(c, report);
  });
}

}  // extern "C"
