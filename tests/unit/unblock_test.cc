// Stale (alive but stopped) producers: their claims are unblocked after
// unblock_after_ms, their late commits fail, and nothing they write late is ever
// delivered or lands in another record (claim fences, spec/RECOVERY.md §3.7).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/stats.h"
#include "test_ring.h"

namespace shmring {
namespace {

using namespace std::chrono_literals;
using testing::ScopedRingName;
using testing::Str;
using Clock = std::chrono::steady_clock;

constexpr size_t kLateLen = 100;

// Exit codes of the stopped child, after SIGCONT.
enum ChildExit { kAsExpected = 0, kCommitSucceeded = 10, kWrongError = 11, kWriteFailed = 12, kSetupFailed = 13 };

// A child process that attaches a producer, reserves (one record, or a batch of
// three), and stops itself (SIGSTOP) holding the reservation: alive, its lock held,
// no heartbeat. After SIGCONT it fills its span(s) with 'L', commits, and exits
// kAsExpected if the commit's outcome is `expect_aborted`'s; then it writes
// "child-after" (which must be delivered) unless `expect_aborted` is false.
class StoppedChild {
 public:
  StoppedChild(const std::string& ring, bool batch, bool expect_aborted) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      close(fds[0]);
      _exit(Child(ring, batch, expect_aborted, fds[1]));
    }
    close(fds[1]);
    char c = 0;
    EXPECT_EQ(read(fds[0], &c, 1), 1) << "the child reserved";
    close(fds[0]);
    int st = 0;
    EXPECT_EQ(waitpid(pid_, &st, WUNTRACED), pid_);
    EXPECT_TRUE(WIFSTOPPED(st)) << "the child stopped itself holding its reservation";
  }
  ~StoppedChild() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  // SIGCONT and wait for the exit code.
  int Continue() {
    kill(pid_, SIGCONT);
    int st = 0;
    EXPECT_EQ(waitpid(pid_, &st, 0), pid_);
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  void Kill() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  pid_t pid() const { return pid_; }

 private:
  static int Child(const std::string& name, bool batch, bool expect_aborted, int ready) {
    auto ring = Ring::Open(name);
    if (!ring.ok()) return kSetupFailed;
    auto p = Producer::Attach(*ring);
    if (!p.ok()) return kSetupFailed;
    absl::Status s;
    if (batch) {
      const uint32_t lens[] = {10, 20, 30};
      auto b = (*p)->ReserveBatch(lens);
      if (!b.ok() || write(ready, "r", 1) != 1) return kSetupFailed;
      raise(SIGSTOP);
      for (size_t i = 0; i < 3; ++i) memset(b->data(i).data(), 'L', b->data(i).size());  // late writes
      s = (*p)->Commit(*b);
    } else {
      auto r = (*p)->Reserve(kLateLen);
      if (!r.ok() || write(ready, "r", 1) != 1) return kSetupFailed;
      raise(SIGSTOP);
      memset(r->data().data(), 'L', kLateLen);  // late writes
      s = (*p)->Commit(*r);
    }
    if (!expect_aborted) return s.ok() ? kAsExpected : kWrongError;
    if (s.ok()) return kCommitSucceeded;
    if (!absl::IsAborted(s) || s.message().find("unblock") == std::string::npos) return kWrongError;
    return (*p)->Write("child-after").ok() ? kAsExpected : kWriteFailed;
  }

  pid_t pid_ = -1;
};

CreateOptions Opts(Policy policy, uint32_t unblock_ms) {
  CreateOptions o;
  o.capacity = 4096;
  o.policy = policy;
  o.groups = {"g"};
  o.stale_after_ms = 100;
  o.unblock_after_ms = unblock_ms;
  return o;
}

// Reads until `want` is among the payloads (or `limit` passes); returns them all.
std::vector<std::string> ReadUntil(Reader& rd, const std::string& want, std::chrono::seconds limit = 20s) {
  std::vector<std::string> got;
  const auto until = Clock::now() + limit;
  bool seen = false;
  while (!seen && Clock::now() < until) {
    auto b = rd.Wait(64, 20ms);
    EXPECT_TRUE(b.ok()) << b.status();
    if (!b.ok()) break;
    for (auto& v : *b) {
      got.push_back(Str(v.payload));
      seen |= got.back() == want;
    }
    EXPECT_TRUE(rd.Commit().ok());
  }
  return got;
}

const ProducerStats* SlotOf(const RingStats& s, pid_t pid) {
  for (const ProducerStats& p : s.producers)
    if (p.pid == pid) return &p;
  return nullptr;
}

bool AnyLate(const std::vector<std::string>& got) {
  for (const std::string& s : got)
    if (s.find("LLLL") != std::string::npos) return true;
  return false;
}

TEST(Unblock, AStoppedProducersClaimIsUnblockedAfterTheTimeoutAndItsLateCommitFailsAndIsNeverDelivered) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, Opts(Policy::kBlock, 300));
  auto p = *Producer::Attach(ring);
  ASSERT_TRUE(p->Write("before").ok());
  StoppedChild child(*n, /*batch=*/false, /*expect_aborted=*/true);
  ASSERT_TRUE(p->Write("after-0").ok());
  auto rd = *Reader::Attach(ring, "g");
  const auto t0 = Clock::now();
  std::vector<std::string> got = ReadUntil(*rd, "after-0");
  const auto waited = Clock::now() - t0;
  ASSERT_EQ(got, (std::vector<std::string>{"before", "after-0"})) << "the reader moved past the stopped claim";
  EXPECT_GE(waited, 250ms) << "not before the unblock timeout (300 ms, of which the reader waited most)";
  RingStats s = ring->Stats();
  EXPECT_EQ(s.unblocks, 1u);
  EXPECT_EQ(s.unblocked, 1u);
  EXPECT_EQ(s.abandoned, 1u) << "an unblocked record is counted as abandoned";
  const ProducerStats* cs = SlotOf(s, child.pid());
  ASSERT_NE(cs, nullptr);
  EXPECT_NE(cs->liveness, Liveness::kDead) << "stopped is not dead";
  EXPECT_EQ(cs->unblocked, 1u);

  // Lap the ring several times while the child is still stopped: its claim's bytes
  // are skipped each lap, never handed to another record.
  for (int i = 0; i < 200; ++i) {
    const std::string rec = "lap-" + std::to_string(i) + std::string(40, '.');
    ASSERT_TRUE(p->Write(rec).ok()) << "write " << i;
    auto b = rd->Poll(64);
    ASSERT_TRUE(b.ok());
    for (auto& v : *b) got.push_back(Str(v.payload));
    ASSERT_TRUE(rd->Commit().ok());
  }
  s = ring->Stats();
  EXPECT_GT(s.tail, 4 * s.capacity) << "the ring wrapped several times";
  EXPECT_GE(s.fence_skips, 3u) << "each lap skipped the stopped producer's bytes";
  cs = SlotOf(s, child.pid());
  ASSERT_NE(cs, nullptr);
  EXPECT_TRUE(cs->fenced);
  EXPECT_TRUE(ring->Verify().ok());

  EXPECT_EQ(child.Continue(), kAsExpected) << "the late commit must fail with ABORTED naming the unblock";
  std::vector<std::string> rest = ReadUntil(*rd, "child-after");
  got.insert(got.end(), rest.begin(), rest.end());
  EXPECT_EQ(got.back(), "child-after") << "the producer works after its failed commit";
  EXPECT_FALSE(AnyLate(got)) << "a late write reached a delivered record";
  EXPECT_EQ(got.size(), 2u + 200u + 1u);
  s = ring->Stats();
  EXPECT_EQ(s.groups[0].corrupt, 0u) << "late writes never corrupted another record";
  EXPECT_EQ(s.committed, s.groups[0].delivered + s.groups[0].lag_records);
  EXPECT_EQ(s.groups[0].abandoned, 1u);
  for (const ProducerStats& q : s.producers) EXPECT_FALSE(q.fenced) << "slot " << q.slot;
  EXPECT_TRUE(ring->Verify().ok());
}

