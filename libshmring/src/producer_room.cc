// Producer slow paths: attaching to a slot, finding the gating head, and making
// room under each policy (spec/PROTOCOL.md §4.2, spec/RECOVERY.md §4).
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "eviction.h"
#include "fault.h"
#include "producer_impl.h"
#include "record.h"
#include "speculative.h"
#include "recovery.h"
#include "groups.h"
#include "util.h"
#include "wakeup.h"

namespace shmring {

using namespace layout;

absl::StatusOr<std::unique_ptr<Producer>> Producer::Attach(std::shared_ptr<Ring> ring, ProducerOptions options) {
  if (!ring) return absl::InvalidArgumentError("producer attach: null ring");
  Ring::Impl& r = ring->impl();
  if (r.read_only) return absl::FailedPreconditionError(absl::StrCat("ring ", r.path, " is open read-only"));
  for (uint32_t i = 0; i < r.max_producers; ++i) {
    ProducerSlot& s = r.producer(i);
    // Acquire pairs with the release state stores of previous owners.
    if (s.state.load(std::memory_order_acquire) == kSlotActive && LockHeld(r.fd, r.producer_lock_byte(i))) continue;
    auto lock = SlotLock::TryAcquire(r.fd, r.path, r.producer_lock_byte(i));
    if (!lock.ok()) {
      if (absl::IsUnavailable(lock.status())) continue;
      return lock.status();
    }
    // The slot is ours. A previous owner is dead: settle its claim in flight first
    // (with the reclaim lock: a reclaimer may be at it); if that cannot be done or
    // decided yet, leave the slot (and its intent) alone.
    auto rlock = SlotLock::TryAcquire(r.fd, r.path, r.reclaim_lock_byte(i));
    if (!rlock.ok()) {
      if (absl::IsUnavailable(rlock.status())) continue;
      return rlock.status();
    }
    if (!ReclaimSlotIntent(r, i).settled) continue;
    const uint32_t gen = s.generation.fetch_add(1, std::memory_order_relaxed) + 1;
    s.pid.store(getpid(), std::memory_order_relaxed);
    s.uid.store(getuid(), std::memory_order_relaxed);
    s.pidns.store(SelfPidNamespace(), std::memory_order_relaxed);
    const uint64_t now = MonotonicNs();
    s.start_ns.store(now, std::memory_order_relaxed);
    s.heartbeat_ns.store(now, std::memory_order_relaxed);
    s.claim_len.store(0, std::memory_order_relaxed);
    // Release pairs with stats readers' acquire: the identity above is complete.
    s.state.store(kSlotActive, std::memory_order_release);
    auto impl = std::make_unique<Impl>(std::move(ring), i, std::move(*lock), options);
    impl->producer_id = i | ((gen & 0xffff) << 16);
    impl->limit = impl->Limit(impl->r.control().tail.load(std::memory_order_relaxed));
    return std::make_unique<Producer>(std::move(impl));
  }
  return absl::ResourceExhaustedError(absl::StrCat("ring ", r.path, ": all ", r.max_producers,
                                                   " producer slots are held by live producers"));
}

uint64_t Producer::Impl::GatingHead(uint64_t tail) {
  uint64_t oldest = 0;
  for (uint32_t g = 0; g < r.max_groups; ++g) {
    GroupSlot& gs = r.group(g);
    // Acquire pairs with the release store that activates a group (AddGroup).
    if (gs.state.load(std::memory_order_acquire) != kSlotActive) continue;
    // Acquire pairs with the reader's cursor commit CAS (Reader::Commit): its reads
    // of the records below the cursor happened before we reuse their space.
    // Evicted groups gate too, so that MakeRoom moves them forward over the records
    // it reuses (a returning reader must find record boundaries at its cursor).
    const uint64_t w = gs.cursor.load(std::memory_order_acquire);
    const uint64_t d = tail - (w & ~kCursorTagMask);
    if (d > r.capacity) continue;  // ahead of our (older) tail, or nonsense: does not gate
    oldest = std::max(oldest, d);
  }
  return tail - oldest;
}

Producer::Impl::Fence Producer::Impl::NextFence(uint64_t t) {
  Fence f;
  for (uint32_t j = 0; j < r.max_producers; ++j) {
    if (j == index) continue;
    // Read after the cursors (GatingHead's acquire loads): a cursor past a claim's
    // first record implies its confirmed intent is visible here (the owner confirmed
    // before publishing that record).
    uint64_t cp = 0, len = 0;
    if (!FencedClaim(r, r.producer(j), &cp, &len)) continue;
    const uint64_t d = t - cp;
    if (d > (uint64_t{1} << 62)) continue;  // a claim made after we loaded t
    const uint64_t lap = cp + (d & ~r.mask);  // the lap of the claim at or before t
    Fence g;
    g.any = true;
    g.slot = j;
    if (lap != cp && t - lap < len) {  // t inside a later lap of the claim: skip to its end
      g.inside = true;
      g.gate = t - r.capacity;  // no room at all: the oldest gate, and no cached limit skips it
      g.end = lap + len;
    } else {
      g.gate = lap;  // the next lap starts at lap + capacity
      g.end = lap + r.capacity + len;
    }
    if (!f.any || t - g.gate > t - f.gate) f = g;  // the oldest gate wins
  }
  return f;
}

uint64_t Producer::Impl::Limit(uint64_t t, uint64_t* head_out, Fence* fence_out) {
  const uint64_t head = GatingHead(t);
  const Fence f = NextFence(t);
  if (head_out != nullptr) *head_out = head;
  if (fence_out != nullptr) *fence_out = f;
  return f.any && t - f.gate > t - head ? f.gate : head;
}

namespace {
// Skip records over [q, end), none longer than 1 GiB (len is 32 bits).
void WriteSkips(Ring::Impl& r, uint64_t q, uint64_t end, uint32_t producer_id) {
  constexpr uint64_t kMaxSkip = uint64_t{1} << 30;
  while (q != end) {
    uint64_t size = end - q;
    if (size > kMaxSkip) size = end - q - kMaxSkip >= kRecordHeaderSize ? kMaxSkip : kMaxSkip - kRecordHeaderSize;
    RecordHeader& h = r.header_at(q);
    SharedStore(h.len, uint32_t(size - kRecordHeaderSize));
    SharedStore(h.type, 0);
    SharedStore(h.flags, 0);
    SharedStore(h.producer, producer_id);
    SharedStore(h.messages, 0);
    h.word.store(q | kSkip, std::memory_order_release);  // pairs with Inspect's acquire
    q += size;
  }
}
}  // namespace

int Producer::Impl::BurnFence(uint64_t* t, const Fence& f) {
  Control& ctl = r.control();
  const uint64_t end = f.end;
  const uint64_t need = end - *t;
  const uint64_t rem = r.capacity - (*t & r.mask);
  const uint64_t pad = rem < need ? rem : 0;
  // Only rings over 2 GiB with claims over 1 GiB could need a skip header inside
  // the fenced lap; refuse those rather than let a stale owner scribble on one.
  const uint64_t fenced = f.inside ? 0 : end - (f.gate + r.capacity);
  if (need - pad < kRecordHeaderSize || need > r.capacity || fenced > (uint64_t{1} << 30) - kRecordHeaderSize) {
    return -1;
  }
  // A fence whose owner died goes once its claim is settled (it wrote its last byte):
  // settle it now, while every header of the claim is intact, and look again.
  if (!LockHeld(r.fd, r.producer_lock_byte(f.slot))) {
    if (auto st = ReclaimIfDead(r, f.slot); st && st->settled) return 0;
  }
  slot.claim_pos.store(*t, std::memory_order_relaxed);  // intent first, as in Claim
  slot.claim_len.store(need, std::memory_order_relaxed);
  // Release pairs with the acquire tail load in ReclaimSlotIntent, as in Claim.
  if (!ctl.tail.compare_exchange_strong(*t, end, std::memory_order_release, std::memory_order_relaxed)) {
    slot.claim_len.store(0, std::memory_order_relaxed);
    return 0;
  }
  slot.claim_len.store(need | kIntentConfirmed, std::memory_order_relaxed);
  SHMRING_FAULT("burn.after_confirm");
  const uint64_t start = *t;
  WritePadding(start, pad);
  // The last skip record spans the fenced lap from before it (its header outside),
  // except where the fenced bytes begin right at the first skip header: at the wrap,
  // or where the previous claim ended (two fenced claims side by side). That header
  // then lands on the one of the claim's first record: keep its word for SettleOne.
  const uint64_t q0 = start + pad;
  KeepFencedWord(r, q0, r.header_at(q0).word.load(std::memory_order_acquire));  // pairs with header publications
  uint64_t last = end - std::min<uint64_t>(end - q0, uint64_t{1} << 30);
  if (last != q0 && last - q0 < kRecordHeaderSize) last = q0;  // a short gap joins the last record
  WriteSkips(r, q0, last, producer_id);
  WriteSkips(r, last, end, producer_id);
  // Release pairs with reclaimers' acquire claim_len loads (as ClearIntent).
  slot.claim_len.store(0, std::memory_order_release);
  ctl.fence_skips.fetch_add(1, std::memory_order_relaxed);
  SHMRING_FAULT("burn.done");
  MaybeWake();
  return 1;
}

namespace {
// If a reader's commit journal is open, record whether its CAS had happened when
// we moved the cursor (spec/RECOVERY.md §4.5): the first mover decides.
void NoteJournalOutcome(GroupSlot& gs, uint64_t old_word) {
  // Acquire pairs with the release store of journal_state in Reader's JournaledCas.
  if (gs.journal_state.load(std::memory_order_acquire) != 1) return;
  const uint64_t old = old_word & ~kCursorEvicted;
  uint32_t outcome = kJournalUnknown;
  if (old == (gs.journal_to.load(std::memory_order_relaxed) & ~kCursorEvicted)) outcome = kJournalHappened;
  if (old == (gs.journal_from.load(std::memory_order_relaxed) & ~kCursorEvicted)) outcome = kJournalNotHappened;
  if (outcome == kJournalUnknown) return;
  uint32_t unknown = kJournalUnknown;
  gs.journal_outcome.compare_exchange_strong(unknown, outcome, std::memory_order_relaxed);
}
}  // namespace

// Walks from *p over finished records until `target` (or the tail), counting data
// records. False, with *p at the record in the way, if one is not finished. The
// cursor we started from may move meanwhile (other producers): the caller's CAS
// re-validates, and under TSan these reads are ignored (speculative.h).
static bool WalkPassable(const Ring::Impl& r, uint64_t tail, uint64_t target, uint64_t* p, uint64_t* data) {
  SpeculativeReads speculative;
  while (int64_t(target - *p) > 0) {
    const uint64_t avail = tail - *p;
    if (avail == 0) return true;  // everything claimed is passed (target is never past the tail)
    if (avail > r.capacity) return false;
    const Inspected in = Inspect(r, *p, avail);
    switch (in.kind) {
      case RecordKind::kData: ++*data; break;
      case RecordKind::kAbandoned:  // counted by the dead producer's slot, not as overwritten
      case RecordKind::kPadding:
      case RecordKind::kSkip: break;
      default: return false;  // still being written, or unreadable: cannot pass it
    }
    *p += in.size;
  }
  return true;
}

bool Producer::Impl::AdvanceGroup(uint32_t g, uint64_t target, bool only_if_evicted, uint64_t* stuck_at) {
  GroupSlot& gs = r.group(g);
  for (int attempt = 0; attempt < 64; ++attempt) {
    uint64_t w = gs.cursor.load(std::memory_order_acquire);  // pairs with Reader::Commit's CAS
    if (only_if_evicted && !(w & kCursorEvicted)) return true;  // a reader came back: re-evaluate
    const uint64_t c = w & ~kCursorTagMask;
    if (int64_t(target - c) <= 0) return true;
    // Acquire pairs with Claim's release CAS: headers below the tail are claimed.
    const uint64_t tail = r.control().tail.load(std::memory_order_acquire);
    uint64_t p = c, data = 0;
    if (!WalkPassable(r, tail, target, &p, &data)) {
      *stuck_at = p;
      return false;
    }
    // acq_rel: acquire pairs with Reader::Commit's release CAS; release pairs with the
    // overwrite reader's re-check of the cursor (Reader::PollCopies), which then
    // knows its copy may be torn.
    const uint64_t old = w;
    if (gs.cursor.compare_exchange_strong(w, p | (w & kCursorTagMask), std::memory_order_acq_rel)) {
      // Release fence after the CAS, before this producer (or the one we make room for)
      // rewrites the passed bytes: pairs with PollCopies' acquire fence before its cursor
      // re-check, so a reader that copied a rewritten byte sees the moved cursor (the
      // seqlock's writer fence; free on x86-64, spec/PROTOCOL.md §6.3 V5).
      std::atomic_thread_fence(std::memory_order_release);
      if (data) gs.overwritten.fetch_add(data, std::memory_order_relaxed);
      NoteJournalOutcome(gs, old);
      return true;
    }
  }
  return false;
}

absl::Status Producer::Impl::MakeRoom(uint64_t end, uint64_t deadline_ns) {
  Control& ctl = r.control();
  {
    int blocker = -1;
    bool stuck = false;
    uint64_t stuck_at = 0;
    const uint64_t target = end - r.capacity;
    for (uint32_t g = 0; g < r.max_groups; ++g) {
      GroupSlot& gs = r.group(g);
      if (gs.state.load(std::memory_order_acquire) != kSlotActive) continue;  // pairs with AddGroup's release
      const uint64_t w = gs.cursor.load(std::memory_order_acquire);  // pairs with Reader::Commit
      const uint64_t c = w & ~kCursorTagMask;
      if (int64_t(target - c) <= 0) continue;  // has room
      if (end - c > 2 * r.capacity) continue;  // nonsense cursor: ignored, as GatingHead does
      const bool evicted = (w & kCursorEvicted) != 0;
      if (r.policy == Policy::kOverwrite || evicted) {
        // An evicted group is moved an eighth of the ring further than needed, so
        // that not every claim takes this path.
        const uint64_t to = r.policy == Policy::kOverwrite ? target : target + r.capacity / 8;
        if (!AdvanceGroup(g, to, r.policy != Policy::kOverwrite, &stuck_at)) {
          // The record in the way may be a dead producer's claim: settle it now
          // (spec/RECOVERY.md §3.3); otherwise it is still being written.
          const uint64_t now = MonotonicNs();
          if (stuck_at != stuck_pos) stuck_pos = stuck_at, stuck_since = now;
          if (TryReclaimAt(r, stuck_at, now - stuck_since)) return absl::OkStatus();
          stuck = true;
        }
      } else {
        blocker = int(g);
      }
    }
    if (blocker < 0 && !stuck) return absl::OkStatus();
    const uint64_t now = MonotonicNs();
    if (r.policy == Policy::kReject || (r.policy == Policy::kOverwrite && stuck)) {
      if (blocker >= 0) TryEvict(r, uint32_t(blocker), now);
      if (r.policy == Policy::kOverwrite) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "ring ", r.path, " full: the oldest record (position ", stuck_at,
            ") is still being written, so it cannot be overwritten; record dropped"));
      }
      if (blocker < 0) {
        return absl::ResourceExhaustedError(absl::StrCat("ring ", r.path, " full: an evicted group's oldest record (position ",
                                                         stuck_at, ") is still being written; record rejected (counted as dropped)"));
      }
      return absl::ResourceExhaustedError(absl::StrCat("ring ", r.path, " full: group '", GroupName(r.group(blocker)),
                                                       "' lags; record rejected (counted as dropped)"));
    }
    // Block: wait for a cursor to move, evicting groups whose reader died long ago.
    if (blocker >= 0) TryEvict(r, uint32_t(blocker), now);
    if (now >= deadline_ns) {
      return absl::DeadlineExceededError(absl::StrCat("ring ", r.path, " full past the deadline",
                                                      blocker >= 0 ? absl::StrCat(": group '", GroupName(r.group(blocker)), "' lags") : "",
                                                      "; record dropped"));
    }
    const uint32_t seq = ctl.space_seq.load(std::memory_order_seq_cst);
    // seq_cst increment pairs with the seq_cst space_waiters load after Reader::Commit's
    // CAS: either the reader sees us waiting, or we see its new cursor below.
    ctl.space_waiters.fetch_add(1, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // StoreLoad before HasRoom's loads
    const uint64_t wait_start = now;
    if (!HasRoom(end)) {
      const uint64_t slice = std::min<uint64_t>(deadline_ns - now, 10'000'000);  // re-check evictions every 10 ms
      FutexWait(ctl.space_seq, seq, std::chrono::nanoseconds(slice));
    }
    ctl.space_waiters.fetch_sub(1, std::memory_order_seq_cst);
    slot.blocked_ns.store(slot.blocked_ns.load(std::memory_order_relaxed) + (MonotonicNs() - wait_start),
                          std::memory_order_relaxed);
    return absl::OkStatus();  // the caller recomputes its claim and calls again if still full
  }
}

bool Producer::Impl::HasRoom(uint64_t end) {
  const uint64_t target = end - r.capacity;
  for (uint32_t g = 0; g < r.max_groups; ++g) {
    GroupSlot& gs = r.group(g);
    if (gs.state.load(std::memory_order_acquire) != kSlotActive) continue;  // pairs with AddGroup's release
    // Evicted groups count too: a record in their way (still being written) means waiting.
    const uint64_t w = gs.cursor.load(std::memory_order_seq_cst);  // see MakeRoom's Dekker comment
    const uint64_t c = w & ~kCursorTagMask;
    if (int64_t(target - c) > 0 && end - c <= 2 * r.capacity) return false;
  }
  return true;
}

}  // namespace shmring
