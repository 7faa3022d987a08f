// The record checksum is XXH3-64 seeded with the position (spec/LAYOUT.md §6.1),
// computed through Debian's run-time dispatcher. Compared with the plain (not
// dispatched) XXH3_64bits_withSeed of libxxhash for every length across its code paths.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <cstdint>
#include <vector>

#include "record.h"

namespace shmring {
namespace {

TEST(Checksum, IsLibxxhashXxh3SeededWithThePositionForEveryLengthShortAndLong) {
  std::vector<uint8_t> buf(16 + 70000);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = uint8_t(i * 131 + (i >> 7));
  std::vector<uint32_t> lens;
  for (uint32_t len = 0; len <= 600; ++len) lens.push_back(len);  // 16 + len crosses XXH3's 16/128/240-byte paths
  for (uint32_t len : {1008u, 4080u, 4096u, 65520u, 65536u, 69000u}) lens.push_back(len);
  for (uint32_t len : lens) {
    for (uint64_t pos : {uint64_t{0}, uint64_t{4096}, ~uint64_t{0} - 7}) {
      ASSERT_EQ(RecordChecksum(buf.data(), len, pos), XXH3_64bits_withSeed(buf.data(), 16 + size_t{len}, pos))
          << "payload length " << len << ", position " << pos;
    }
  }
}

}  // namespace
}  // namespace shmring
