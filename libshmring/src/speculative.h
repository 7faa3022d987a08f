// Copies of ring memory that a producer may be overwriting at the same moment
// (overwrite policy). The copy is validated afterwards (cursor re-check and
// checksum, spec/PROTOCOL.md §6.3), so a torn copy is detected, never delivered.
// Under ThreadSanitizer the copy uses relaxed atomic loads so the intended race
// is not reported; otherwise it is a plain memcpy.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstring>

#if defined(__SANITIZE_THREAD__)
#define SHMRING_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHMRING_TSAN 1
#endif
#endif

namespace shmring {

inline void SpeculativeCopy(void* dst, const void* src, size_t n) {
#ifdef SHMRING_TSAN
  auto* d = static_cast<unsigned char*>(dst);
  auto* s = static_cast<unsigned char*>(const_cast<void*>(src));
  for (size_t i = 0; i < n; ++i) d[i] = std::atomic_ref<unsigned char>(s[i]).load(std::memory_order_relaxed);
#else
  memcpy(dst, src, n);
#endif
}

template <typename T>
inline T SpeculativeLoad(const T& field) {
  return std::atomic_ref<T>(const_cast<T&>(field)).load(std::memory_order_relaxed);
}

}  // namespace shmring
