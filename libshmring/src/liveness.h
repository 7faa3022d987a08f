// Liveness of slot owners (spec/RECOVERY.md §1): an open-file-description lock
// on one byte of the ring file per slot, which the kernel drops when its owner
// dies in any PID namespace, plus a CLOCK_MONOTONIC heartbeat for hung-vs-alive.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "shmring/stats.h"

namespace shmring {

// A private open file description of the ring file holding one lock byte.
class SlotLock {
 public:
  SlotLock() = default;
  SlotLock(SlotLock&&) noexcept;
  SlotLock& operator=(SlotLock&&) noexcept;
  ~SlotLock();
  // Opens the file of `ring_fd` anew (a private open file description) and takes a
  // write lock on byte `offset` without waiting. Unavailable if another holds it.
  // `path` is for error messages.
  [[nodiscard]] static absl::StatusOr<SlotLock> TryAcquire(int ring_fd, const std::string& path, uint64_t offset);

 private:
  int fd_ = -1;
};

// True if some open file description holds a lock on byte `offset` of `fd`'s file.
// `fd` must hold no lock of its own there.
[[nodiscard]] bool LockHeld(int fd, uint64_t offset);

// alive/stale/dead from the lock and the heartbeat age.
[[nodiscard]] Liveness Classify(bool lock_held, uint64_t heartbeat_age_ns, uint64_t stale_after_ns);

}  // namespace shmring
