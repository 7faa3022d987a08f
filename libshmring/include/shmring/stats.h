// One snapshot of a ring, read live without disturbing anyone. Every tool
// renderer (text, JSON, Prometheus, health) works from this type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shmring/ring.h"

namespace shmring {

enum class Liveness { kNone, kAlive, kStale, kDead };
[[nodiscard]] SHMRING_EXPORT const char* LivenessName(Liveness l);

struct ProducerStats {
  uint32_t slot = 0;
  uint32_t generation = 0;
  int32_t pid = 0;
  uint64_t pidns = 0;
  Liveness liveness = Liveness::kNone;
  uint64_t heartbeat_age_ns = 0;
  uint64_t committed = 0, committed_bytes = 0, dropped = 0, aborted = 0;
  uint64_t blocked_ns = 0, wakeups = 0, abandoned = 0, bell_failures = 0;
  uint64_t unblocked = 0;  // of `abandoned`: records taken while the owner was alive but stale (unblock)
  bool fenced = false;     // a confirmed claim in flight that producers already skip a lap of
};

struct GroupStats {
  uint32_t slot = 0;
  std::string name;
  uint32_t generation = 0;
  int32_t pid = 0;  // reader pid, 0 when none attached
  uint64_t pidns = 0;
  Liveness liveness = Liveness::kNone;
  uint64_t heartbeat_age_ns = 0;
  uint64_t cursor = 0;
  uint64_t lag_bytes = 0;
  uint64_t lag_records = 0;  // committed (or in-flight) records between the cursor and the tail, by walking
  bool evicted = false;
  uint64_t delivered = 0, delivered_bytes = 0, corrupt = 0, overwritten = 0, evictions = 0, abandoned = 0;
};

struct RingStats {
  std::string path;
  uint16_t major = 0, minor = 0;
  uint64_t compat = 0, ro_compat = 0, incompat = 0;
  uint64_t capacity = 0;
  uint32_t max_record = 0;
  Policy policy = Policy::kBlock;
  bool checksums = false;
  uint32_t max_producers = 0, max_groups = 0;
  uint32_t stale_after_ms = 0, evict_after_ms = 0, unblock_after_ms = 0;
  int32_t creator_pid = 0;
  uint64_t created_realtime_ns = 0;
  uint64_t tail = 0;
  uint64_t head = 0;         // smallest cursor of the gating groups (tail if none)
  uint64_t used_bytes = 0;   // tail - head
  uint64_t high_water = 0;
  uint64_t evictions = 0, reclaims = 0, recoveries = 0;
  uint64_t unblocks = 0;     // stale producers' claims unblocked after unblock_after_ms
  uint64_t fence_skips = 0;  // skip records written over a lap of a claim still in flight
  // sums over producer slots
  uint64_t committed = 0, committed_bytes = 0, dropped = 0, aborted = 0, blocked_ns = 0, wakeups = 0,
           abandoned = 0, bell_failures = 0, unblocked = 0;
  std::vector<ProducerStats> producers;  // slots ever used
  std::vector<GroupStats> groups;        // named groups
};

}  // namespace shmring
