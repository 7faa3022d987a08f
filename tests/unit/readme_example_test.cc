// The C++ example in README.md, verbatim between the markers, so it stays true.
#include <gtest/gtest.h>

#include "test_ring.h"

// README-EXAMPLE-BEGIN
#include <cstdio>
#include <cstring>

#include "shmring/producer.h"
#include "shmring/reader.h"

int Example(const std::string& name) {
  using namespace shmring;
  // Create a 1 MiB ring with one consumer group (or Ring::Open an existing one).
  auto ring = Ring::Create(name, {.capacity = 1 << 20, .policy = Policy::kBlock, .groups = {"agent"}});
  if (!ring.ok()) return fprintf(stderr, "%s\n", ring.status().ToString().c_str()), 1;

  // Producer: zero-copy reserve + commit, or Write() to copy.
  auto producer = Producer::Attach(*ring);
  if (!producer.ok()) return 1;
  auto r = (*producer)->Reserve(5);
  if (!r.ok()) return 1;  // ResourceExhausted / DeadlineExceeded when full
  memcpy(r->data().data(), "hello", 5);
  if (!(*producer)->Commit(*r).ok()) return 1;
  if (!(*producer)->Write("world").ok()) return 1;

  // Consumer: one reader per group; batches are zero-copy, checksums verified.
  auto reader = Reader::Attach(*ring, "agent");
  if (!reader.ok()) return 1;
  auto batch = (*reader)->Wait(64, std::chrono::seconds(1));
  if (!batch.ok()) return 1;
  for (const RecordView& rec : *batch) {
    printf("%.*s\n", int(rec.payload.size()), reinterpret_cast<const char*>(rec.payload.data()));
  }
  return (*reader)->Commit().ok() ? 0 : 1;  // the group's cursor survives restarts
}
// README-EXAMPLE-END

TEST(Readme, TheCppExampleRuns) {
  shmring::testing::ScopedRingName n;
  EXPECT_EQ(Example(*n), 0);
  auto ring = *shmring::Ring::Open(*n);
  EXPECT_EQ(ring->Stats().groups.at(0).delivered, 2u);
}
