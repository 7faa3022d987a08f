// Full-ring policies: block, reject, overwrite, and which groups gate producers.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/stats.h"
#include "test_ring.h"

namespace shmring {
namespace {

using namespace std::chrono_literals;
using testing::ScopedRingName;
using testing::Str;

// Fills a 4 KiB ring with 100-byte records (136 bytes each) until the policy says no.
int Fill(Producer& p, absl::Status* last) {
  for (int i = 0;; ++i) {
    absl::Status s = p.Write(std::string(100, char('a' + i % 26)));
    if (!s.ok()) {
      *last = s;
      return i;
    }
  }
}

// The largest record must fit even after the longest padding to the wrap (size - 8
// bytes) in a ring that keeps a header's slack: Create refuses a max_record for which
// it would not (found by the model test: such a write never returned under overwrite).
TEST(Limits, TheLargestRecordFitsAfterTheLongestPaddingAndALargerMaxRecordIsRefused) {
  for (Policy policy : {Policy::kBlock, Policy::kReject, Policy::kOverwrite}) {
    SCOPED_TRACE(PolicyName(policy));
    ScopedRingName n;
    auto too_big = Ring::Create(*n, {.capacity = 4096, .max_record = 2001, .policy = policy});
    ASSERT_EQ(too_big.status().code(), absl::StatusCode::kInvalidArgument) << too_big.status();
    EXPECT_NE(too_big.status().message().find("at most 2000"), std::string_view::npos) << too_big.status();
    auto ring = *Ring::Create(*n, {.capacity = 4096, .max_record = 2000, .policy = policy, .groups = {"g"}});
    auto p = *Producer::Attach(ring, {.block_timeout = std::chrono::milliseconds(50)});
    auto rd = *Reader::Attach(ring, "g");
    // 1040 + 1032 bytes: the tail stops 2024 bytes before the wrap, 8 short of the
    // largest record (2032 bytes with its header), so that record pads 2024 bytes.
    ASSERT_TRUE(p->Write(std::string(1008, 'a')).ok());
    ASSERT_TRUE(p->Write(std::string(1000, 'b')).ok());
    ASSERT_EQ(rd->Poll()->size(), 2u);
    ASSERT_TRUE(rd->Commit().ok());
    absl::Status s = p->Write(std::string(2000, 'c'));
    ASSERT_TRUE(s.ok()) << s;
    auto b = rd->Poll();
    ASSERT_EQ(b->size(), 1u);
    EXPECT_EQ((*b)[0].payload.size(), 2000u);
  }
}

// The default max_record is capacity/4 - 32 up to the u32 field: rings of 32 GiB and
// more (up to 1 TiB) are creatable with the default (it used to overflow the field, and
// Create refused them). Checked on the computation: such rings cannot be allocated here.
TEST(Limits, TheDefaultMaxRecordIsAQuarterOfTheCapacityUpToTheU32Field) {
  EXPECT_EQ(DefaultMaxRecord(4096), 1024u - 32);
  EXPECT_EQ(DefaultMaxRecord(uint64_t{1} << 20), (1u << 18) - 32);
  EXPECT_EQ(DefaultMaxRecord(uint64_t{16} << 30), (uint64_t{4} << 30) - 32);
  for (uint64_t cap = uint64_t{32} << 30; cap <= uint64_t{1} << 40; cap <<= 1) {
    EXPECT_EQ(DefaultMaxRecord(cap), UINT32_MAX) << cap;
    EXPECT_LE(uint64_t{DefaultMaxRecord(cap)} + 32 + 7, cap / 2 - 16) << "fits MaxClaim at " << cap;
  }
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 64 << 10});
  EXPECT_EQ(ring->max_record(), DefaultMaxRecord(64 << 10)) << "Create uses it";
}

TEST(Reject, AFullRingRejectsAtOnceAndCountsEveryDrop) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .policy = Policy::kReject, .groups = {"g"}});
  auto p = *Producer::Attach(ring);
  absl::Status last;
  const int fitted = Fill(*p, &last);
  EXPECT_EQ(last.code(), absl::StatusCode::kResourceExhausted) << last;
  EXPECT_NE(last.message().find("'g'"), std::string::npos) << "names the lagging group: " << last;
  EXPECT_EQ(fitted, (4096 - 32) / 136) << "a claim stays one header short of a full lap (PROTOCOL §3 step 3)";
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(p->Write(std::string(100, 'x')).ok());
  auto st = ring->Stats();
  EXPECT_EQ(st.dropped, 6u);
  EXPECT_EQ(st.committed, uint64_t(fitted));
  auto rd = *Reader::Attach(ring, "g");
  EXPECT_EQ(rd->Poll(1000)->size(), size_t(fitted));
  ASSERT_TRUE(rd->Commit().ok());
  EXPECT_TRUE(p->Write("room again").ok());
}

