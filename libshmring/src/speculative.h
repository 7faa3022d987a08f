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

#ifdef SHMRING_TSAN
extern "C" void AnnotateIgnoreReadsBegin(const char* file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char* file, int line);
#endif

namespace shmring {

// Payload bytes are written by producers (and users) with plain stores; the
// reader's copy races with them by design and is validated afterwards, so under
// TSan those reads are ignored rather than reported.
inline void SpeculativeCopy(void* dst, const void* src, size_t n) {
#ifdef SHMRING_TSAN
  AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
  memcpy(dst, src, n);
  AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
#else
  memcpy(dst, src, n);
#endif
}

// A scope whose reads of ring memory may race with producers reusing it (an
// overwrite walk that started from a cursor that has since moved); every such
// result is re-validated by a CAS or a cursor re-check. Under TSan its reads are
// ignored; elsewhere it is nothing.
class SpeculativeReads {
 public:
#ifdef SHMRING_TSAN
  SpeculativeReads() { AnnotateIgnoreReadsBegin(__FILE__, __LINE__); }
  ~SpeculativeReads() { AnnotateIgnoreReadsEnd(__FILE__, __LINE__); }
#else
  SpeculativeReads() {}
#endif
  SpeculativeReads(const SpeculativeReads&) = delete;
  SpeculativeReads& operator=(const SpeculativeReads&) = delete;
};

// Header fields other than the word: loaded and stored as relaxed atomics (plain
// moves on x86-64), so a reader racing an overwrite reads a whole, if stale, value.
template <typename T>
inline T SpeculativeLoad(const T& field) {
  return std::atomic_ref<T>(const_cast<T&>(field)).load(std::memory_order_relaxed);
}
template <typename T, typename V>
inline void SharedStore(T& field, V value) {
  std::atomic_ref<T>(field).store(T(value), std::memory_order_relaxed);
}

}  // namespace shmring
