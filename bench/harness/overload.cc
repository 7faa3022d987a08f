// Overload: producers offer lambda records/s, the consumer serves mu < lambda
// (fixed busy work per record). For shmring's block, reject and overwrite
// policies, and a UDS stream pipeline (which can only block), record the queue
// depth, drops, producer blocked time and latency over time, and check Little's
// law: mean depth L against lambda_delivered * W (W: mean wait before service).
#include <cstdio>

#include "common/probe.h"
#include "harness/suite.h"

namespace bench {

namespace {

struct Scenario {
  std::string name;
  Variant v;
  std::string policy;
};

}  // namespace

void RunOverload(const Options& o, Csv& csv) {
  const uint64_t pace_ns = 5'000;   // lambda = 200 k records/s
  const uint64_t work_ns = 10'000;  // mu = 100 k records/s
  const size_t size = 256;
  const uint64_t capacity = 64 << 10;  // 227 records of 256 B
  const double dur = o.quick ? 1.0 : 3.0;
  printf("# suite overload: %zu B records, lambda %.0f/s offered, mu %.0f/s served, ring %llu KiB\n", size,
         1e9 / double(pace_ns), 1e9 / double(work_ns), (unsigned long long)(capacity >> 10));
  std::vector<Scenario> sc;
  for (const char* pol : {"block", "reject", "overwrite"}) {
    sc.push_back({std::string("shmring-") + pol, {std::string("shmring-") + pol, MakeShmring, nullptr}, pol});
  }
  sc.push_back({"uds-stream", {"uds-stream", MakeUdsStream, nullptr}, "block"});
  FILE* sum = fopen((o.out + "/overload_summary.csv").c_str(), "w");
  if (sum) {
    fprintf(sum,
            "scenario,lambda_offered,mu,duration_s,offered,sent,delivered,dropped,overwritten,loss_rate,mean_depth,"
            "max_depth,lambda_delivered,W_mean_us,little_L_pred,little_ratio,p50_us,p99_us,p999_us,max_us,"
            "blocked_ms,blocked_frac,probe_before_ns,probe_after_ns\n");
  }
  for (auto& s : sc) {
    Params p;
    p.size = size;
    p.pace_ns = pace_ns;
    p.work_ns = work_ns;
    p.capacity = capacity;
    p.depth = capacity / (size + 32);  // UDS: a socket buffer sized for the same number of records
    p.policy = s.policy;
    p.duration_s = dur;
    p.warm = 0;
    p.stamp_every = 1;
    p.series = true;
    const double pb = ProbeRoundTripNs();
    std::unique_ptr<Mech> m = s.v.make();
    p.tag = NewTag();
    RunResult r = RunOnce(*m, p);
    const double pa = ProbeRoundTripNs();
    csv.Row(0, "overload", s.v, *m, p, r, pb, pa);
    FILE* f = fopen((o.out + "/overload_" + s.name + ".csv").c_str(), "w");
    double depth_sum = 0;
    uint64_t depth_max = 0;
    size_t nd = 0;
    if (f) fprintf(f, "t_ms,produced,consumed,dropped,overwritten,depth,loss_rate_window,blocked_ms,p50_us,p99_us,p999_us\n");
    uint64_t prev_prod = 0, prev_drop = 0, prev_lost = 0;
    for (const SeriesPoint& sp : r.series) {
      const uint64_t depth = sp.produced > sp.consumed + sp.lost ? sp.produced - sp.consumed - sp.lost : 0;
      const uint64_t offered_w = (sp.produced - prev_prod) + (sp.dropped - prev_drop);
      const double loss_w = offered_w ? double((sp.dropped - prev_drop) + (sp.lost - prev_lost)) / double(offered_w) : 0;
      prev_prod = sp.produced;
      prev_drop = sp.dropped;
      prev_lost = sp.lost;
      if (f)
        fprintf(f, "%.1f,%llu,%llu,%llu,%llu,%llu,%.4f,%.2f,%.1f,%.1f,%.1f\n", sp.t_ns / 1e6,
                (unsigned long long)sp.produced, (unsigned long long)sp.consumed, (unsigned long long)sp.dropped,
                (unsigned long long)sp.lost, (unsigned long long)depth, loss_w, sp.blocked_ns / 1e6, sp.p50 / 1e3,
                sp.p99 / 1e3, sp.p999 / 1e3);
      // Steady state: skip the first 20% of the run.
      if (sp.t_ns > uint64_t(0.2 * dur * 1e9)) {
        depth_sum += double(depth);
        depth_max = std::max(depth_max, depth);
        ++nd;
      }
    }
    if (f) fclose(f);
    const double mean_depth = nd ? depth_sum / double(nd) : 0;
    const double lam_del = r.records_per_s;
    const double w_s = r.lat.mean() / 1e9;
    const double pred = lam_del * w_s;
    const uint64_t offered = r.sent + r.dropped;
    const double loss = offered ? double(r.dropped + r.lost) / double(offered) : 0;
    printf("overload %-18s offered %8llu sent %8llu delivered %8llu dropped %7llu overwritten %7llu (loss %.1f%%)  "
           "depth mean %.0f max %llu  lambda_del %.0f/s W %.0f us -> L=lambda*W %.0f (ratio %.2f)  p99 %.0f us p99.9 %.0f us "
           "blocked %.0f ms  probe %.0f/%.0f%s%s\n",
           s.name.c_str(), (unsigned long long)offered, (unsigned long long)r.sent, (unsigned long long)r.records,
           (unsigned long long)r.dropped, (unsigned long long)r.lost, 100 * loss, mean_depth,
           (unsigned long long)depth_max, lam_del, w_s * 1e6, pred, mean_depth > 0 ? pred / mean_depth : 0,
           r.lat.Quantile(0.99) / 1e3, r.lat.Quantile(0.999) / 1e3, r.blocked_ms, pb, pa, r.ok ? "" : " FAILED: ",
           r.ok ? "" : r.error.c_str());
    if (sum)
      fprintf(sum, "%s,%.0f,%.0f,%.1f,%llu,%llu,%llu,%llu,%llu,%.4f,%.1f,%llu,%.0f,%.1f,%.1f,%.3f,%.1f,%.1f,%.1f,%.1f,%.1f,%.3f,%.1f,%.1f\n",
              s.name.c_str(), 1e9 / double(pace_ns), 1e9 / double(work_ns), dur, (unsigned long long)offered,
              (unsigned long long)r.sent, (unsigned long long)r.records, (unsigned long long)r.dropped,
              (unsigned long long)r.lost, loss, mean_depth, (unsigned long long)depth_max, lam_del, w_s * 1e6, pred,
              mean_depth > 0 ? pred / mean_depth : 0, r.lat.Quantile(0.5) / 1e3, r.lat.Quantile(0.99) / 1e3,
              r.lat.Quantile(0.999) / 1e3, r.lat.max() / 1e3, r.blocked_ms, r.blocked_ms / (dur * 1e3), pb, pa);
    fflush(stdout);
  }
  if (sum) fclose(sum);
}

}  // namespace bench