TEST(Unblock, AStopShorterThanTheUnblockTimeoutTakesNothing) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, Opts(Policy::kBlock, 10000));
  auto p = *Producer::Attach(ring);
  StoppedChild child(*n, /*batch=*/false, /*expect_aborted=*/false);
  ASSERT_TRUE(p->Write("after").ok());
  auto rd = *Reader::Attach(ring, "g");
  const auto until = Clock::now() + 500ms;  // a stop far shorter than the 10 s timeout
  while (Clock::now() < until) {
    auto b = rd->Wait(64, 20ms);
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE(b->empty()) << "nothing passes a claim that is only slow";
  }
  EXPECT_EQ(ring->Stats().unblocks, 0u);
  EXPECT_EQ(child.Continue(), kAsExpected) << "its commit succeeds";
  std::vector<std::string> got = ReadUntil(*rd, "after");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::string(kLateLen, 'L'));
  EXPECT_EQ(ring->Stats().abandoned, 0u);
}

TEST(Unblock, AStoppedBatchIsUnblockedWholeAndItsCommitFails) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, Opts(Policy::kReject, 300));
  auto p = *Producer::Attach(ring);
  StoppedChild child(*n, /*batch=*/true, /*expect_aborted=*/true);
  ASSERT_TRUE(p->Write("after").ok());
  auto rd = *Reader::Attach(ring, "g");
  std::vector<std::string> got = ReadUntil(*rd, "after");
  ASSERT_EQ(got, std::vector<std::string>{"after"});
  RingStats s = ring->Stats();
  EXPECT_EQ(s.unblocks, 1u) << "one unblock for the whole batch";
  EXPECT_EQ(s.unblocked, 3u);
  EXPECT_EQ(s.groups[0].abandoned, 3u);
  EXPECT_EQ(child.Continue(), kAsExpected);
  got = ReadUntil(*rd, "child-after");
  EXPECT_EQ(got, std::vector<std::string>{"child-after"});
  EXPECT_EQ(ring->Stats().committed, ring->Stats().groups[0].delivered);
}

