// Minimal reproductions of library bugs found by the kill -9 torture test.
// Each spawns the fault-injection worker (torture_worker.cc) armed to die at one
// exact fault point, so the interleaving is deterministic.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "ring_impl.h"
#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/stats.h"
#include "torture_common.h"

extern char** environ;

namespace shmring {
namespace {

using namespace std::chrono_literals;

// Starts the worker with `args`, armed to SIGKILL itself (or, with `stop`, to SIGSTOP
// itself) at the `n`-th hit of `point`; `extra_env` is one more NAME=VALUE or null.
pid_t StartArmed(std::vector<std::string> args, const char* point, int n, const char* extra_env, bool stop) {
  args.insert(args.begin(), SHMRING_TORTURE_WORKER_PATH);
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  env.push_back(std::string("SHMRING_FAULT_POINT=") + point);
  env.push_back("SHMRING_FAULT_KILL_AT=" + std::to_string(n));
  if (stop) env.push_back("SHMRING_FAULT_SIGNAL=STOP");
  if (extra_env != nullptr) env.push_back(extra_env);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execve(argv[0], argv.data(), envp.data());
    _exit(126);
  }
  return pid;
}

// Runs the worker (`producer RING ID 0 COUNT /dev/null`, or a consumer) armed to
// SIGKILL itself at the `kill_at`-th hit of `point`; returns once it is dead.
void RunArmed(std::vector<std::string> args, const char* point, int kill_at, const char* extra_env = nullptr) {
  const pid_t pid = StartArmed(std::move(args), point, kill_at, extra_env, false);
  ASSERT_GT(pid, 0);
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << "worker status " << st;
}

// Runs the worker armed to SIGSTOP itself at the `stop_at`-th hit of `point`; returns
// its pid once it is stopped. The caller SIGKILLs and reaps it.
pid_t RunStopped(std::vector<std::string> args, const char* point, int stop_at, const char* extra_env = nullptr) {
  const pid_t pid = StartArmed(std::move(args), point, stop_at, extra_env, true);
  int st = 0;
  EXPECT_EQ(waitpid(pid, &st, WUNTRACED), pid);
  EXPECT_TRUE(WIFSTOPPED(st)) << "worker status " << st;
  return pid;
}

void RunArmedProducer(const std::string& ring, const char* point, int kill_at, uint32_t id = 1) {
  RunArmed({"producer", ring, std::to_string(id), "0", "1000000", "/dev/null"}, point, kill_at);
}

// `shmring-torture-worker consumer RING GROUP /dev/null`, armed the same way.
void RunArmedConsumer(const std::string& ring, const std::string& group, const char* point, int kill_at) {
  RunArmed({"consumer", ring, group, "/dev/null"}, point, kill_at);
}

struct ScopedRing {
  std::string name = "shmring-repro-" + std::to_string(getpid());
  ScopedRing() { (void)Ring::Remove(name); }
  ~ScopedRing() { (void)Ring::Remove(name); }
};

// BUG 1 (wedge, found by torture seed 63931572036431): a live producer whose tail
// CAS lost the race for position t keeps its *unconfirmed* intent (claim_pos = t)
// while it parks in MakeRoom (Claim stores the intent, the CAS fails, the loop
// goes to MakeRoom without clearing it). If the producer that won t dies between
// its CAS and its busy store, the reader stuck at t calls TryReclaimAt(t) ->
// ReclaimSlotIntent(dead slot): the dead intent is unconfirmed, another slot names
// t with its lock held, so "it is theirs": nothing is reclaimed -- and then the
// dead slot's intent is cleared anyway (recovery.cc, `s.claim_len.store(0)` after
// the `if (!other_names_it)` block). No intent names t any more: no reader,
// producer attach or Ring::Recover() can ever settle it. The group is wedged
// forever, and under block every producer then blocks behind it.
//
// Here the losing producer's state (lock held, intent = {t, need}, unconfirmed) is
// set directly on a live producer's slot; in the torture run it arises from a real
// lost CAS followed by a full ring.
void DeadWinner(bool loser_names_it) {
  ScopedRing n;
  auto ring = *Ring::Create(n.name, {.capacity = 4096, .max_producers = 4, .groups = {"g"},
                                     .initial_position = 1 << 20, .stale_after_ms = 100, .evict_after_ms = 200});
  Ring::Impl& r = ring->impl();
  auto loser = *Producer::Attach(ring);  // slot 0, alive for the whole test
  ASSERT_EQ(loser->slot(), 0u);
  const uint64_t t = r.control().tail.load();
  // The winner: attaches slot 1, stores its intent, CASes the tail t -> t + need,
  // and is SIGKILLed before confirming or writing its header.
  RunArmedProducer(n.name, "claim.after_cas", 1);
  const uint64_t tail = r.control().tail.load();
  ASSERT_GT(tail, t);
  ASSERT_EQ(r.producer(1).claim_pos.load(), t);
  // The loser had stored {t, its own need} before its CAS failed; it is now parked
  // in MakeRoom with that intent still published.
  if (loser_names_it) {
    r.producer(0).claim_pos.store(t);
    r.producer(0).claim_len.store(64);
  }

  auto rd = *Reader::Attach(ring, "g");
  for (int i = 0; i < 20; ++i) (void)rd->Wait(16, 10ms);  // HeadStuck -> TryReclaimAt(t) runs
  // The loser wakes up and moves on (its next claim replaces the stale intent).
  r.producer(0).claim_len.store(0);
  ASSERT_TRUE(loser->Write("after").ok());
  auto rec = ring->Recover();
  ASSERT_TRUE(rec.ok());

  std::vector<std::string> got;
  for (int i = 0; i < 100 && got.empty(); ++i) {
    auto b = rd->Wait(16, 10ms);
    ASSERT_TRUE(b.ok());
    for (auto& v : *b) got.emplace_back(reinterpret_cast<const char*>(v.payload.data()), v.payload.size());
  }
  EXPECT_EQ(got, std::vector<std::string>{"after"})
      << "the reader is wedged at " << t << " (dead claim of slot 1, intent now "
      << r.producer(1).claim_len.load() << "); Recover settled " << rec->claims_settled;
}

TEST(TortureRepro, DeadWinnerOfAPositionIsReclaimed) { DeadWinner(false); }  // control: passes
TEST(TortureRepro, DeadWinnerOfAPositionIsNeverReclaimedWhenALiveLoserStillNamesIt) { DeadWinner(true); }

// BUG 2 (accounting did not close): a producer killed between its commit CAS and
// its `committed` counter bump published a record that was delivered but counted
// by no slot. Fixed by the counter journal (spec/RECOVERY.md §2.1): the owner now
// saves its counters and the word it is about to publish, bumps, then CASes; the
// settler of a dead slot restores the counter only if the CAS did not happen.
// The tests below kill at each step of that sequence, for the owner and for a
// reclaimer (whose ABANDONED CASes are counted the same way).
TEST(TortureRepro, ProducerKilledRightAfterItsCommitCasLeavesTheRecordUncounted) {
  ScopedRing n;
  auto ring = *Ring::Create(n.name, {.capacity = 4096, .groups = {"g"}, .initial_position = 1 << 20});
  RunArmedProducer(n.name, "commit.after_cas", 1);
  (void)ring->Recover();
  auto rd = *Reader::Attach(ring, "g");
  size_t got = 0;
  for (int i = 0; i < 50 && got == 0; ++i) got += rd->Wait(16, 10ms)->size();
  ASSERT_EQ(got, 1u) << "the committed record is delivered";
  ASSERT_TRUE(rd->Commit().ok());
  const RingStats s = ring->Stats();
  EXPECT_EQ(s.committed, s.groups[0].delivered + s.groups[0].overwritten + s.groups[0].corrupt + s.groups[0].lag_records)
      << "committed " << s.committed << ", delivered " << s.groups[0].delivered;
}

// BUG 3 (wedge, or committed records silently skipped): two DEAD producers whose
// unconfirmed intents name the same position t with different lengths. A lost its
// tail CAS at t (its intent {t, lenA} stays published while it parks in MakeRoom,
// see BUG 1) and was killed there; B won t and was killed before confirming
// (claim.after_cas). The reader stuck at t calls TryReclaimAt(t), which takes the
// lowest matching slot -- A -- and ReclaimSlotIntent(A) finds no *live or confirmed*
// intent naming t, so ReclaimRegion(t, lenA) writes one ABANDONED header of A's
// length over B's claim. lenA < lenB: the reader moves to t + lenA, inside B's
// claim; TryReclaimAt(t + lenA) -> ReclaimSlotIntent(B) -> ReclaimRegion sees a
// header naming t and, B being unconfirmed, returns 0 and clears B's intent: wedged
// forever. lenA > lenB: the ABANDONED header swallows the start of the records
// committed after B's claim and lands the reader mid-record: those records are
// never delivered nor counted, and the reader is wedged there too.
void TwoDeadIntents(bool a_longer) {
  ScopedRing n;
  auto ring = *Ring::Create(n.name, {.capacity = 4096, .max_producers = 4, .groups = {"g"},
                                     .initial_position = 1 << 20});
  Ring::Impl& r = ring->impl();
  auto p0 = *Producer::Attach(ring);  // slot 0: a live producer writing after the dead claims
  auto a = *Producer::Attach(ring);   // slot 1: A
  ASSERT_EQ(a->slot(), 1u);
  const uint64_t t = r.control().tail.load();
  RunArmedProducer(n.name, "claim.after_cas", 1);  // B: slot 2, CAS t -> t + lenB, killed
  ASSERT_EQ(r.producer(2).claim_pos.load(), t);
  const uint64_t len_b = r.control().tail.load() - t;
  ASSERT_TRUE(p0->Write("committed after the dead claims").ok());
  ASSERT_TRUE(p0->Write("and another one").ok());
  // A lost the CAS at t and parked with its intent published; then it is killed
  // (destroying the Producer releases the lock and leaves the intent, like a kill).
  r.producer(1).claim_pos.store(t);
  r.producer(1).claim_len.store(a_longer ? len_b + 48 : len_b - 8);
  a.reset();

  auto rd = *Reader::Attach(ring, "g");
  size_t got = 0;
  for (int i = 0; i < 100 && got < 2; ++i) got += rd->Wait(16, 10ms)->size();
  ASSERT_TRUE(rd->Commit().ok());
  (void)ring->Recover();
  for (int i = 0; i < 20 && got < 2; ++i) got += rd->Wait(16, 10ms)->size();
  ASSERT_TRUE(rd->Commit().ok());
  const RingStats s = ring->Stats();
  EXPECT_EQ(got, 2u) << "records committed after the dead claims, delivered";
  EXPECT_EQ(s.committed, s.groups[0].delivered + s.groups[0].overwritten + s.groups[0].corrupt + s.groups[0].lag_records)
      << "committed " << s.committed << ", delivered " << s.groups[0].delivered << ", cursor " << s.groups[0].cursor
      << ", t " << t << ", lenB " << len_b;
}

// Σ producer committed == what the group saw, and Σ abandoned == records abandoned.
void ExpectAccountingCloses(Ring& ring, uint64_t abandoned) {
  const RingStats s = ring.Stats();
  const GroupStats& g = s.groups[0];
  EXPECT_EQ(s.committed, g.delivered + g.overwritten + g.corrupt + g.lag_records)
      << "committed " << s.committed << ", delivered " << g.delivered;
  EXPECT_EQ(s.abandoned, abandoned);
  EXPECT_EQ(g.abandoned, abandoned);
}

TEST(TortureRepro, ProducerKilledAfterCountingButBeforeItsCommitCasIsNotCounted) {
  ScopedRing n;
  auto ring = *Ring::Create(n.name, {.capacity = 4096, .groups = {"g"}});
  RunArmedProducer(n.name, "counted.before_cas", 1);  // committed bumped, header still BUSY
  auto rd = *Reader::Attach(ring, "g");
  size_t got = 0;
  for (int i = 0; i < 20; ++i) got += rd->Wait(16, 10ms)->size();  // stuck head -> reclaim
  ASSERT_TRUE(rd->Commit().ok());
  EXPECT_EQ(got, 0u);
  ExpectAccountingCloses(*ring, 1);
}

TEST(TortureRepro, ReclaimerKilledAfterCountingButBeforeItsAbandonCasIsNotCounted) {
  ScopedRing n;
  auto ring = *Ring::Create(n.name, {.capacity = 4096, .groups = {"g"}});
  RunArmedProducer(n.name, "reserve.after_busy", 1);  // a dead producer's BUSY record
  RunArmedConsumer(n.name, "g", "counted.before_cas", 1);  // its reclaimer dies after counting
  ASSERT_EQ(ring->Stats().abandoned, 1u) << "the killed reclaimer counted before its CAS";
  auto rd = *Reader::Attach(ring, "g");
  for (int i = 0; i < 20; ++i) (void)rd->Wait(16, 10ms);
  ASSERT_TRUE(rd->Commit().ok());
  ExpectAccountingCloses(*ring, 1);
}

TEST(TortureRepro, ReclaimerKilledBetweenTheFieldsAndTheWordOfAnAbandonedHeaderIsRedone) {
  ScopedRing n;
  auto ring = *Ring::Create(n.name, {.capacity = 4096, .groups = {"g"}});
  RunArmedProducer(n.name, "claim.after_confirm", 1);  // claimed, nothing written: stale bytes
  RunArmedConsumer(n.name, "g", "reclaim.after_fields", 1);  // header fields written, word not
  auto rd = *Reader::Attach(ring, "g");
  for (int i = 0; i < 20; ++i) (void)rd->Wait(16, 10ms);
  ASSERT_TRUE(rd->Commit().ok());
  ExpectAccountingCloses(*ring, 1);
  EXPECT_EQ(ring->Stats().groups[0].cursor, ring->impl().control().tail.load()) << "the reader passed the claim";
}

TEST(TortureRepro, ReclaimerKilledWhileSettlingTheCounterJournalLeavesItForTheNext) {
  ScopedRing n;
  auto ring = *Ring::Create(n.name, {.capacity = 4096, .groups = {"g"}});
  RunArmedProducer(n.name, "counted.before_cas", 1);
  RunArmedConsumer(n.name, "g", "settle.before_clear", 1);  // restored the counter, died before clearing
  auto rd = *Reader::Attach(ring, "g");
  for (int i = 0; i < 20; ++i) (void)rd->Wait(16, 10ms);
  ASSERT_TRUE(rd->Commit().ok());
  ExpectAccountingCloses(*ring, 1);
}

// BUG 4 (the torture wedge): a batch owner commits its first record and dies before
// the second one's CAS. Readers pass the first record and get stuck at the second;
// other producers fill the ring behind them, reusing the first record's bytes. The
// reclaim walk began at the claim's start, found those bytes reused and stopped --
// and the intent was cleared: a BUSY record nobody could ever settle. The walk then
// learned to resume where the reader is stuck (spec/RECOVERY.md §3.4); since claim
// fences (§3.7) no byte of a claim in flight is reused at all, which this checks too.
TEST(TortureRepro, BatchOwnerKilledAfterItsFirstCommitIsReclaimedAndNoByteOfItsClaimIsReusedMeanwhile) {
  ScopedRing n;
  auto ring = *Ring::Create(n.name, {.capacity = 4096, .policy = Policy::kReject, .groups = {"g"}});
  Ring::Impl& r = ring->impl();
  auto p = *Producer::Attach(ring);  // slot 0, attached first: it never takes the dead slot over
  RunArmed({"producer", n.name, "1", "0", "1000000", "/dev/null"}, "commit.before_cas", 2,
           "SHMRING_WORKER_OP=batch");
  const uint64_t cp = r.producer(1).claim_pos.load();
  ASSERT_NE(r.producer(1).claim_len.load(), 0u) << "the batch owner died with its claim in flight";
  auto rd = *Reader::Attach(ring, "g", ReaderOptions{.auto_commit = false});
  auto first = rd->Poll(16);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u) << "the batch's first record is committed, the second is not";
  ASSERT_TRUE(rd->Commit().ok());
  size_t written = 0;
  while (p->Write("eight ch").ok()) ++written;  // reject: until the ring is full behind the stuck reader
  ASSERT_GT(written, 0u);
  ASSERT_LT(r.control().tail.load() - cp, ring->Stats().capacity) << "producers reused bytes of a claim in flight";
  size_t got = 0;
  for (int i = 0; i < 100 && got < written; ++i) {
    auto b = rd->Wait(64, 10ms);
    ASSERT_TRUE(b.ok());
    got += b->size();
    ASSERT_TRUE(rd->Commit().ok());
  }
  EXPECT_EQ(got, written) << "the reader is wedged at the dead batch's second record";
  const RingStats s = ring->Stats();
  EXPECT_GE(s.abandoned, 1u);
  EXPECT_EQ(s.committed, s.groups[0].delivered + s.groups[0].lag_records);
  EXPECT_EQ(s.abandoned, s.groups[0].abandoned);
}

