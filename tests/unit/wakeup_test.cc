// Futex wakeups: readers park and are woken; producers issue no wake while nobody waits.
#include <gtest/gtest.h>

#include <chrono>
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
