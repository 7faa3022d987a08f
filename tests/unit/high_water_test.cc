// The high-water mark: the largest depth producers measured, never above the true depth
// (spec/PROTOCOL.md §3 step 8, spec/LAYOUT.md §3).
#include <gtest/gtest.h>

#include <string>

#include "layout.h"
#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/stats.h"
#include "test_ring.h"

namespace shmring {
namespace {

using testing::ScopedRingName;

constexpr uint64_t kRecord = layout::kRecordHeaderSize + 64;  // a 64-byte payload's record

TEST(HighWater, StaysAtOneRecordWhileTheReaderKeepsUpOverManyLaps) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 65536, .groups = {"g"}});
  auto p = *Producer::Attach(ring);
  auto rd = *Reader::Attach(ring, "g");
  const std::string payload(64, 'x');
  for (int i = 0; i < 20000; ++i) {  // 20,000 × 96 bytes: 29 laps
    ASSERT_TRUE(p->Write(payload).ok());
    ASSERT_EQ(rd->Poll(1)->size(), 1u);
    ASSERT_TRUE(rd->Commit().ok());
  }
  const RingStats s = ring->Stats();
  EXPECT_EQ(s.tail - s.head, 0u);
  // Each sample is taken right after a claim, before the reader got its record: one
  // record, with the padding before it when the claim was the one at the wrap.
  EXPECT_GE(s.high_water, kRecord);
  EXPECT_LT(s.high_water, 2 * kRecord);
}

TEST(HighWater, ReachesTheFullRingWhenNobodyReads) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 65536, .policy = Policy::kReject, .groups = {"g"}});
  auto p = *Producer::Attach(ring);
  const std::string payload(64, 'x');
  int written = 0;
  while (p->Write(payload).ok()) ++written;
  const RingStats s = ring->Stats();
  ASSERT_EQ(s.tail - s.head, uint64_t(written) * kRecord);
  // The claim refused for want of room measured the ring it found full.
  EXPECT_EQ(s.high_water, s.tail - s.head);
  EXPECT_GT(s.high_water, 65536 - 2 * kRecord);
}

TEST(HighWater, KeepsAPeakAfterTheReaderDrainsIt) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 1 << 20, .groups = {"g"}});
  auto p = *Producer::Attach(ring);
  auto rd = *Reader::Attach(ring, "g");
  const std::string payload(64, 'x');
  // 600 records unread: the producer samples at least every 256 claims, so it saw
  // a depth of at least 512 records and at most the 600 that were there.
  for (int i = 0; i < 600; ++i) ASSERT_TRUE(p->Write(payload).ok());
  while (!rd->Poll(256)->empty()) ASSERT_TRUE(rd->Commit().ok());
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(p->Write(payload).ok());
    ASSERT_EQ(rd->Poll(1)->size(), 1u);
    ASSERT_TRUE(rd->Commit().ok());
  }
  const uint64_t hw = ring->Stats().high_water;
  EXPECT_GE(hw, 512 * kRecord);
  EXPECT_LE(hw, 600 * kRecord);
}

}  // namespace
}  // namespace shmring
