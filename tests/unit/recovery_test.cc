// Recovery: claims of dead producers are reclaimed; dead readers stop gating and
// a restarted reader resumes, told what it lost.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
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

// Runs `body` in a child process that dies with _exit (no destructors: like kill -9).
template <typename F>
void InChildThatDies(F body) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    body();
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "child status " << st;
}

TEST(Recovery, AClaimOfAProducerThatDiedMidWriteIsReclaimedAndCountedAsAbandoned) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .groups = {"g"}});
  auto p = *Producer::Attach(ring);
  ASSERT_TRUE(p->Write("before").ok());
  InChildThatDies([&] {
    auto ring2 = *Ring::Open(*n);
    auto dying = *Producer::Attach(ring2);
    auto r = *dying->Reserve(50);
    memset(r.data().data(), 'X', 25);  // half written
    _exit(0);
  });
  ASSERT_TRUE(p->Write("after").ok());
  auto rd = *Reader::Attach(ring, "g");
  std::vector<std::string> got;
  for (int i = 0; i < 1000 && got.size() < 2; ++i) {
    auto b = rd->Wait(10, 100ms);
    ASSERT_TRUE(b.ok());
    for (auto& v : *b) got.push_back(Str(v.payload));
  }
  ASSERT_EQ(got, (std::vector<std::string>{"before", "after"})) << "the dead claim does not wedge the reader";
  ASSERT_TRUE(rd->Commit().ok());
  auto st = ring->Stats();
  EXPECT_EQ(st.abandoned, 1u);
  EXPECT_EQ(st.groups[0].abandoned, 1u);
  EXPECT_EQ(st.reclaims, 1u);
  EXPECT_EQ(st.groups[0].delivered, st.committed);
}

TEST(Recovery, ADeadProducersBatchClaimIsReclaimedAndItsCommittedPartIsNotLost) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .groups = {"g"}});
  InChildThatDies([&] {
    auto ring2 = *Ring::Open(*n);
    auto dying = *Producer::Attach(ring2);
    std::vector<uint32_t> lens = {10, 20, 30};
    auto b = *dying->ReserveBatch(lens);
    _exit(0);
  });
  auto p = *Producer::Attach(ring);  // may take over the dead slot and settle it
  ASSERT_TRUE(p->Write("after").ok());
  auto rd = *Reader::Attach(ring, "g");
  std::vector<std::string> got;
  for (int i = 0; i < 1000 && got.empty(); ++i) {
    auto b = rd->Wait(10, 100ms);
    for (auto& v : *b) got.push_back(Str(v.payload));
  }
  ASSERT_EQ(got, std::vector<std::string>{"after"});
  ASSERT_TRUE(rd->Commit().ok());
  EXPECT_EQ(ring->Stats().groups[0].abandoned, 3u);
}

TEST(Recovery, RecoverSettlesTheClaimsOfEveryDeadProducerAndVerifyThenPasses) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .groups = {"g"}});
  for (int k = 0; k < 2; ++k) {
    InChildThatDies([&] {
      auto ring2 = *Ring::Open(*n);
      auto dying = *Producer::Attach(ring2);
      (void)dying->Write("committed");
      auto r = *dying->Reserve(40);
      _exit(0);
    });
  }
  EXPECT_EQ(ring->Verify().in_flight, 1u) << "the dead producer's busy record";
  auto rep = ring->Recover();
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_EQ(rep->claims_settled, 1u) << "the second child took over the first one's slot and settled it";
  EXPECT_EQ(rep->slots_freed, 1u) << "the dead producers' one slot";
  for (const ProducerStats& p : ring->Stats().producers) {
    EXPECT_EQ(p.liveness, Liveness::kNone) << "slot " << p.slot << " is free again, not listed as dead";
  }
  EXPECT_EQ(ring->Stats().abandoned, 2u);
  VerifyReport v = ring->Verify();
  EXPECT_TRUE(v.ok()) << v.problems[0];
  EXPECT_EQ(v.records, 2u);
  EXPECT_EQ(v.abandoned, 2u);
  EXPECT_EQ(v.in_flight, 0u);
  EXPECT_EQ(ring->Stats().recoveries, 1u);
}

TEST(Recovery, AProducerSlotOfADeadOwnerIsReusedAndItsLivenessShowsDead) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .max_producers = 1, .groups = {"g"}});
  InChildThatDies([&] {
    auto ring2 = *Ring::Open(*n);
    auto dying = *Producer::Attach(ring2);
    (void)dying->Write("from the dead");
    _exit(0);
  });
  auto st = ring->Stats();
  ASSERT_EQ(st.producers.size(), 1u);
  EXPECT_EQ(st.producers[0].liveness, Liveness::kDead);
  auto p = Producer::Attach(ring);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(ring->Stats().producers[0].liveness, Liveness::kAlive);
  EXPECT_EQ(Producer::Attach(ring).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(Recovery, ADeadReaderStopsGatingAfterEvictAfterAndARestartResumesToldWhatItLost) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .policy = Policy::kBlock, .groups = {"g"},
                                 .evict_after_ms = 100});
  auto p = *Producer::Attach(ring, {.block_timeout = 30s});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(p->Write("r" + std::to_string(i)).ok());
  InChildThatDies([&] {
    auto ring2 = *Ring::Open(*n);
    auto rd = *Reader::Attach(ring2, "g", {.auto_commit = false});
    (void)rd->Poll(2);
    (void)rd->Commit();  // committed r0, r1
    _exit(0);
  });
  // The ring fills; the dead reader's group is evicted after 100 ms and stops gating.
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 3; i < 200; ++i) ASSERT_TRUE(p->Write("r" + std::to_string(i) + std::string(60, '.')).ok()) << i;
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms) << "gated until evict_after";
  auto st = ring->Stats();
  EXPECT_TRUE(st.groups[0].evicted);
  EXPECT_EQ(st.groups[0].evictions, 1u);
  EXPECT_EQ(st.groups[0].liveness, Liveness::kDead);
  auto rd = *Reader::Attach(ring, "g");
  EXPECT_GT(rd->attach_report().lost_while_away, 0u);
  auto b = *rd->Poll(1000);
  ASSERT_FALSE(b.empty());
  const std::string first = Str(b[0].payload);
  EXPECT_EQ(Str(b.back().payload).substr(0, 4), "r199");
  ASSERT_TRUE(rd->Commit().ok());
  st = ring->Stats();
  EXPECT_FALSE(st.groups[0].evicted) << "a live reader gates again";
  EXPECT_EQ(st.groups[0].delivered + st.groups[0].overwritten, st.committed) << "r0, r1 counted when the first reader committed them";
}

TEST(Recovery, ALiveButSlowReaderIsNeverEvicted) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .policy = Policy::kBlock, .groups = {"g"},
                                 .evict_after_ms = 1});
  auto rd = *Reader::Attach(ring, "g");
  auto p = *Producer::Attach(ring, {.block_timeout = 50ms});
  absl::Status s;
  for (int i = 0; i < 100 && s.ok(); ++i) s = p->Write(std::string(100, 'x'));
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(ring->Stats().groups[0].evictions, 0u);
}

}  // namespace
}  // namespace shmring
