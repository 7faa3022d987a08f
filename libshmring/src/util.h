// Small helpers shared by the library: clocks, identities, status building.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace shmring {

// Abseil 20220623 has no status_macros.h.
#define SHMRING_RETURN_IF_ERROR(expr)              \
  do {                                             \
    ::absl::Status shmring_status_ = (expr);       \
    if (!shmring_status_.ok()) return shmring_status_; \
  } while (0)

uint64_t MonotonicNs();
// CLOCK_MONOTONIC_COARSE: a few ns from the vDSO, jiffy resolution (at most ~4 ms behind
// MonotonicNs); for heartbeats on hot paths.
uint64_t MonotonicCoarseNs();
uint64_t RealtimeNs();
uint64_t SelfPidNamespace();  // inode of /proc/self/ns/pid, 0 if unknown

// Age of a timestamp written by another process, modulo 2^64 so a hostile
// value cannot overflow; a timestamp from the future has age 0.
inline uint64_t AgeNs(uint64_t now, uint64_t then) {
  return then > now ? 0 : now - then;
}

// errno -> canonical code, with a message that names the operation and the file.
absl::Status ErrnoStatus(int err, std::string_view what, std::string_view path);

}  // namespace shmring
