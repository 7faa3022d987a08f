// Evicting consumer groups whose reader is dead (spec/RECOVERY.md §4.1).
#include "eviction.h"

#include "liveness.h"
#include "util.h"

namespace shmring {

using namespace layout;

bool TryEvict(Ring::Impl& r, uint32_t g, uint64_t now) {
  GroupSlot& gs = r.group(g);
  uint64_t w = gs.cursor.load(std::memory_order_relaxed);
  if (w & kCursorEvicted) return false;
  if (LockHeld(r.fd, r.group_lock_byte(g))) return false;  // a live reader: slow is not dead
  if (AgeNs(now, gs.heartbeat_ns.load(std::memory_order_relaxed)) <= r.evict_after_ns) return false;
  // acq_rel: pairs with the acq_rel retag CAS in Reader::Attach that clears the bit.
  if (!gs.cursor.compare_exchange_strong(w, w | kCursorEvicted, std::memory_order_acq_rel)) return false;
  gs.evictions.fetch_add(1, std::memory_order_relaxed);
  r.control().evictions.fetch_add(1, std::memory_order_relaxed);
  return true;
}

uint64_t EvictDeadGroups(Ring::Impl& r, uint64_t now) {
  if (r.policy == Policy::kOverwrite) return 0;  // §4.1: producers move every lagging cursor anyway
  uint64_t evicted = 0;
  for (uint32_t g = 0; g < r.max_groups; ++g) {
    // Acquire pairs with the release store that activates a group (AddGroup).
    if (r.group(g).state.load(std::memory_order_acquire) != kSlotActive) continue;
    if (TryEvict(r, g, now)) ++evicted;
  }
  return evicted;
}

}  // namespace shmring
