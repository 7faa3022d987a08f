// Reclaiming claims of dead producers (spec/RECOVERY.md §2–§3).
#pragma once

#include <cstdint>
#include <optional>

#include "ring_impl.h"

namespace shmring {

struct Settled {
  bool settled;        // false: undecided for now (a rival intent names the same position)
  uint64_t abandoned;  // records turned into abandoned records now
};

// Settles the claim in flight of producer slot `i`, whose owner is dead and whose
// lock byte and reclaim lock byte the caller holds: its unwritten records become abandoned (skip)
// records, counted through the slot's counter journal. `resume_at`: a position
// inside the claim where a reader or producer is stuck (TryReclaimAt), from which
// the walk goes on if the claim's first, finished records were already reused;
// without it (~0) such a claim stays unsettled (intent kept).
Settled ReclaimSlotIntent(Ring::Impl& r, uint32_t i, uint64_t resume_at = ~uint64_t{0});

// The bytes of slot `o`'s confirmed claim in flight that are fenced (spec/RECOVERY.md
// §3.7): the claim after its padding to the wrap (readers pass the padding, and its
// owner never writes it again). False if no confirmed claim, or an implausible one.
// Acquire on claim_len pairs with ClearIntent's release: an intent seen cleared means
// its owner wrote its last byte before.
inline bool FencedClaim(const Ring::Impl& r, const layout::ProducerSlot& o, uint64_t* first, uint64_t* len) {
  const uint64_t cl = o.claim_len.load(std::memory_order_acquire);
  uint64_t n = cl & ~layout::kIntentConfirmed;
  uint64_t cp = o.claim_pos.load(std::memory_order_relaxed);
  if (!(cl & layout::kIntentConfirmed) || n == 0 || n > r.capacity || n % layout::kAlign != 0 ||
      cp % layout::kAlign != 0) {
    return false;
  }
  if (const uint64_t rem = r.capacity - (cp & r.mask); rem < n) cp += rem, n -= rem;
  *first = cp;
  *len = n;
  return true;
}

// Settles dead slot `i`'s claim (ReclaimSlotIntent) if both its lock bytes can be
// taken (the owner is dead and no one else reclaims it); nullopt otherwise.
std::optional<Settled> ReclaimIfDead(Ring::Impl& r, uint32_t i, uint64_t resume_at = ~uint64_t{0});

// Before a header at `q` replaces `w`, a header of an older lap there: if `w` is
// the first record of a confirmed claim in flight (fenced, spec/RECOVERY.md §3.7),
// keeps it in that slot's fence_word, where SettleOne looks for it.
void KeepFencedWord(Ring::Impl& r, uint64_t q, uint64_t w);

// Turns the BUSY records of live slot `i`'s claim from `pos` on into ABANDONED ones
// (spec/RECOVERY.md §3.7); the caller holds the slot's reclaim lock byte and has
// decided the owner is stale. Returns how many.
uint64_t RevokeStale(Ring::Impl& r, uint32_t i, uint64_t pos);

// Called by a reader (or a producer) whose head at `pos` has not been ready for
// `stuck_ns` although the tail is past it: if the claim at `pos` belongs to a dead
// producer, reclaims it; if to a stale one and stuck_ns and its heartbeat age both
// reach unblock_after, revokes its unfinished records. True if it settled any.
bool TryReclaimAt(Ring::Impl& r, uint64_t pos, uint64_t stuck_ns);

}  // namespace shmring
