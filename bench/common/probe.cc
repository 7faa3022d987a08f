#include "common/probe.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "common/util.h"

namespace bench {

double ProbeRoundTripNs(int cpu_a, int cpu_b, int trips, int batches) {
  // A MAP_SHARED page: the same kind of memory the rings live in.
  void* mem = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return -1;
  auto* line = new (mem) std::atomic<uint64_t>(0);
  std::vector<double> res;
  std::thread echo([&] {
    PinToCpu(cpu_b);
    uint64_t expect = 1;
    const uint64_t total = uint64_t(trips) * uint64_t(batches + 1);
    for (uint64_t i = 0; i < total; ++i, expect += 2) {
      while (line->load(std::memory_order_acquire) != expect) CpuRelax();
      line->store(expect + 1, std::memory_order_release);
    }
  });
  PinToCpu(cpu_a);
  uint64_t v = 0;
  for (int b = 0; b <= batches; ++b) {  // batch 0 is a warm-up
    const uint64_t t0 = NowNs();
    for (int i = 0; i < trips; ++i) {
      line->store(v + 1, std::memory_order_release);
      while (line->load(std::memory_order_acquire) != v + 2) CpuRelax();
      v += 2;
    }
    if (b) res.push_back(double(NowNs() - t0) / trips);
  }
  echo.join();
  munmap(mem, 4096);
  // The fastest batch: a batch the scheduler interrupted says nothing about placement.
  return *std::min_element(res.begin(), res.end());
}

std::string PlacementClass(double rtt) {
  if (rtt < 0) return "unknown";
  if (rtt < 80) return "smt";
  if (rtt < 250) return "l3";
  return "die";
}

}  // namespace bench
