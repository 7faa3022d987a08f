// Ring::Stats: one live snapshot for every renderer (spec/LAYOUT.md §8).
#include "shmring/stats.h"

#include "groups.h"
#include "liveness.h"
#include "recovery.h"
#include "record.h"
#include "ring_impl.h"
#include "util.h"

namespace shmring {

using namespace layout;

namespace {

// Data records between `from` and `tail`, walking headers; bounded by the ring.
uint64_t CountRecords(const Ring::Impl& r, uint64_t from, uint64_t tail) {
  uint64_t n = 0, pos = from;
  for (uint64_t steps = 0; steps < r.capacity / kAlign; ++steps) {
    const uint64_t avail = tail - pos;
    if (avail == 0 || avail > r.capacity) break;
    const Inspected in = Inspect(r, pos, avail);
    if (in.kind == RecordKind::kNotReady || in.kind == RecordKind::kCorrupt) break;
    if (in.kind == RecordKind::kData || in.kind == RecordKind::kBusy) ++n;
    pos += in.size;
  }
  return n;
}

}  // namespace

RingStats Ring::Stats() const {
  const Impl& r = *impl_;
  const Superblock& sb = r.super();
  const Control& ctl = r.control();
  RingStats s;
  s.path = r.path;
  s.major = sb.major;
  s.minor = sb.minor;
  s.compat = sb.compat;
  s.ro_compat = sb.ro_compat;
  s.incompat = sb.incompat;
  s.capacity = r.capacity;
  s.max_record = r.max_record;
  s.policy = r.policy;
  s.checksums = r.checksums;
  s.max_producers = r.max_producers;
  s.max_groups = r.max_groups;
  s.stale_after_ms = sb.stale_after_ms;
  s.evict_after_ms = sb.evict_after_ms;
  s.unblock_after_ms = sb.unblock_after_ms;
  s.creator_pid = sb.creator_pid;
  s.created_realtime_ns = sb.created_realtime_ns;
  // Acquire pairs with Claim's release CAS.
  s.tail = ctl.tail.load(std::memory_order_acquire);
  s.high_water = ctl.high_water.load(std::memory_order_relaxed);
  s.evictions = ctl.evictions.load(std::memory_order_relaxed);
  s.reclaims = ctl.reclaims.load(std::memory_order_relaxed);
  s.recoveries = ctl.recoveries.load(std::memory_order_relaxed);
  s.unblocks = ctl.unblocks.load(std::memory_order_relaxed);
  s.fence_skips = ctl.fence_skips.load(std::memory_order_relaxed);
  const uint64_t now = MonotonicNs();
  for (uint32_t i = 0; i < r.max_producers; ++i) {
    const ProducerSlot& ps = r.producer(i);
    const uint32_t gen = ps.generation.load(std::memory_order_relaxed);
    if (gen == 0) continue;  // never used
    ProducerStats p;
    p.slot = i;
    p.generation = gen;
    // Acquire pairs with Attach's release store of the state.
    const uint32_t state = ps.state.load(std::memory_order_acquire);
    p.pid = ps.pid.load(std::memory_order_relaxed);
    p.pidns = ps.pidns.load(std::memory_order_relaxed);
    p.heartbeat_age_ns = AgeNs(now, ps.heartbeat_ns.load(std::memory_order_relaxed));
    p.liveness = state == kSlotActive ? Classify(LockHeld(r.fd, r.producer_lock_byte(i)), p.heartbeat_age_ns,
                                                 r.stale_after_ns)
                                      : Liveness::kNone;
    p.committed = ps.committed.load(std::memory_order_relaxed);
    p.committed_bytes = ps.committed_bytes.load(std::memory_order_relaxed);
    p.dropped = ps.dropped.load(std::memory_order_relaxed);
    p.aborted = ps.aborted.load(std::memory_order_relaxed);
    p.blocked_ns = ps.blocked_ns.load(std::memory_order_relaxed);
    p.wakeups = ps.wakeups.load(std::memory_order_relaxed);
    p.abandoned = ps.abandoned.load(std::memory_order_relaxed);
    p.bell_failures = ps.bell_failures.load(std::memory_order_relaxed);
    p.unblocked = ps.unblocked.load(std::memory_order_relaxed);
    // Fenced: producers reached a lap of the claim's bytes (the tail is a capacity past them).
    uint64_t first = 0, len = 0;
    p.fenced = FencedClaim(r, ps, &first, &len) && s.tail - first > r.capacity;
    s.committed += p.committed;
    s.committed_bytes += p.committed_bytes;
    s.dropped += p.dropped;
    s.aborted += p.aborted;
    s.blocked_ns += p.blocked_ns;
    s.wakeups += p.wakeups;
    s.abandoned += p.abandoned;
    s.bell_failures += p.bell_failures;
    s.unblocked += p.unblocked;
    s.producers.push_back(p);
  }
  uint64_t oldest = 0;
  for (uint32_t g = 0; g < r.max_groups; ++g) {
    const GroupSlot& gs = r.group(g);
    if (gs.state.load(std::memory_order_acquire) != kSlotActive) continue;  // pairs with AddGroup's release
    GroupStats q;
    q.slot = g;
    q.name = GroupName(gs);
    q.generation = gs.generation.load(std::memory_order_relaxed);
    q.pid = gs.pid.load(std::memory_order_relaxed);
    q.pidns = gs.pidns.load(std::memory_order_relaxed);
    q.heartbeat_age_ns = AgeNs(now, gs.heartbeat_ns.load(std::memory_order_relaxed));
    const bool held = LockHeld(r.fd, r.group_lock_byte(g));
    q.liveness = held ? Classify(true, q.heartbeat_age_ns, r.stale_after_ns)
                      : (q.pid != 0 ? Liveness::kDead : Liveness::kNone);
    // Acquire pairs with Reader::Commit's CAS.
    const uint64_t w = gs.cursor.load(std::memory_order_acquire);
    q.cursor = w & ~kCursorTagMask;
    q.evicted = (w & kCursorEvicted) != 0;
    q.lag_bytes = s.tail - q.cursor;
    if (q.lag_bytes > r.capacity) q.lag_bytes = 0;  // cursor ahead of our tail snapshot
    q.lag_records = CountRecords(r, q.cursor, s.tail);
    q.delivered = gs.delivered.load(std::memory_order_relaxed);
    q.delivered_bytes = gs.delivered_bytes.load(std::memory_order_relaxed);
    q.corrupt = gs.corrupt.load(std::memory_order_relaxed);
    q.overwritten = gs.overwritten.load(std::memory_order_relaxed);
    q.evictions = gs.evictions.load(std::memory_order_relaxed);
    q.abandoned = gs.abandoned.load(std::memory_order_relaxed);
    if (!q.evicted && q.lag_bytes > oldest) oldest = q.lag_bytes;
    s.groups.push_back(std::move(q));
  }
  s.head = s.tail - oldest;
  s.used_bytes = oldest;
  return s;
}

}  // namespace shmring
