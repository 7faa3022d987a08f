// Message batches: the collecting form of ParseBatch (verify, Peek), spec/LAYOUT.md §6.4.
#include "batch.h"

#include <bit>
#include <cstddef>
#include <cstring>

#include "layout.h"

namespace shmring {

using namespace layout;

static_assert(kBatchEntryHeader == kMessageHeaderSize && offsetof(MessageHeader, type) == 4 &&
                  std::endian::native == std::endian::little,
              "spec/LAYOUT.md §6.4: entry headers are read and written as one little-endian 8-byte word");

bool ParseBatch(const std::byte* payload, uint32_t len, uint32_t count, std::vector<BatchEntry>* out) {
  out->clear();
  return ParseBatch(payload, len, count, [out](uint32_t, const BatchEntry& e) { out->push_back(e); });
}

}  // namespace shmring
