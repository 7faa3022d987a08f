// Message batches (spec/LAYOUT.md §6.4): many small messages in one record, one
// claim, one checksum and one commit for all of them. Entry headers are
// layout::MessageHeader; the producer writes them, readers parse them here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "layout.h"
#include "speculative.h"

namespace shmring {

// One message of a parsed batch: where its bytes start in the record's payload.
struct BatchEntry {
  uint32_t offset = 0;
  uint32_t len = 0;
  uint16_t type = 0;
};

// Parses a batch record's payload of `len` bytes that claims `count` messages, calling
// on(i, entry) for each. Each entry header is copied once, then bounds-checked. False
// (a malformed batch: one corrupt record) unless exactly `count` entries, count >= 1,
// fill exactly `len` bytes; `on` may have been called for some entries by then.
// Work is bounded by count <= len / 8.
template <typename OnEntry>
[[nodiscard]] bool ParseBatch(const std::byte* payload, uint32_t len, uint32_t count, OnEntry&& on) {
  using layout::kMessageHeaderSize;
  if (count == 0 || count > len / kMessageHeaderSize) return false;
  uint64_t off = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (len - off < kMessageHeaderSize) return false;
    layout::MessageHeader m;
    SpeculativeCopy(&m, payload + off, sizeof m);  // once: the producer side is untrusted
    const uint64_t size = layout::MessageSize(m.len);
    if (size > len - off) return false;
    on(i, BatchEntry{uint32_t(off + kMessageHeaderSize), m.len, m.type});
    off += size;
  }
  return off == len;
}

// The same, collecting the entries into `out` (cleared first): for Verify and Peek.
[[nodiscard]] inline bool ParseBatch(const std::byte* payload, uint32_t len, uint32_t count,
                                     std::vector<BatchEntry>* out) {
  out->clear();
  return ParseBatch(payload, len, count, [out](uint32_t, const BatchEntry& e) { out->push_back(e); });
}

// Writes a message's entry header at `at` (8-aligned, in a claim the caller owns) and,
// if the message leaves padding, zeroes the entry's last 8 bytes, so the padding is
// zero whatever the last lap left; the caller then writes the `len` message bytes at at + 8.
inline void WriteMessageHeader(std::byte* at, uint32_t len, uint16_t type) {
  const layout::MessageHeader m{len, type, 0};
  const uint64_t zero = 0;
  if (len % 8 != 0) memcpy(at + layout::MessageSize(len) - 8, &zero, 8);
  memcpy(at, &m, sizeof m);
}

}  // namespace shmring
