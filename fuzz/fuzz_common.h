// Shared helpers for the libFuzzer targets, the corpus generator and the
// regression replay test (tests/unit/fuzz_regressions_test.cc).
//
// The image targets (drain, stats_verify, recover) take a fuzzer input and lay it
// over a VALID small ring (capacity 4096, 4 producer slots, 2 groups "a" and "b"),
// so the superblock stays valid and attach succeeds. The input bytes fill, in
// order (a short input leaves the rest of the template as it was):
//
//   [0, 512)      control block, first 512 bytes (tail, futex words, counters)
//   [512, 1024)   the 2 group slots (cursor, journal, state, counters, name)
//   [1024, 2048)  the 4 producer slots (state, claim_pos/claim_len, counters)
//   [2048, 6144)  the data area (record headers and payloads)
//
// The attach target takes the whole ring FILE instead.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "layout.h"
#include "shmring/ring.h"
#include "xxhash.h"

namespace shmring_fuzz {

inline constexpr uint64_t kCapacity = 4096;
inline constexpr uint32_t kProducers = 4;
inline constexpr uint32_t kGroups = 2;

struct Region {
  uint64_t file_offset, len;
};
// Geometry of the template ring (checked against its superblock in MakeTemplate).
inline constexpr uint64_t kProducersOffset = 8192;
inline constexpr uint64_t kGroupsOffset = 12288;
inline constexpr uint64_t kDataOffset = 16384;
inline constexpr uint64_t kTotalSize = kDataOffset + kCapacity;
inline constexpr Region kRegions[] = {
    {shmring::layout::kControlOffset, 512},
    {kGroupsOffset, kGroups * shmring::layout::kGroupSlotSize},
    {kProducersOffset, kProducers * shmring::layout::kProducerSlotSize},
    {kDataOffset, kCapacity},
};
inline constexpr size_t kImageInputSize = 512 + 512 + 1024 + 4096;

// A unique path under /dev/shm (libFuzzer may run several jobs in one directory).
inline std::string UniquePath(const char* tag) {
  static std::atomic<uint64_t> n{0};
  return "/dev/shm/shmring-fuzz-" + std::string(tag) + "-" + std::to_string(getpid()) + "-" +
         std::to_string(n.fetch_add(1));
}

inline bool WriteFile(const std::string& path, const uint8_t* data, size_t size) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < size) {
    const ssize_t w = write(fd, data + done, size - done);
    if (w <= 0) break;
    done += size_t(w);
  }
  close(fd);
  return done == size;
}

inline std::vector<uint8_t> ReadFile(const std::string& path) {
  std::vector<uint8_t> out;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  uint8_t buf[65536];
  for (;;) {
    const ssize_t r = read(fd, buf, sizeof buf);
    if (r <= 0) break;
    out.insert(out.end(), buf, buf + r);
  }
  close(fd);
  return out;
}

inline shmring::CreateOptions TemplateOptions(shmring::Policy policy, bool checksums) {
  shmring::CreateOptions o;
  o.capacity = kCapacity;
  o.policy = policy;
  o.checksums = checksums;
  o.max_producers = kProducers;
  o.max_groups = kGroups;
  o.groups = {"a", "b"};
  o.message_batches = true;  // records may be message batches: the readers' batch parsing is fuzzed too
  return o;
}

// The bytes of a freshly created template ring (cached per policy/checksums).
inline const std::vector<uint8_t>& Template(shmring::Policy policy, bool checksums) {
  static std::vector<uint8_t> cache[4][2];
  std::vector<uint8_t>& t = cache[uint32_t(policy)][checksums ? 1 : 0];
  if (!t.empty()) return t;
  const std::string path = UniquePath("tmpl");
  unlink(path.c_str());
  auto ring = shmring::Ring::Create(path, TemplateOptions(policy, checksums));
  if (!ring.ok()) abort();
  ring->reset();
  t = ReadFile(path);
  unlink(path.c_str());
  shmring::layout::Superblock sb;
  if (t.size() != kTotalSize) abort();
  memcpy(&sb, t.data(), sizeof sb);
  if (sb.producers_offset != kProducersOffset || sb.groups_offset != kGroupsOffset ||
      sb.data_offset != kDataOffset || sb.total_size != kTotalSize) {
    abort();  // the layout changed: update the region table above
  }
  return t;
}

