#include "util.h"

#include <sys/stat.h>
#include <time.h>

namespace shmring {

uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // vDSO: no syscall
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

uint64_t MonotonicCoarseNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

uint64_t RealtimeNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

uint64_t SelfPidNamespace() {
  struct stat st;
  if (stat("/proc/self/ns/pid", &st) != 0) return 0;
  return uint64_t(st.st_ino);
}

absl::Status ErrnoStatus(int err, std::string_view what, std::string_view path) {
  std::string msg = absl::StrCat(std::string(what), " ", std::string(path), ": ", strerror(err));
  switch (err) {
    case ENOENT: return absl::NotFoundError(msg);
    case EEXIST: return absl::AlreadyExistsError(msg);
    case EACCES:
    case EPERM: return absl::PermissionDeniedError(msg);
    case ENOSPC:
    case ENOMEM:
    case EMFILE:
    case ENFILE: return absl::ResourceExhaustedError(msg);
    case EINVAL:
    case ENAMETOOLONG:
    case ELOOP: return absl::InvalidArgumentError(msg);
    case EAGAIN: return absl::UnavailableError(msg);
    default: return absl::InternalError(msg);
  }
}

}  // namespace shmring
