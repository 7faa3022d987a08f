// The benchmark payload: every byte is derived from (producer, sequence), so the
// consumer can check every byte it receives.
//   [0, 8)   CLOCK_MONOTONIC ns when the producer published it (0: not stamped)
//   [8, 16)  sequence number | producer id << 48 (kEndFlag marks the end of a stream)
//   [16, n)  8-byte words w[i] = key * kMul + i, where key = the word at [8, 16);
//            a tail shorter than 8 bytes holds the low bytes of the next word.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace bench {

inline constexpr size_t kMinPayload = 16;
inline constexpr uint64_t kEndFlag = uint64_t{1} << 63;
inline constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;

inline uint64_t MakeKey(uint32_t producer, uint64_t seq) { return seq | (uint64_t{producer} << 48); }
inline uint64_t KeySeq(uint64_t key) { return key & ((uint64_t{1} << 48) - 1); }
inline uint32_t KeyProducer(uint64_t key) { return uint32_t((key >> 48) & 0x7fff); }

inline void FillPayload(void* dst, size_t len, uint64_t key, uint64_t stamp_ns) {
  auto* b = static_cast<unsigned char*>(dst);
  memcpy(b, &stamp_ns, 8);
  memcpy(b + 8, &key, 8);
  const size_t words = (len - 16) / 8;
  const uint64_t base = key * kMul;
  for (size_t i = 0; i < words; ++i) {
    const uint64_t w = base + i;
    memcpy(b + 16 + 8 * i, &w, 8);
  }
  const size_t rest = (len - 16) % 8;
  if (rest) {
    const uint64_t w = base + words;
    memcpy(b + 16 + 8 * words, &w, rest);
  }
}

// Stamps a record already filled (the timestamp goes in last, just before publishing).
inline void Stamp(void* dst, uint64_t stamp_ns) { memcpy(dst, &stamp_ns, 8); }

// Checks every byte after the header; returns false on the first mismatch.
inline bool CheckPayload(const void* src, size_t len, uint64_t key) {
  auto* b = static_cast<const unsigned char*>(src);
  const size_t words = (len - 16) / 8;
  const uint64_t base = key * kMul;
  uint64_t diff = 0;
  for (size_t i = 0; i < words; ++i) {
    uint64_t w;
    memcpy(&w, b + 16 + 8 * i, 8);
    diff |= w ^ (base + i);
  }
  const size_t rest = (len - 16) % 8;
  if (rest) {
    uint64_t w = base + words, got = 0;
    memcpy(&got, b + 16 + 8 * words, rest);
    const uint64_t mask = (uint64_t{1} << (8 * rest)) - 1;
    diff |= (got ^ w) & mask;
  }
  return diff == 0;
}

inline uint64_t PayloadStamp(const void* src) {
  uint64_t v;
  memcpy(&v, src, 8);
  return v;
}
inline uint64_t PayloadKey(const void* src) {
  uint64_t v;
  memcpy(&v, static_cast<const unsigned char*>(src) + 8, 8);
  return v;
}

}  // namespace bench
