// Message batches: parsing (readers, tools) and entry writing (producers),
// spec/LAYOUT.md §6.4.
#include "batch.h"

#include <cstring>

#include "layout.h"
#include "speculative.h"

namespace shmring {

using namespace layout;

bool ParseBatch(const std::byte* payload, uint32_t len, uint32_t count, std::vector<BatchEntry>* out) {
  out->clear();
  if (count == 0 || count > len / kMessageHeaderSize) return false;
  uint64_t off = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (len - off < kMessageHeaderSize) return false;
    MessageHeader m;
    SpeculativeCopy(&m, payload + off, sizeof m);  // once: the producer side is untrusted
    if (MessageSize(m.len) > len - off) return false;
    out->push_back({uint32_t(off + kMessageHeaderSize), m.len, m.type});
    off += MessageSize(m.len);
  }
  return off == len;
}

std::byte* WriteMessageHeader(std::byte* at, uint32_t len, uint16_t type) {
  const MessageHeader m{len, type, 0};
  // The last 8 bytes of the entry first: its padding is zero, whatever the last lap left.
  const uint64_t zero = 0;
  memcpy(at + MessageSize(len) - 8, &zero, 8);
  memcpy(at, &m, sizeof m);
  return at + kMessageHeaderSize;
}

}  // namespace shmring
