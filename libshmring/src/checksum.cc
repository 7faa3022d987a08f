// The record checksum (spec/LAYOUT.md §6.1): XXH3-64. Inputs up to 240 bytes take
// XXH3's short paths, which are scalar code whatever the CPU: inlined here they
// cost no call through Debian's run-time dispatcher (the per-record cost of small
// records). Longer inputs go through the dispatcher, which picks AVX2/AVX-512 when
// the CPU has them. Both compute the same XXH3-64 (checksum_test compares them
// with libxxhash for every length that matters).
#include <cstddef>
#include <cstdint>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "record.h"

extern "C" uint64_t XXH3_64bits_withSeed_dispatch(const void* input, size_t len, uint64_t seed);

namespace shmring {

namespace {
constexpr size_t kShortInput = 240;  // XXH3_MIDSIZE_MAX: the last length hashed without SIMD
}  // namespace

uint64_t RecordChecksum(const void* from_len_field, uint32_t len, uint64_t pos) {
  const size_t n = 16 + size_t{len};
  if (n <= kShortInput) return XXH3_64bits_withSeed(from_len_field, n, pos);
  return XXH3_64bits_withSeed_dispatch(from_len_field, n, pos);
}

}  // namespace shmring
