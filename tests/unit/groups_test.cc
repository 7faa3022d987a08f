// Consumer groups: independent cursors, one reader each, restart, fencing.
#include <gtest/gtest.h>

#include <string>

#include "layout.h"
#include "ring_impl.h"
#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/stats.h"
#include "test_ring.h"

namespace shmring {
namespace {

using testing::ScopedRingName;
using testing::Str;

TEST(Groups, SixteenGroupsEachSeeEveryRecord) {
  ScopedRingName n;
  CreateOptions o{.capacity = 65536};
  for (int i = 0; i < 16; ++i) o.groups.push_back("g" + std::to_string(i));
  auto ring = *Ring::Create(*n, o);
  auto p = *Producer::Attach(ring);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(p->Write(std::to_string(i)).ok());
  for (int g = 0; g < 16; ++g) {
    auto rd = *Reader::Attach(ring, "g" + std::to_string(g));
    auto b = *rd->Poll(100);
    ASSERT_EQ(b.size(), 50u);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(Str(b[i].payload), std::to_string(i));
  }
  for (const GroupStats& g : ring->Stats().groups) EXPECT_EQ(g.delivered, 50u) << g.name;
}

TEST(Groups, ASecondReaderOfTheSameGroupIsRefusedWhileTheFirstLives) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .groups = {"g"}});
  auto first = *Reader::Attach(ring, "g");
  auto second = Reader::Attach(ring, "g");
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("live reader"), std::string::npos) << second.status();
  first.reset();
  EXPECT_TRUE(Reader::Attach(ring, "g").ok());
}

TEST(Groups, AnUnknownGroupIsNotFoundAndTheErrorListsTheGroups) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .groups = {"alpha", "beta"}});
  auto r = Reader::Attach(ring, "gamma");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("alpha, beta"), std::string::npos) << r.status();
}

TEST(Groups, AnAddedGroupStartsAtTheTailAndARemovedSlotIsReused) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .max_groups = 1});
  auto p = *Producer::Attach(ring);
  ASSERT_TRUE(p->Write("before").ok());
  ASSERT_TRUE(ring->AddGroup("late").ok());
  EXPECT_EQ(ring->AddGroup("late").status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ring->AddGroup("other").status().code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(p->Write("after").ok());
  {
    auto rd = *Reader::Attach(ring, "late");
    auto b = *rd->Poll();
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(Str(b[0].payload), "after");
    EXPECT_EQ(ring->RemoveGroup("late").code(), absl::StatusCode::kFailedPrecondition) << "its reader is live";
  }
  ASSERT_TRUE(ring->RemoveGroup("late").ok());
  EXPECT_TRUE(ring->AddGroup("other").ok());
  EXPECT_EQ(ring->Stats().groups.at(0).delivered, 0u) << "a reused slot starts with fresh counters";
}

TEST(Groups, ARestartedReaderResumesFromTheCommittedCursorAndSeesUncommittedRecordsAgain) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .groups = {"g"}});
  auto p = *Producer::Attach(ring);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p->Write(std::to_string(i)).ok());
  {
    auto rd = *Reader::Attach(ring, "g", {.auto_commit = false});
    ASSERT_EQ(rd->Poll(4)->size(), 4u);
    ASSERT_TRUE(rd->Commit().ok());
    ASSERT_EQ(rd->Poll(3)->size(), 3u);  // never committed
  }
  auto rd = *Reader::Attach(ring, "g");
  auto b = *rd->Poll(100);
  ASSERT_EQ(b.size(), 6u);
  EXPECT_EQ(Str(b[0].payload), "4") << "at-least-once: the uncommitted batch comes again";
}

TEST(Groups, AutoCommitCommitsThePreviousBatchAtTheNextPoll) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .groups = {"g"}});
  auto p = *Producer::Attach(ring);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(p->Write("x").ok());
  auto rd = *Reader::Attach(ring, "g");
  ASSERT_EQ(rd->Poll(2)->size(), 2u);
  EXPECT_EQ(ring->Stats().groups[0].delivered, 0u);
  ASSERT_EQ(rd->Poll(2)->size(), 1u);
  EXPECT_EQ(ring->Stats().groups[0].delivered, 2u);
}

TEST(Groups, AReaderWhoseGroupWasTakenOverIsFencedFromCommitting) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .groups = {"g"}});
  auto p = *Producer::Attach(ring);
  ASSERT_TRUE(p->Write("a").ok());
  auto zombie = *Reader::Attach(ring, "g", {.auto_commit = false});
  ASSERT_EQ(zombie->Poll()->size(), 1u);
  // A newer reader took the group over (as after the zombie's lease was lost):
  // its generation tag replaces the zombie's in the cursor word.
  auto& cursor = ring->impl().group(0).cursor;
  const uint64_t w = cursor.load();
  cursor.store((w & ~layout::kCursorTagMask) | ((w + 1) & layout::kCursorGenMask));
  const absl::Status s = zombie->Commit();
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted) << s;
  EXPECT_NE(s.message().find("fenced"), std::string::npos);
  EXPECT_EQ(ring->Stats().groups[0].delivered, 0u);
}

}  // namespace
}  // namespace shmring