TEST(TortureRepro, TwoDeadUnconfirmedIntentsAtOnePositionShorterFirstWedgesTheReader) { TwoDeadIntents(false); }
TEST(TortureRepro, TwoDeadUnconfirmedIntentsAtOnePositionLongerFirstSkipsCommittedRecords) { TwoDeadIntents(true); }

// BUG 5 (found by the torture test with claim fences): a producer stopped between its
// commit CAS and clearing its counter journal keeps its (committed) claim in flight,
// so the claim is fenced and other producers skip its bytes each lap. A skip claim
// could start 8-24 bytes before the fenced bytes, its 32-byte header then covering
// the fenced record's header word; when the stopped producer was killed, settling
// its journal read a garbage word and un-counted its commit. Claims now stay 32 bytes
// short of a full lap (PROTOCOL §3 step 3). Records of every size from 40 to 300
// bytes bring the tail to every offset before the fenced bytes.
TEST(TortureRepro, ProducerStoppedAfterItsCommitCasThenKilledIsCountedOnceAfterLapsOfFenceSkips) {
  for (int stop_at : {1, 2, 3}) {
    ScopedRing n;
    auto ring = *Ring::Create(n.name, {.capacity = 4096, .policy = Policy::kReject, .groups = {"g"}});
    auto p = *Producer::Attach(ring);  // slot 0, attached first
    const pid_t w = RunStopped({"producer", n.name, "1", "0", "1000000", "/dev/null"}, "counted.after_cas", stop_at,
                               "SHMRING_WORKER_OP=write");
    auto rd = *Reader::Attach(ring, "g", ReaderOptions{.auto_commit = false});
    size_t written = 0, got = 0;
    for (int i = 0; i < 3000; ++i) {
      if (p->Write(std::string(size_t(8 + (i * 37) % 260), 'w')).ok()) ++written;
      auto b = rd->Poll(64);
      ASSERT_TRUE(b.ok());
      got += b->size();
      ASSERT_TRUE(rd->Commit().ok());
    }
    RingStats s = ring->Stats();
    EXPECT_GT(s.fence_skips, 10u) << "stop_at " << stop_at << ": the stopped producer's claim was fenced for many laps";
    kill(w, SIGKILL);
    waitpid(w, nullptr, 0);
    ASSERT_TRUE(ring->Recover().ok());
    for (int i = 0; i < 5; ++i) {
      auto b = rd->Poll(64);
      ASSERT_TRUE(b.ok());
      got += b->size();
      ASSERT_TRUE(rd->Commit().ok());
    }
    s = ring->Stats();
    EXPECT_EQ(s.groups[0].corrupt, 0u);
    EXPECT_EQ(got, s.groups[0].delivered);
    EXPECT_EQ(s.committed, s.groups[0].delivered + s.groups[0].lag_records)
        << "stop_at " << stop_at << ": committed " << s.committed << ", delivered " << s.groups[0].delivered
        << " (the stopped producer's last commit must be counted once)";
  }
}

}  // namespace
}  // namespace shmring
