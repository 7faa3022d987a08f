#include "liveness.h"

#include <fcntl.h>
#include <unistd.h>

#include "util.h"

namespace shmring {

SlotLock::SlotLock(SlotLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
SlotLock& SlotLock::operator=(SlotLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}
SlotLock::~SlotLock() {
  if (fd_ >= 0) close(fd_);  // closing the description releases the lock
}

absl::StatusOr<SlotLock> SlotLock::TryAcquire(int ring_fd, const std::string& path, uint64_t offset) {
  // A new open file description of the very file we mapped (not whatever the path
  // names now: the file may have been removed or replaced).
  const std::string self = "/proc/self/fd/" + std::to_string(ring_fd);
  const int fd = open(self.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open ring for a slot lock", path);
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = off_t(offset);
  fl.l_len = 1;
  if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
    const int err = errno;
    close(fd);
    if (err == EAGAIN || err == EACCES) return absl::UnavailableError("slot lock held");
    return ErrnoStatus(err, "lock slot byte of", path);
  }
  SlotLock l;
  l.fd_ = fd;
  return l;
}

bool LockHeld(int fd, uint64_t offset) {
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = off_t(offset);
  fl.l_len = 1;
  if (fcntl(fd, F_OFD_GETLK, &fl) != 0) return true;  // cannot tell: assume alive (never reclaim wrongly)
  return fl.l_type != F_UNLCK;
}

Liveness Classify(bool lock_held, uint64_t heartbeat_age_ns, uint64_t stale_after_ns) {
  if (!lock_held) return Liveness::kDead;
  return heartbeat_age_ns > stale_after_ns ? Liveness::kStale : Liveness::kAlive;
}

const char* LivenessName(Liveness l) {
  switch (l) {
    case Liveness::kNone: return "none";
    case Liveness::kAlive: return "alive";
    case Liveness::kStale: return "stale";
    case Liveness::kDead: return "dead";
  }
  return "?";
}

}  // namespace shmring
