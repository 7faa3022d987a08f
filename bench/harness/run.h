// Runs one mechanism once: fork, pin, measure, collect.
#pragma once

#include <string>

#include "harness/mech.h"

namespace bench {

struct RunResult {
  bool ok = false;
  std::string error;
  double records_per_s = 0, gbytes_per_s = 0;
  uint64_t records = 0, errors = 0, lost = 0, dropped = 0, sent = 0;
  double blocked_ms = 0;
  Hist lat;  // merged over consumers
  std::vector<SeriesPoint> series;
};

// Producers are pinned to CPU0, consumers to CPU1.
RunResult RunOnce(Mech& m, const Params& p);

}  // namespace bench
