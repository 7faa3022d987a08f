// Claims of dead and stale producers (spec/RECOVERY.md §2–§3). A dead owner's
// claim (its slot lock released by the kernel) is settled at once; a live owner's
// unfinished records only after unblock_after_ms (§3.7). Every reclaimer holds the
// slot's reclaim lock byte, so reclaims of one slot never run concurrently.
#include "recovery.h"

#include "counter_journal.h"
#include "fault.h"
#include "liveness.h"
#include "record.h"
#include "util.h"

#include <algorithm>
#include <vector>

namespace shmring {

using namespace layout;

namespace {

// A reclaimer's header CAS that turns a record of slot `s` into an ABANDONED one,
// counted in the slot through the reclaimers' journal (the caller holds the slot's
// reclaim lock). `stale`: the owner is alive (unblock, §3.7), counted in `unblocked` too.
bool CountedAbandon(ProducerSlot& s, RecordHeader& h, uint64_t q, uint64_t expected, bool stale = false) {
  SHMRING_FAULT("reclaim.before_count");
  const CountedBy counters[] = {{s.abandoned, s.pend_abandoned, 1}, {s.unblocked, s.pend_unblocked, stale ? 1u : 0u}};
  return CountedCas(s.reclaim_word, h.word, expected, q | kAbandoned, counters);
}

}  // namespace

void KeepFencedWord(Ring::Impl& r, uint64_t q, uint64_t w) {
  const uint64_t p = w & ~kStateMask;
  if ((w & kStateMask) == 0 || p == q || ((q - p) & r.mask) != 0) return;  // not an older lap's header here
  for (uint32_t j = 0; j < r.max_producers; ++j) {
    ProducerSlot& o = r.producer(j);
    uint64_t first = 0, len = 0;
    if (!FencedClaim(r, o, &first, &len) || first != p) continue;
    // Release pairs with SettleOne's acquire: whoever sees our header also sees this.
    o.fence_word.store(w, std::memory_order_release);
    return;
  }
}

namespace {

// Publishes a header at `q` over a stale word. Nobody owns these bytes: the claim's
// owner is dead, and a live producer that won this position would still name it
// in its intent (the caller checked; its intent is cleared only after its own
// header word is published, release/acquire). So the fields are written first and
// the word last, by CAS from the stale value: a reclaimer that dies half-way
// leaves the word stale, and the next one redoes the same writes.
bool WriteOverStale(Ring::Impl& r, ProducerSlot& s, uint64_t q, uint64_t stale_word, uint64_t state, uint32_t len,
                    uint32_t producer) {
  RecordHeader& h = r.header_at(q);
  KeepFencedWord(r, q, stale_word);  // a fenced claim's first header, a lap older (§3.7)
  SharedStore(h.len, len);
  SharedStore(h.type, 0);
  SharedStore(h.flags, 0);
  SharedStore(h.producer, producer);
  SharedStore(h.checksum, 0);
  SHMRING_FAULT("reclaim.after_fields");
  if (state == kAbandoned) return CountedAbandon(s, h, q, stale_word);
  uint64_t expected = stale_word;
  // Release pairs with Inspect's acquire: the fields are visible with the state.
  return h.word.compare_exchange_strong(expected, q | state, std::memory_order_release, std::memory_order_relaxed);
}

// Turns the unfinished records of [cp, cp + len) into abandoned/padding records,
// counted in slot `s`. Writes nothing if the claim turns out to be someone else's
// (an unconfirmed intent whose position another producer won and wrote).
//
// The first records of a confirmed batch may be finished, passed by every group and
// their bytes reused by a later lap before its owner's death is noticed: their
// headers cannot be walked, though records after them are still unfinished. The
// walk then goes on at `resume_at` (where a reader or a producer is stuck: a record
// boundary of this claim, as it walked there); without one, *complete = false and
// the caller keeps the intent for such a caller (spec/RECOVERY.md §3.4).
uint64_t ReclaimRegion(Ring::Impl& r, ProducerSlot& s, uint64_t cp, uint64_t len, uint32_t producer, bool confirmed,
                       uint64_t resume_at, bool* complete) {
  const uint64_t end = cp + len;
  uint64_t q = cp, abandoned = 0;
  *complete = true;
  // True if the walk resumes at resume_at; otherwise the walk stops here.
  auto resume = [&] {
    if (!confirmed) return false;  // an unconfirmed claim was never written: nothing in it was passed
    if (resume_at % kAlign == 0 && int64_t(resume_at - q) > 0 && resume_at - q < end - q) {
      q = resume_at;
      return true;
    }
    *complete = false;
    return false;
  };
  while (q != end) {
    const uint64_t off = q & r.mask;
    const uint64_t rem = r.capacity - off;
    const uint64_t left = end - q;
    if (rem < kRecordHeaderSize) {  // implicit padding (spec/LAYOUT.md §6.2)
      if (rem >= left) break;
      q += rem;
      continue;
    }
    // Bytes a later lap may already reuse (readers passed them: the claim's padding)
    // are never written. Acquire pairs with Claim's release CAS.
    if (r.control().tail.load(std::memory_order_acquire) - q > r.capacity) {
      if (q == cp && rem < left) {
        q += rem;
        continue;
      }
      if (resume()) continue;
      return abandoned;
    }
    RecordHeader& h = r.header_at(q);
    uint64_t word = h.word.load(std::memory_order_acquire);  // pairs with WriteBusy / CommitOne releases
    // A newer lap wrote here (a header naming q + k*capacity): our claim is long gone.
    // Anything else that does not name q (an older header, payload bytes, zero) is stale.
    const uint64_t ahead = (word & ~kStateMask) - q;
    if ((word & kStateMask) != 0 && ahead != 0 && (ahead & r.mask) == 0 && ahead <= r.capacity) {
      if (resume()) continue;
      return abandoned;
    }
    if ((word & ~kStateMask) == (q & ~kStateMask) && (word & kStateMask) != 0) {
      // Written at cp under an unconfirmed intent: by another producer that won cp
      // (not ours to settle), or by an earlier reclaimer of this very claim that died
      // half-way (it stamps this slot's producer id: carry on).
      if (!confirmed && q == cp && SpeculativeLoad(h.producer) != producer) return 0;
      const Inspected in = InspectWord(r, q, left, word);  // judges the word the CAS below expects
      if (in.kind == RecordKind::kBusy) {
        if (CountedAbandon(s, h, q, word)) ++abandoned;
      } else if (in.kind == RecordKind::kCorrupt || in.kind == RecordKind::kNotReady) {
        return abandoned;  // not what the owner would have written: leave it to readers' resync
      }
      q += in.size;
      continue;
    }
    // Nothing written yet at q: write what the owner would have (a padding to the
    // wrap if its claim included one, then one record spanning the rest).
    if (q == cp && rem < left) {
      if (!WriteOverStale(r, s, q, word, kPadding, uint32_t(rem - kRecordHeaderSize), producer)) return abandoned;
      q += rem;
      continue;
    }
    if (!WriteOverStale(r, s, q, word, kAbandoned, uint32_t(left - kRecordHeaderSize), producer)) return abandoned;
    ++abandoned;
    q = end;
  }
  return abandoned;
}

}  // namespace

namespace {

// One producer slot's intent, loaded once: claim_len (acquire, pairs with
// ClearIntent's release store) then claim_pos.
struct Intent {
  uint64_t len;  // with kIntentConfirmed
  uint64_t pos;
};

std::vector<Intent> SnapshotIntents(const Ring::Impl& r) {
  std::vector<Intent> out(r.max_producers);
  for (uint32_t j = 0; j < r.max_producers; ++j) {
    const ProducerSlot& o = r.producer(j);
    out[j].len = o.claim_len.load(std::memory_order_acquire);  // pairs with ClearIntent's release
    out[j].pos = o.claim_pos.load(std::memory_order_relaxed);
  }
  return out;
}

// Is `e` where the claim after a claim ending at `e` begins? True if the tail is
// there, or a header or an intent (of the snapshot) names it (directly, or after
// implicit padding).
bool IsClaimBoundary(const Ring::Impl& r, uint64_t e, uint64_t tail, const std::vector<Intent>& intents) {
  if (e == tail) return true;
  if (e % kAlign != 0) return false;  // a rival's length from a hostile writer: no claim ends there
  for (const Intent& o : intents) {
    if ((o.len & ~kIntentConfirmed) != 0 && o.pos == e) return true;
  }
  const uint64_t rem = r.capacity - (e & r.mask);
  const uint64_t at = rem < kRecordHeaderSize ? e + rem : e;
  const uint64_t w = r.header_at(at).word.load(std::memory_order_acquire);  // pairs with header publications
  return (w & ~kStateMask) == at && (w & kStateMask) != 0;
}

// Settles one counter journal of slot `s` (spec/RECOVERY.md §2.1): if the counted
// header CAS it names did not happen, the counters it bumped go back to the saved
// values. The caller is the journal's writer now: it holds the owner's lock (owner
// journal, dead owner) or the reclaim lock (reclaimer journal). Idempotent.
void SettleOne(Ring::Impl& r, ProducerSlot& s, std::atomic<uint64_t>& journal) {
  const uint64_t pw = journal.load(std::memory_order_acquire);  // pairs with CountedCas's release store
  if (pw == 0) return;
  const uint64_t pos = pw & ~kStateMask;
  // The word first, then the tail. While a confirmed intent covers pos, no byte of
  // its claim is reused (claim fences, §3.7), so the word tells. Otherwise: a CAS
  // that did not happen leaves its record unfinished, so no cursor passes it and no
  // claim reaches pos + capacity; while the tail shows that, the word we read is the
  // one the CAS would have replaced.
  const uint64_t w = r.header_at(pos).word.load(std::memory_order_acquire);  // pairs with header publications
  std::atomic_thread_fence(std::memory_order_acquire);
  const uint64_t tail = r.control().tail.load(std::memory_order_acquire);  // pairs with Claim's release CAS
  const uint64_t cl = s.claim_len.load(std::memory_order_acquire);        // pairs with ClearIntent's release
  const bool covered = (cl & kIntentConfirmed) && pos - s.claim_pos.load(std::memory_order_relaxed) <
                                                      (cl & ~kIntentConfirmed);
  // A fence skip may have replaced the word at a lap's start: it kept that word.
  const uint64_t kept = s.fence_word.load(std::memory_order_relaxed);  // ordered by the acquire fence above
  const bool happened = w == pw || kept == pw || (!covered && (pos % kAlign != 0 || tail - pos > r.capacity));
  if (!happened) {
    switch (pw & kStateMask) {
      case kCommitted:
        s.committed.store(s.pend_committed.load(std::memory_order_relaxed), std::memory_order_relaxed);
        s.committed_bytes.store(s.pend_bytes.load(std::memory_order_relaxed), std::memory_order_relaxed);
        break;
      case kSkip: s.aborted.store(s.pend_aborted.load(std::memory_order_relaxed), std::memory_order_relaxed); break;
      case kAbandoned:
        s.abandoned.store(s.pend_abandoned.load(std::memory_order_relaxed), std::memory_order_relaxed);
        s.unblocked.store(s.pend_unblocked.load(std::memory_order_relaxed), std::memory_order_relaxed);
        break;
      default: break;  // not a word any writer journals: a hostile writer's; leave the counters
    }
  }
  SHMRING_FAULT("settle.before_clear");
  journal.store(0, std::memory_order_relaxed);
}

}  // namespace

Settled ReclaimSlotIntent(Ring::Impl& r, uint32_t i, uint64_t resume_at) {
  ProducerSlot& s = r.producer(i);
  SettleOne(r, s, s.reclaim_word);  // a reclaimer's first: it may have abandoned what the owner's names
  SettleOne(r, s, s.pend_word);
  const uint64_t cl = s.claim_len.load(std::memory_order_acquire);  // pairs with ClearIntent's release
  const uint64_t len = cl & ~kIntentConfirmed;
  if (len == 0) return {true, 0};
  const bool confirmed = (cl & kIntentConfirmed) != 0;
  const uint64_t cp = s.claim_pos.load(std::memory_order_relaxed);
  // Acquire pairs with Claim's release CAS on the tail.
  const uint64_t tail = r.control().tail.load(std::memory_order_acquire);
  const uint64_t claimed = tail - cp;
  // Claimed (the tail is past its end) and not yet reusable: readers stuck inside the
  // claim keep producers within one capacity of the claim's end. (The start may lie
  // further back: readers pass a claim's padding before they get stuck after it.)
  const bool plausible = len % kAlign == 0 && cp % kAlign == 0 && len <= r.capacity && claimed >= len &&
                         claimed - len <= r.capacity;
  if (!plausible) {  // never claimed (tail not past it), or long gone: nothing in the ring is ours
    s.claim_len.store(0, std::memory_order_relaxed);
    return {true, 0};
  }
  if (!confirmed) {
    // An unconfirmed intent may name a position another producer won (spec/RECOVERY.md §3.3).
    // The rivals' intents are loaded once; both loops below and the boundary checks use that snapshot.
    const std::vector<Intent> intents = SnapshotIntents(r);
    bool rival_dead = false;
    for (uint32_t j = 0; j < r.max_producers; ++j) {
      if (j == i) continue;
      const Intent& o = intents[j];
      if ((o.len & ~kIntentConfirmed) == 0 || o.pos != cp) continue;
      if (o.len & kIntentConfirmed) {  // the winner confirmed: ours lost the CAS
        s.claim_len.store(0, std::memory_order_relaxed);
        return {true, 0};
      }
      if (LockHeld(r.fd, r.producer_lock_byte(j))) return {false, 0};  // undecided until it confirms or retracts
      if ((o.len & ~kIntentConfirmed) != len) rival_dead = true;
    }
    if (rival_dead && !IsClaimBoundary(r, cp + len, tail, intents)) {
      // Two dead unconfirmed intents name cp with different lengths; the winner's end
      // is where the next claim begins. Not ours -- unless no end is known yet.
      bool rival_fits = false;
      for (uint32_t j = 0; j < r.max_producers && !rival_fits; ++j) {
        const uint64_t ol = intents[j].len & ~kIntentConfirmed;
        rival_fits = j != i && ol != 0 && intents[j].pos == cp && IsClaimBoundary(r, cp + ol, tail, intents);
      }
      if (!rival_fits) return {false, 0};
      s.claim_len.store(0, std::memory_order_relaxed);
      return {true, 0};
    }
  }
  const uint32_t producer = i | ((s.generation.load(std::memory_order_relaxed) & 0xffff) << 16);
  bool complete = true;
  const uint64_t abandoned = ReclaimRegion(r, s, cp, len, producer, confirmed, resume_at, &complete);
  if (!complete) {
    // Records of the claim may still be unfinished past bytes a later lap reuses:
    // keep the intent for the reader or producer stuck there (TryReclaimAt passes
    // its position). Once the tail is a capacity past the claim's end -- impossible
    // while one of its records is unfinished -- the intent is dropped as implausible.
    if (abandoned) r.control().reclaims.fetch_add(1, std::memory_order_relaxed);
    return {false, abandoned};
  }
  s.claim_len.store(0, std::memory_order_relaxed);
  if (abandoned) r.control().reclaims.fetch_add(1, std::memory_order_relaxed);
  return {true, abandoned};
}

uint64_t RevokeStale(Ring::Impl& r, uint32_t i, uint64_t pos) {
  ProducerSlot& s = r.producer(i);
  SettleOne(r, s, s.reclaim_word);
  const uint64_t cl = s.claim_len.load(std::memory_order_acquire);  // pairs with ClearIntent's release
  const uint64_t len = cl & ~kIntentConfirmed;
  // Only a confirmed claim (the tail CAS succeeded) that covers pos: an unconfirmed
  // one is a few instructions from being confirmed or retracted.
  if (!(cl & kIntentConfirmed) || len == 0 || len > r.capacity) return 0;
  const uint64_t cp = s.claim_pos.load(std::memory_order_relaxed);
  if (pos - cp >= len || pos % kAlign != 0) return 0;
  const uint64_t end = cp + len;
  const uint32_t producer = i | ((s.generation.load(std::memory_order_relaxed) & 0xffff) << 16);
  uint64_t q = pos, revoked = 0;
  // Every BUSY record from pos to the claim's end becomes ABANDONED, in order, by CAS
  // (the owner's commit CAS then fails). Stop at anything else: an unwritten header
  // (the owner will still write it: never write over it while it lives), or a record
  // the owner finished (it is running again).
  while (q != end) {
    const uint64_t rem = r.capacity - (q & r.mask);
    if (rem < kRecordHeaderSize) {  // implicit padding before the wrap
      if (rem >= end - q) break;
      q += rem;
      continue;
    }
    // Acquire pairs with Claim's release CAS (the bound for Inspect).
    const uint64_t avail = std::min<uint64_t>(r.control().tail.load(std::memory_order_acquire) - q, r.capacity);
    const Inspected in = Inspect(r, q, std::min(avail, end - q));
    if (in.kind != RecordKind::kBusy || SpeculativeLoad(in.hdr->producer) != producer) break;
    RecordHeader& h = r.header_at(q);
    if (!CountedAbandon(s, h, q, q | kBusy, /*stale=*/true)) break;
    ++revoked;
    q += in.size;
  }
  if (revoked) r.control().unblocks.fetch_add(1, std::memory_order_relaxed);
  return revoked;
}

std::optional<Settled> ReclaimIfDead(Ring::Impl& r, uint32_t i, uint64_t resume_at) {
  auto lock = SlotLock::TryAcquire(r.fd, r.path, r.producer_lock_byte(i));
  if (!lock.ok()) return std::nullopt;  // alive, or being taken over
  auto rlock = SlotLock::TryAcquire(r.fd, r.path, r.reclaim_lock_byte(i));
  if (!rlock.ok()) return std::nullopt;  // another reclaimer is at it
  return ReclaimSlotIntent(r, i, resume_at);  // re-reads everything under the locks
}

bool TryReclaimAt(Ring::Impl& r, uint64_t pos, uint64_t stuck_ns) {
  for (uint32_t i = 0; i < r.max_producers; ++i) {
    ProducerSlot& s = r.producer(i);
    const uint64_t cl = s.claim_len.load(std::memory_order_acquire);  // pairs with ClearIntent's release
    // The stuck position may be inside the claim: after its padding, or after the
    // records of a batch that were committed before the owner died.
    const uint64_t len = cl & ~kIntentConfirmed;
    if (len == 0 || pos - s.claim_pos.load(std::memory_order_relaxed) >= len) continue;
    if (LockHeld(r.fd, r.producer_lock_byte(i))) {
      // Alive. Stale past the unblock timeout (stuck here that long, and no
      // heartbeat for that long either): take its unfinished records (§3.7).
      if (stuck_ns < r.unblock_after_ns ||
          AgeNs(MonotonicNs(), s.heartbeat_ns.load(std::memory_order_relaxed)) < r.unblock_after_ns) {
        continue;
      }
      auto rlock = SlotLock::TryAcquire(r.fd, r.path, r.reclaim_lock_byte(i));
      if (!rlock.ok()) continue;  // another reclaimer is at it
      if (RevokeStale(r, i, pos) > 0) return true;
      continue;
    }
    if (auto st = ReclaimIfDead(r, i, pos); st && st->abandoned > 0) return true;
  }
  return false;
}

}  // namespace shmring
