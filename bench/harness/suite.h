// The suites the harness runs and the CSV rows they write.
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "harness/mech.h"
#include "harness/run.h"

namespace bench {

struct Variant {
  std::string label;                       // e.g. "shmring", "shmring-batch", "uds-stream"
  std::function<std::unique_ptr<Mech>()> make;
  std::function<void(Params&)> tweak;      // variant-specific parameters
  bool slow = false;                       // short warm-up (e.g. one RPC per record)
};

struct Options {
  bool quick = false;
  int reps = 3;
  double duration_s = 1.0;
  std::vector<size_t> sizes{64, 256, 1024, 4096, 65536};
  std::vector<std::string> suites{"tput", "lat", "config", "overload"};
  std::vector<std::string> only;  // variant labels to run (empty: all)
  std::string out = "bench/results";
};

class Csv {
 public:
  explicit Csv(const std::string& path);
  ~Csv();
  void Row(int rep, const std::string& suite, const Variant& v, const Mech& m, const Params& p, const RunResult& r,
           double probe_before, double probe_after);
  void Raw(const std::string& line);

 private:
  FILE* f_;
};

double LoadAvg1();
// memcpy of 64 KiB blocks over 4 MiB buffers on CPU0: GB/s.
double MemcpyGBps(double seconds);

std::vector<Variant> AllVariants();
std::string NewTag();
// Runs v once with the placement probe before and after; prints a line; writes a row.
RunResult RunTagged(Csv& csv, int rep, const std::string& suite, const Variant& v, Params p);

void RunOverload(const Options& o, Csv& csv);

}  // namespace bench