TEST(Block, AFullRingWaitsUntilTheDeadlineThenFailsWithDeadlineExceeded) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .policy = Policy::kBlock, .groups = {"g"}});
  auto p = *Producer::Attach(ring, {.block_timeout = 30ms});
  absl::Status last;
  Fill(*p, &last);
  EXPECT_EQ(last.code(), absl::StatusCode::kDeadlineExceeded) << last;
  auto st = ring->Stats();
  EXPECT_EQ(st.dropped, 1u);
  EXPECT_GE(st.blocked_ns, 30'000'000u) << "blocked time is accounted";
}

TEST(Block, ABlockedProducerResumesWhenTheReaderCommits) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .policy = Policy::kBlock, .groups = {"g"}});
  auto p = *Producer::Attach(ring, {.block_timeout = 60s});
  absl::Status last;
  {
    auto quick = *Producer::Attach(ring, {.block_timeout = 1ms});
    Fill(*quick, &last);
  }
  std::thread reader([&] {
    auto rd = *Reader::Attach(ring, "g");
    std::this_thread::sleep_for(20ms);
    ASSERT_FALSE(rd->Poll(1000)->empty());
    ASSERT_TRUE(rd->Commit().ok());
  });
  EXPECT_TRUE(p->Write(std::string(100, 'z')).ok()) << "woken by the cursor commit";
  reader.join();
}

TEST(Overwrite, AFullRingMovesTheLaggingGroupPastTheOldestRecordsAndCountsThem) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .policy = Policy::kOverwrite, .groups = {"slow"}});
  auto p = *Producer::Attach(ring);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(p->Write(std::to_string(i) + std::string(96, '.')).ok()) << i;
  auto rd = *Reader::Attach(ring, "slow");
  auto b = *rd->Poll(1000);
  ASSERT_FALSE(b.empty());
  const int first = std::stoi(Str(b[0].payload));
  for (size_t i = 0; i < b.size(); ++i) EXPECT_EQ(std::stoi(Str(b[i].payload)), first + int(i)) << "no gaps, no tears";
  EXPECT_EQ(first + b.size(), 100u) << "the newest records survive";
  auto st = ring->Stats();
  EXPECT_EQ(st.groups[0].overwritten, uint64_t(first));
  EXPECT_EQ(st.groups[0].delivered + st.groups[0].overwritten, st.committed) << "nothing lost silently";
  EXPECT_EQ(st.dropped, 0u);
}

TEST(Overwrite, ARecordStillBeingWrittenIsNeverOverwrittenTheNewWriteIsDroppedInstead) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .policy = Policy::kOverwrite, .groups = {"g"}});
  auto slow = *Producer::Attach(ring);
  auto fast = *Producer::Attach(ring);
  auto held = *slow->Reserve(100);
  absl::Status last;
  for (int i = 0; i < 100 && last.ok(); ++i) last = fast->Write(std::string(100, 'f'));
  EXPECT_EQ(last.code(), absl::StatusCode::kResourceExhausted) << last;
  ASSERT_TRUE(slow->Commit(held).ok());
  EXPECT_TRUE(fast->Write("now it can").ok());
}

TEST(Gating, TheSlowestGroupGatesProducersAndARemovedGroupStopsGating) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .policy = Policy::kReject, .groups = {"fast", "slow"}});
  auto p = *Producer::Attach(ring);
  auto fast = *Reader::Attach(ring, "fast");
  absl::Status last;
  const int fitted = Fill(*p, &last);
  ASSERT_EQ(fast->Poll(1000)->size(), size_t(fitted));
  ASSERT_TRUE(fast->Commit().ok());
  EXPECT_FALSE(p->Write(std::string(100, 'x')).ok()) << "'slow' still gates";
  EXPECT_EQ(ring->Stats().used_bytes, ring->Stats().tail - ring->Stats().head);
  ASSERT_TRUE(ring->RemoveGroup("slow").ok());
  EXPECT_TRUE(p->Write("x").ok()) << "removed groups do not gate";
}

TEST(Gating, WithNoGroupsProducersNeverBlock) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .policy = Policy::kBlock});
  auto p = *Producer::Attach(ring, {.block_timeout = 1ms});
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(p->Write(std::string(100, 'x')).ok());
}

}  // namespace
}  // namespace shmring
