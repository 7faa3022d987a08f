// Message batches (spec/LAYOUT.md §6.4): many small messages in one record, one
// claim, one checksum and one commit for all of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace shmring {

// One message of a parsed batch: where its bytes start in the record's payload.
struct BatchEntry {
  uint32_t offset = 0;
  uint32_t len = 0;
  uint16_t type = 0;
};

// Parses a batch record's payload of `len` bytes that claims `count` messages. Each
// entry header is copied once, then bounds-checked. False (a malformed batch: one
// corrupt record) unless exactly `count` entries, count >= 1, fill exactly `len` bytes.
// Work is bounded by count <= len / 8.
[[nodiscard]] bool ParseBatch(const std::byte* payload, uint32_t len, uint32_t count, std::vector<BatchEntry>* out);


// Writes message i's entry header at `at` and zeroes its padding; returns where its
// bytes go. The caller then writes `len` bytes there.
std::byte* WriteMessageHeader(std::byte* at, uint32_t len, uint16_t type);

}  // namespace shmring
