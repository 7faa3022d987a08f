// Small helpers shared by the microbenchmarks and the cross-process harness.
#pragma once

#include <sched.h>
#include <time.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace bench {

inline uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

// Pins the calling thread (and the threads it creates later) to one CPU.
inline bool PinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof(set), &set) == 0;
}

inline void CpuRelax() { __builtin_ia32_pause(); }

// The idle strategy of every busy-polling shared-memory consumer here (shmring, the
// bare ring, iceoryx): the same for all. A consumer that caught up with its producer
// (a poll returned fewer records than it asked for, or nothing after some) waits
// kSettlePauses pauses (≈ 0.4 µs on this CPU: 25 ns each) before it polls again, so
// the producer writes its next records without the consumer pulling their cache
// lines away mid-write; otherwise one pause. A full batch (the consumer is behind)
// waits not at all. Paced traffic is unaffected: the pause follows a record, and the
// next one comes much later (bench/README.md, "consumer idle strategy").
inline constexpr int kSettlePauses = 16;
inline void Settle() {
  for (int i = 0; i < kSettlePauses; ++i) CpuRelax();
}
// For batch APIs: `got` records returned by a poll that asked for `max`.
inline void IdleAfterPoll(size_t got, size_t max) {
  if (got == 0) {
    CpuRelax();
  } else if (got < max) {
    Settle();
  }
}

// Touches every page of [p, p + n) for writing so that runs do not pay first-touch faults.
inline void Prefault(void* p, size_t n) {
  volatile char* c = static_cast<volatile char*>(p);
  for (size_t i = 0; i < n; i += 4096) c[i] = c[i];
}

inline uint64_t NextPow2(uint64_t v) {
  uint64_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

}  // namespace bench