TEST(Unblock, AStoppedProducerKilledAfterItsUnblockStopsFencingItsBytes) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, Opts(Policy::kBlock, 300));
  auto p = *Producer::Attach(ring);
  StoppedChild child(*n, /*batch=*/false, /*expect_aborted=*/true);
  ASSERT_TRUE(p->Write("after").ok());
  auto rd = *Reader::Attach(ring, "g");
  ASSERT_EQ(ReadUntil(*rd, "after"), std::vector<std::string>{"after"});
  child.Kill();
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(p->Write("lap-" + std::to_string(i) + std::string(40, '.')).ok()) << "write " << i;
    ASSERT_TRUE(rd->Poll(64).ok());
    ASSERT_TRUE(rd->Commit().ok());
  }
  const RingStats s = ring->Stats();
  EXPECT_GT(s.tail, 5 * s.capacity);
  EXPECT_LE(s.fence_skips, 1u) << "a dead owner's fence goes at the next lap";
  for (const ProducerStats& q : s.producers) EXPECT_FALSE(q.fenced) << "slot " << q.slot;
  EXPECT_EQ(s.unblocked, 1u);
  EXPECT_EQ(s.abandoned, 1u) << "the record is counted once";
  EXPECT_EQ(s.committed, s.groups[0].delivered + s.groups[0].lag_records);
  EXPECT_TRUE(ring->Verify().ok());
}

TEST(Unblock, OverwritingProducersAreUnblockedToo) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, Opts(Policy::kOverwrite, 300));  // group g has no reader at all
  auto p = *Producer::Attach(ring);
  StoppedChild child(*n, /*batch=*/false, /*expect_aborted=*/true);
  size_t ok = 0, dropped = 0;
  const auto until = Clock::now() + 20s;
  while (ok < 200 && Clock::now() < until) {
    absl::Status s = p->Write("rec" + std::string(40, '.'));
    if (s.ok()) {
      ++ok;
    } else {
      ASSERT_TRUE(absl::IsResourceExhausted(s)) << s;  // the stopped record is in the way until unblocked
      ++dropped;
      std::this_thread::sleep_for(1ms);
    }
  }
  EXPECT_EQ(ok, 200u) << "producers lap the ring once the stopped claim is unblocked";
  EXPECT_GT(dropped, 0u) << "before the timeout the stopped record could not be overwritten";
  const RingStats s = ring->Stats();
  EXPECT_EQ(s.unblocks, 1u);
  EXPECT_EQ(child.Continue(), kAsExpected);
  EXPECT_TRUE(ring->Verify().ok());
}

}  // namespace
}  // namespace shmring