// Template with the fuzzer input laid over the regions.
inline std::vector<uint8_t> ApplyInput(const std::vector<uint8_t>& tmpl, const uint8_t* data, size_t size) {
  std::vector<uint8_t> img = tmpl;
  size_t at = 0;
  for (const Region& r : kRegions) {
    if (at >= size) break;
    const size_t n = std::min<size_t>(r.len, size - at);
    memcpy(img.data() + r.file_offset, data + at, n);
    at += n;
  }
  return img;
}

// The inverse: the regions of a real ring file, as an image-target input.
inline std::vector<uint8_t> ExtractInput(const std::vector<uint8_t>& file) {
  std::vector<uint8_t> in;
  for (const Region& r : kRegions) {
    if (file.size() >= r.file_offset + r.len) {
      in.insert(in.end(), file.begin() + long(r.file_offset), file.begin() + long(r.file_offset + r.len));
    }
  }
  return in;
}

// Writes an image to a unique file, opens it, unlinks it at once (the mapping
// keeps the pages; nothing is left behind if the target crashes).
inline absl::StatusOr<std::shared_ptr<shmring::Ring>> OpenImage(const std::vector<uint8_t>& img, bool read_only,
                                                                const char* tag) {
  const std::string path = UniquePath(tag);
  if (!WriteFile(path, img.data(), img.size())) {
    unlink(path.c_str());
    abort();  // /dev/shm full or not writable: not a finding, but do not hide it
  }
  shmring::OpenOptions oo;
  oo.read_only = read_only;
  auto ring = shmring::Ring::Open(path, oo);
  unlink(path.c_str());
  return ring;
}

// Recomputes a superblock's header checksum (bytes [0,160), XXH3-64 seed 0) so
// that mutations reach the field checks past it.
inline void FixHeaderChecksum(uint8_t* sb, size_t size) {
  if (size < shmring::layout::kSuperblockSize) return;
  const uint64_t sum = XXH3_64bits(sb, shmring::layout::kHeaderChecksumOffset);
  memcpy(sb + shmring::layout::kHeaderChecksumOffset, &sum, sizeof sum);
}

// A minimal FuzzedDataProvider (the unit-test build is gcc, without clang's header):
// takes bytes from the front; running out yields zeros.
class FuzzedDataProviderLite {
 public:
  FuzzedDataProviderLite(const uint8_t* data, size_t size) : p_(data), n_(size) {}
  size_t remaining_bytes() const { return n_; }
  template <typename T>
  T ConsumeIntegral() {
    return ConsumeIntegralInRange<T>(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  }
  template <typename T>
  T ConsumeIntegralInRange(T lo, T hi) {
    const uint64_t range = uint64_t(hi) - uint64_t(lo);
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T) && (range >> (8 * i)) != 0 && n_ > 0; ++i) {
      v = (v << 8) | *p_++;
      --n_;
    }
    if (range != UINT64_MAX) v %= range + 1;
    return T(uint64_t(lo) + v);
  }
  bool ConsumeBool() { return ConsumeIntegral<uint8_t>() & 1; }

 private:
  const uint8_t* p_;
  size_t n_;
};

// ---- self-describing payloads (ops target, hostile-writer test) ----
// [0,8) sequence number, [8,12) length, then bytes derived from both.
inline constexpr size_t kMinSelfChecked = 12;

inline uint8_t PatternByte(uint64_t seq, size_t i) {
  uint64_t x = seq * 0x9e3779b97f4a7c15ull + i * 0xbf58476d1ce4e5b9ull;
  x ^= x >> 29;
  return uint8_t(x ^ (x >> 17));
}

inline void FillPayload(uint8_t* p, size_t len, uint64_t seq) {
  const uint32_t l = uint32_t(len);
  memcpy(p, &seq, 8);
  memcpy(p + 8, &l, 4);
  for (size_t i = kMinSelfChecked; i < len; ++i) p[i] = PatternByte(seq, i);
}

// True if the payload is exactly what FillPayload wrote; *seq gets its number.
inline bool CheckPayload(const uint8_t* p, size_t len, uint64_t* seq) {
  if (len < kMinSelfChecked) return false;
  uint32_t l;
  memcpy(seq, p, 8);
  memcpy(&l, p + 8, 4);
  if (l != len) return false;
  for (size_t i = kMinSelfChecked; i < len; ++i) {
    if (p[i] != PatternByte(*seq, i)) return false;
  }
  return true;
}

}  // namespace shmring_fuzz
