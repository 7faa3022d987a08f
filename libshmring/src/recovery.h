// Reclaiming claims of dead producers (spec/RECOVERY.md §2–§3).
#pragma once

#include <cstdint>

#include "ring_impl.h"

namespace shmring {

struct Settled {
  bool settled;        // false: undecided for now (a rival intent names the same position)
  uint64_t abandoned;  // records turned into abandoned records now
};

// Settles the claim in flight of producer slot `i`, whose owner is dead and whose
// lock byte the caller holds: its unwritten records become abandoned (skip)
// records, counted through the slot's counter journal. `resume_at`: a position
// inside the claim where a reader or producer is stuck (TryReclaimAt), from which
// the walk goes on if the claim's first, finished records were already reused;
// without it (~0) such a claim stays unsettled (intent kept).
Settled ReclaimSlotIntent(Ring::Impl& r, uint32_t i, uint64_t resume_at = ~uint64_t{0});

// Called by a reader whose head at `pos` is not ready although the tail is past it:
// if the claim at `pos` belongs to a dead producer, reclaims it. True if it did.
bool TryReclaimAt(Ring::Impl& r, uint64_t pos);

}  // namespace shmring
