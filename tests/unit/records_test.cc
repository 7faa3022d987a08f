// Records: write, read, wrap with padding, sizes at the edges, positions near 2^64.
#include <gtest/gtest.h>

#include <string>

#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/stats.h"
#include "test_ring.h"

namespace shmring {
namespace {

using testing::ScopedRingName;
using testing::Str;

std::shared_ptr<Ring> Make(const ScopedRingName& n, CreateOptions o = {}) {
  if (o.groups.empty()) o.groups = {"g"};
  auto r = Ring::Create(*n, o);
  EXPECT_TRUE(r.ok()) << r.status();
  return *r;
}

TEST(Records, AWrittenRecordIsReadBackByteForByteWithItsType) {
  ScopedRingName n;
  auto ring = Make(n, {.capacity = 4096});
  auto p = Producer::Attach(ring);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE((*p)->Write("hello", 7).ok());
  auto rd = Reader::Attach(ring, "g");
  ASSERT_TRUE(rd.ok()) << rd.status();
  auto b = (*rd)->Poll();
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ(Str((*b)[0].payload), "hello");
  EXPECT_EQ((*b)[0].type, 7);
  EXPECT_EQ((*b)[0].producer & 0xffff, (*p)->slot());
  ASSERT_TRUE((*rd)->Commit().ok());
  auto st = ring->Stats();
  EXPECT_EQ(st.committed, 1u);
  EXPECT_EQ(st.groups[0].delivered, 1u);
  EXPECT_EQ(st.groups[0].lag_bytes, 0u);
}

TEST(Records, ZeroLengthAndMaxLengthRecordsRoundTripAndOversizeIsRefused) {
  ScopedRingName n;
  auto ring = Make(n, {.capacity = 8192, .max_record = 1000});
  auto p = *Producer::Attach(ring);
  auto rd = *Reader::Attach(ring, "g");
  ASSERT_TRUE(p->Write("").ok());
  ASSERT_TRUE(p->Write(std::string(1000, 'x')).ok());
  auto big = p->Write(std::string(1001, 'x'));
  EXPECT_EQ(big.code(), absl::StatusCode::kInvalidArgument);
  auto b = *rd->Poll();
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].payload.size(), 0u);
  EXPECT_EQ(Str(b[1].payload), std::string(1000, 'x'));
  EXPECT_EQ(ring->Stats().dropped, 1u);
}

void WrapManyTimes(uint64_t initial_position) {
  ScopedRingName n;
  auto ring = Make(n, {.capacity = 4096, .initial_position = initial_position});
  auto p = *Producer::Attach(ring);
  auto rd = *Reader::Attach(ring, "g");
  uint64_t next = 0, got = 0;
  for (int round = 0; round < 400; ++round) {
    // Sizes chosen so records land at every offset, including the last 8..24 bytes of a lap.
    for (int k = 0; k < 3; ++k) {
      std::string s = std::to_string(next++) + std::string((next * 37) % 300, 'a' + next % 26);
      ASSERT_TRUE(p->Write(s).ok()) << "record " << next;
    }
    auto b = *rd->Poll(100);
    for (const RecordView& v : b) {
      std::string s = Str(v.payload);
      ASSERT_EQ(s.substr(0, std::to_string(got).size()), std::to_string(got));
      ++got;
    }
  }
  ASSERT_TRUE(rd->Commit().ok());
  EXPECT_EQ(got, next);
  auto st = ring->Stats();
  EXPECT_GT(st.tail - initial_position, 20 * 4096u) << "the ring wrapped many times";
  EXPECT_EQ(st.groups[0].delivered, next);
  EXPECT_EQ(st.groups[0].corrupt, 0u);
}

TEST(Records, RecordsNeverSplitAcrossTheWrapAndPaddingIsSkipped) { WrapManyTimes(0); }
TEST(Records, PositionsStartedJustBelowTwoToTheSixtyFourWrapAroundCleanly) { WrapManyTimes(uint64_t{0} - 4096 * 4 - 40); }
TEST(Records, PositionsCrossingTwoToTheThirtyTwoWorkLikeAnyOther) { WrapManyTimes((uint64_t{1} << 32) - 4096 * 3); }

TEST(Records, AnAbortedReservationIsSkippedByReaders) {
  ScopedRingName n;
  auto ring = Make(n, {.capacity = 4096});
  auto p = *Producer::Attach(ring);
  auto rd = *Reader::Attach(ring, "g");
  {
    auto r = p->Reserve(10);
    ASSERT_TRUE(r.ok());
    p->Abort(*r);
  }
  { auto r = p->Reserve(10); }  // destroyed uncommitted: aborted
  ASSERT_TRUE(p->Write("after").ok());
  auto b = *rd->Poll();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(Str(b[0].payload), "after");
  EXPECT_EQ(ring->Stats().aborted, 2u);
}

TEST(Records, AZeroCopyReservationIsVisibleOnlyAfterCommit) {
  ScopedRingName n;
  auto ring = Make(n, {.capacity = 4096});
  auto p = *Producer::Attach(ring);
  auto rd = *Reader::Attach(ring, "g");
  auto r = *p->Reserve(4);
  memcpy(r.data().data(), "abcd", 4);
  EXPECT_TRUE(rd->Poll()->empty());
  ASSERT_TRUE(p->Commit(r).ok());
  auto b = *rd->Poll();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(Str(b[0].payload), "abcd");
}

TEST(Records, ASecondReservationBeforeCommittingTheFirstIsRefused) {
  ScopedRingName n;
  auto ring = Make(n, {.capacity = 4096});
  auto p = *Producer::Attach(ring);
  auto r = *p->Reserve(4);
  EXPECT_EQ(p->Reserve(4).status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(p->Commit(r).ok());
  EXPECT_TRUE(p->Reserve(4).ok());
}

TEST(Records, ABatchReservationCommitsEveryRecordInOrder) {
  ScopedRingName n;
  auto ring = Make(n, {.capacity = 4096});
  auto p = *Producer::Attach(ring);
  auto rd = *Reader::Attach(ring, "g");
  for (int round = 0; round < 50; ++round) {
    std::vector<uint32_t> lens = {1, 20, 7, 0, 33};
    auto b = p->ReserveBatch(lens, 3);
    ASSERT_TRUE(b.ok()) << b.status();
    for (size_t i = 0; i < lens.size(); ++i) memset(b->data(i).data(), 'a' + int(i), lens[i]);
    ASSERT_TRUE(p->Commit(*b).ok());
    auto got = *rd->Poll(100);
    ASSERT_EQ(got.size(), lens.size());
    for (size_t i = 0; i < lens.size(); ++i) {
      EXPECT_EQ(Str(got[i].payload), std::string(lens[i], char('a' + i)));
      EXPECT_EQ(got[i].type, 3);
    }
  }
}

}  // namespace
}  // namespace shmring
