// The placement probe: a cache-line round trip between CPU0 and CPU1.
// One thread on each CPU bounces a counter on one shared cache line; the result
// is the fastest of several short batches, in ns per round trip (short batches and
// the minimum keep preemption on a busy machine out of the placement reading). On these VMs it falls
// in bands (~55 ns: SMT siblings, ~115 ns: shared L3, ~490 ns: across dies).
#pragma once

#include <cstdint>
#include <string>

namespace bench {

// ns per round trip (fastest of `batches` batches of `trips` round trips each).
double ProbeRoundTripNs(int cpu_a = 0, int cpu_b = 1, int trips = 2000, int batches = 11);

// "smt" (< 80 ns), "l3" (< 250 ns) or "die" (otherwise).
std::string PlacementClass(double rtt_ns);

}  // namespace bench
