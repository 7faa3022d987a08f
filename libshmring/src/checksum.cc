// The record checksum (spec/LAYOUT.md §6.1): XXH3-64 through Debian's run-time
// dispatcher, which picks AVX2/AVX-512 when the CPU has them.
#include <xxh_x86dispatch.h>

#include "record.h"

namespace shmring {

uint64_t RecordChecksum(const void* from_len_field, uint32_t len, uint64_t pos) {
  return XXH3_64bits_withSeed_dispatch(from_len_field, 16 + size_t{len}, pos);
}

}  // namespace shmring
