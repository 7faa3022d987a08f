// Futex wakeups: readers park and are woken; producers issue no wake while nobody waits.
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <thread>

#include "ring_impl.h"
#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/stats.h"
#include "test_ring.h"

namespace shmring {
namespace {

using namespace std::chrono_literals;
using testing::ScopedRingName;

TEST(Wakeups, ProducersIssueNoWakeWhileNoReaderIsParked) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 65536, .groups = {"g"}});
  auto p = *Producer::Attach(ring);
  auto rd = *Reader::Attach(ring, "g");
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(p->Write("x").ok());
    ASSERT_EQ(rd->Poll()->size(), 1u);
  }
  EXPECT_EQ(ring->Stats().wakeups, 0u);
}

// Counts the system calls the seccomp filter below trapped (the calls are not made).
std::atomic<int> trapped{0};
std::atomic<int> first_trapped{-1};
void OnSigsys(int, siginfo_t* si, void*) {
  int expected = -1;
  first_trapped.compare_exchange_strong(expected, si->si_syscall);
  trapped.fetch_add(1);
}

// In a forked child: a reader thread polls (never parks) while this thread, under a
// seccomp filter that traps every system call but the vDSO clock's fallbacks, the write
// of the result and exit, writes 20,000 records through many laps of the ring.
[[noreturn]] void ProduceUnderSeccomp(const std::string& name, int result_fd) {
  auto ring = *Ring::Open(name);
  auto p = *Producer::Attach(ring);
  auto rd = *Reader::Attach(ring, "g");
  std::atomic<uint64_t> consumed{0};
  std::thread reader([&] {  // never joined: exit_group ends it
    uint64_t n = 0;
    for (;;) {
      auto b = rd->Poll(64);
      if (!b.ok() || b->empty()) continue;
      n += b->size();
      (void)rd->Commit();
      consumed.store(n, std::memory_order_release);  // pairs with the producer's acquire spin
    }
  });
  struct sigaction sa = {};
  sa.sa_sigaction = OnSigsys;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSYS, &sa, nullptr);
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clock_gettime, 5, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_gettimeofday, 4, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_write, 3, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit_group, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_rt_sigreturn, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog = {.len = sizeof filter / sizeof filter[0], .filter = filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
    syscall(SYS_exit_group, 77);
  }
  // From here on, this thread only: 20,000 × 96 bytes through a 64 KiB ring (29 laps).
  const std::string payload(64, 'x');
  int failures = 0;
  for (uint64_t i = 1; i <= 20000; ++i) {
    if (!p->Write(payload).ok()) ++failures;
    while (consumed.load(std::memory_order_acquire) < i - failures) {  // pairs with the reader's release
    }
  }
  const int result[3] = {trapped.load(), first_trapped.load(), failures};
  if (write(result_fd, result, sizeof result) != sizeof result) syscall(SYS_exit_group, 3);
  syscall(SYS_exit_group, 0);
  __builtin_unreachable();
}

TEST(Wakeups, AProducerMakesNoSystemCallWhileNoReaderIsParked) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "TSan's runtime makes system calls of its own on the producer's thread";
#endif
  ScopedRingName n;
  ASSERT_TRUE(Ring::Create(*n, {.capacity = 65536, .groups = {"g"}}).ok());
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    ProduceUnderSeccomp(*n, fds[1]);
  }
  close(fds[1]);
  int result[3] = {-1, -1, -1};
  const ssize_t got = read(fds[0], result, sizeof result);
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child status " << status;
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "seccomp filters are not available here";
  ASSERT_EQ(WEXITSTATUS(status), 0);
  ASSERT_EQ(got, ssize_t(sizeof result));
  EXPECT_EQ(result[2], 0) << "writes failed";
  EXPECT_EQ(result[0], 0) << "the producer made " << result[0] << " system calls, the first one number " << result[1];
}

TEST(Wakeups, WaitReturnsAnEmptyBatchAtItsDeadline) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .groups = {"g"}});
  auto rd = *Reader::Attach(ring, "g", {.spin = 10});
  const auto t0 = std::chrono::steady_clock::now();
  auto b = rd->Wait(10, 30ms);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->empty());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
}

TEST(Wakeups, AParkedReaderIsWokenByACommitFromAnotherThread) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 4096, .groups = {"g"}});
  auto rd = *Reader::Attach(ring, "g", {.spin = 0});
  std::thread producer([&] {
    auto p = *Producer::Attach(ring);
    // Wait until the reader is parked, so the commit must wake it.
    while (ring->impl().control().data_waiters.load() == 0) std::this_thread::sleep_for(1ms);
    ASSERT_TRUE(p->Write("wake").ok());
  });
  auto b = rd->Wait(10, 60s);
  producer.join();
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size(), 1u);
  EXPECT_GE(ring->Stats().wakeups, 1u);
}

}  // namespace
}  // namespace shmring
