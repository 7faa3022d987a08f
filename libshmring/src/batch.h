// Message batches (spec/LAYOUT.md §6.4): many small messages in one record, one
// claim, one checksum and one commit for all of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "speculative.h"

namespace shmring {

inline constexpr uint64_t kBatchEntryHeader = 8;  // layout::kMessageHeaderSize
struct EntryHeader {
  uint32_t len;
  uint16_t type;
};
// One copy of an entry header out of (possibly shared, untrusted) memory.
inline EntryHeader LoadEntryHeader(const std::byte* at) {
  uint64_t w;
  SpeculativeCopy(&w, at, 8);
  return {uint32_t(w), uint16_t(w >> 32)};  // len, type (little-endian, spec/LAYOUT.md §6.4)
}

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
  if (count == 0 || count > len / kBatchEntryHeader) return false;
  uint64_t off = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (len - off < kBatchEntryHeader) return false;
    const EntryHeader m = LoadEntryHeader(payload + off);  // once: the producer side is untrusted
    const uint64_t size = (kBatchEntryHeader + uint64_t{m.len} + 7) & ~uint64_t{7};
    if (size > len - off) return false;
    on(i, BatchEntry{uint32_t(off + kBatchEntryHeader), m.len, m.type});
    off += size;
  }
  return off == len;
}

// The same, collecting the entries into `out` (cleared first).
[[nodiscard]] bool ParseBatch(const std::byte* payload, uint32_t len, uint32_t count, std::vector<BatchEntry>* out);


// Writes a message's entry header at `at` (8-aligned, in a claim the caller owns) and,
// if the message leaves padding, zeroes the entry's last 8 bytes, so the padding is
// zero whatever the last lap left; the caller then writes the `len` message bytes at at + 8.
inline void WriteMessageHeader(std::byte* at, uint32_t len, uint16_t type) {
  const uint64_t size = (kBatchEntryHeader + uint64_t{len} + 7) & ~uint64_t{7};
  const uint64_t zero = 0;
  const uint64_t header = uint64_t{len} | uint64_t{type} << 32;  // len, type, flags 0 (little-endian)
  if (len % 8 != 0) memcpy(at + size - 8, &zero, 8);
  memcpy(at, &header, 8);
}

}  // namespace shmring
