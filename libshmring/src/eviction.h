// Evicting consumer groups whose reader is dead (spec/RECOVERY.md §4.1).
#pragma once

#include <cstdint>

#include "ring_impl.h"

namespace shmring {

// Sets group g's evicted bit if its reader lock byte is not held and its heartbeat is
// older than evict_after_ms; counts it in the group's and the ring's `evictions`.
// True if this call evicted it. Producers call it for the group that blocks them
// (MakeRoom), Ring::Recover for every active group.
bool TryEvict(Ring::Impl& r, uint32_t g, uint64_t now);

// Ring::Recover's part (spec/RECOVERY.md §3.5): TryEvict on every ACTIVE group, except
// on overwrite rings, which never evict. Returns how many groups were evicted.
uint64_t EvictDeadGroups(Ring::Impl& r, uint64_t now);

}  // namespace shmring
