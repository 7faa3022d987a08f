// eventfd doorbells: a reader in an event loop is woken by producers in other
// processes through the socket next to the ring; no syscall while it is not armed.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "ring_impl.h"
#include "shmring/producer.h"
#include "shmring/reader.h"
#include "test_ring.h"

namespace shmring {
namespace {

using testing::ScopedRingName;
using testing::Str;

// Writes `text` from a separate process (its own producer slot and doorbell client).
void WriteFromChild(const std::string& ring, const std::string& text, int times = 1) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    auto r = Ring::Open(ring);
    if (!r.ok()) _exit(1);
    auto p = Producer::Attach(*r);
    if (!p.ok()) _exit(2);
    for (int i = 0; i < times; ++i) {
      if (!(*p)->Write(text).ok()) _exit(3);
    }
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
}

bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

TEST(Doorbell, AnArmedReadersFdBecomesReadableWhenAnotherProcessCommits) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .groups = {"g"}});
  auto rd = *Reader::Attach(ring, "g");
  auto fd = rd->DoorbellFd();
  ASSERT_TRUE(fd.ok()) << fd.status();
  for (int round = 0; round < 3; ++round) {  // first by connecting, then through the received eventfd
    ASSERT_TRUE(rd->Poll()->empty());          // arms
    EXPECT_FALSE(Readable(*fd, 0));
    WriteFromChild(*n, "ding" + std::to_string(round));
    ASSERT_TRUE(Readable(*fd, 10000)) << "round " << round;
    auto b = *rd->Poll();
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(Str(b[0].payload), "ding" + std::to_string(round));
  }
  EXPECT_GE(ring->Stats().wakeups, 3u);
  EXPECT_EQ(ring->Stats().bell_failures, 0u);
}

TEST(Doorbell, ProducersRingOnlyOncePerArmingAndNotAtAllWhileTheReaderIsBusy) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 65536, .groups = {"g"}});
  auto rd = *Reader::Attach(ring, "g");
  ASSERT_TRUE(rd->DoorbellFd().ok());
  auto p = *Producer::Attach(ring);
  ASSERT_TRUE(p->Write("x").ok());
  ASSERT_EQ(rd->Poll()->size(), 1u);  // not armed: it found a record
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p->Write("y").ok());
  EXPECT_EQ(ring->Stats().wakeups, 0u) << "no doorbell while the reader is not waiting";
  ASSERT_EQ(rd->Poll(100)->size(), 10u);
  ASSERT_TRUE(rd->Poll()->empty());  // arms
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p->Write("z").ok());
  EXPECT_EQ(ring->Stats().wakeups, 1u) << "one ring per arming";
}

TEST(Doorbell, AnUnreachableSocketIsCountedAndTheReaderStillFindsItsRecords) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .groups = {"g"}});
  auto rd = *Reader::Attach(ring, "g");
  ASSERT_TRUE(rd->DoorbellFd().ok());
  ASSERT_EQ(unlink((Ring::ResolvePath(*n) + ".g.bell").c_str()), 0);
  ASSERT_TRUE(rd->Poll()->empty());
  WriteFromChild(*n, "lost bell");
  EXPECT_EQ(ring->Stats().bell_failures, 1u);
  ASSERT_EQ(rd->Poll()->size(), 1u);
}

// A reader killed while serving a doorbell leaves its socket (RING.GROUP.bell).
void ReaderDiesWithItsDoorbell(const std::string& ring, const char* group) {
  pid_t pid = fork();
  if (pid == 0) {
    auto r = *Ring::Open(ring);
    auto rd = *Reader::Attach(r, group);
    (void)rd->DoorbellFd();
    _exit(0);  // no destructors: like kill -9
  }
  int st;
  waitpid(pid, &st, 0);
}

TEST(Doorbell, RemovingTheGroupOrTheRingRemovesTheSocketADeadReaderLeft) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .groups = {"g", "h.x"}});
  const std::string base = Ring::ResolvePath(*n);
  ReaderDiesWithItsDoorbell(*n, "g");
  ReaderDiesWithItsDoorbell(*n, "h.x");
  ASSERT_EQ(access((base + ".g.bell").c_str(), F_OK), 0) << "the dead reader's doorbell socket is left";
  ASSERT_EQ(access((base + ".h.x.bell").c_str(), F_OK), 0);
  ASSERT_TRUE(ring->RemoveGroup("g").ok());
  EXPECT_NE(access((base + ".g.bell").c_str(), F_OK), 0) << "RemoveGroup removes the group's socket";
  ASSERT_TRUE(Ring::Remove(*n).ok());
  EXPECT_NE(access((base + ".h.x.bell").c_str(), F_OK), 0) << "Remove removes every group's socket";
  EXPECT_NE(access(base.c_str(), F_OK), 0);
}

TEST(Doorbell, AReaderThatDiedArmedLeavesNoProducerOnTheSlowPath) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .groups = {"g"}});
  pid_t pid = fork();
  if (pid == 0) {
    auto r = *Ring::Open(*n);
    auto rd = *Reader::Attach(r, "g");
    (void)rd->DoorbellFd();
    (void)rd->Poll();  // armed
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  EXPECT_EQ(ring->impl().control().bell_waiters.load(), 1u);
  auto rd = *Reader::Attach(ring, "g");
  EXPECT_EQ(ring->impl().control().bell_waiters.load(), 0u) << "the next reader clears the dead one's arming";
  WriteFromChild(*n, "after");
  EXPECT_EQ(rd->Poll()->size(), 1u);
}

}  // namespace
}  // namespace shmring
