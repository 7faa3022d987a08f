#include "harness/suite.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <thread>
#include <vector>

#include "common/probe.h"
#include "common/util.h"

namespace bench {

Csv::Csv(const std::string& path) {
  const bool exists = access(path.c_str(), F_OK) == 0;
  f_ = fopen(path.c_str(), "a");
  if (f_ && !exists) {
    fprintf(f_,
            "date,rep,suite,mech,config,wait,size,producers,groups,checksums,pace_ns,records,rec_per_s,gb_per_s,"
            "p50_ns,p99_ns,p999_ns,max_ns,mean_ns,lat_samples,errors,lost,dropped,probe_before_ns,probe_after_ns,"
            "placement,load1,ok,error\n");
  }
}
Csv::~Csv() {
  if (f_) fclose(f_);
}
void Csv::Raw(const std::string& line) {
  if (f_) {
    fputs(line.c_str(), f_);
    fflush(f_);
  }
}

static std::string Clean(std::string s) {
  for (char& c : s)
    if (c == ',' || c == '\n' || c == '"') c = ';';
  return s;
}

static std::string Placement(double a, double b) {
  const std::string x = PlacementClass(a), y = PlacementClass(b);
  return x == y ? x : "mixed";
}

void Csv::Row(int rep, const std::string& suite, const Variant& v, const Mech& m, const Params& p,
              const RunResult& r, double pb, double pa) {
  if (!f_) return;
  char date[32];
  time_t t = time(nullptr);
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", localtime(&t));
  const std::string cfg = p.producers == 1 && p.groups == 1 ? "1-1" : std::to_string(p.producers) + "-" + std::to_string(p.groups);
  fprintf(f_, "%s,%d,%s,%s,%s,%s,%zu,%d,%d,%d,%llu,%llu,%.0f,%.4f,%llu,%llu,%llu,%llu,%.0f,%llu,%llu,%llu,%llu,%.1f,%.1f,%s,%.2f,%d,%s\n",
          date, rep, suite.c_str(), v.label.c_str(), cfg.c_str(), p.wait.c_str(), p.size, p.producers, p.groups,
          int(p.checksums), (unsigned long long)p.pace_ns, (unsigned long long)r.records, r.records_per_s,
          r.gbytes_per_s, (unsigned long long)r.lat.Quantile(0.5), (unsigned long long)r.lat.Quantile(0.99),
          (unsigned long long)r.lat.Quantile(0.999), (unsigned long long)r.lat.max(), r.lat.mean(),
          (unsigned long long)r.lat.count(), (unsigned long long)r.errors, (unsigned long long)r.lost,
          (unsigned long long)r.dropped, pb, pa, Placement(pb, pa).c_str(), LoadAvg1(), int(r.ok),
          Clean(r.error + (rep == 0 ? "" : "")).c_str());
  fflush(f_);
  (void)m;
}

double LoadAvg1() {
  double l[3] = {0, 0, 0};
  if (getloadavg(l, 3) < 1) return -1;
  return l[0];
}

double MemcpyGBps(double seconds) {
  constexpr size_t kBuf = 4 << 20, kBlock = 64 << 10;
  std::vector<unsigned char> src(kBuf, 1), dst(kBuf, 2);
  double gbps = 0;
  std::thread t([&] {
    PinToCpu(0);
    size_t off = 0, bytes = 0;
    for (size_t i = 0; i < kBuf; i += kBlock) memcpy(dst.data() + i, src.data() + i, kBlock);  // warm
    const uint64_t t0 = NowNs();
    uint64_t now = t0;
    while (now - t0 < uint64_t(seconds * 1e9)) {
      for (int k = 0; k < 64; ++k) {
        memcpy(dst.data() + off, src.data() + ((off + kBuf / 2) % kBuf), kBlock);
        off = (off + kBlock) % kBuf;
        bytes += kBlock;
      }
      now = NowNs();
    }
    gbps = double(bytes) / double(now - t0);
  });
  t.join();
  return gbps;
}

std::string NewTag() {
  static int n = 0;
  return std::to_string(getpid()) + "-" + std::to_string(++n);
}

RunResult RunTagged(Csv& csv, int rep, const std::string& suite, const Variant& v, Params p) {
  std::unique_ptr<Mech> m = v.make();
  p.tag = NewTag();
  if (v.tweak) v.tweak(p);
  if (!m->Supports(p)) return {};
  const double pb = ProbeRoundTripNs();
  RunResult r = RunOnce(*m, p);
  const double pa = ProbeRoundTripNs();
  csv.Row(rep, suite, v, *m, p, r, pb, pa);
  printf("%-6s rep %d %-15s %5s %-4s %6zu B  %10.0f rec/s %7.3f GB/s  p50 %7llu p99 %8llu p99.9 %8llu max %9llu ns  "
         "probe %.0f/%.0f ns%s%s\n",
         suite.c_str(), rep, v.label.c_str(), (std::to_string(p.producers) + "-" + std::to_string(p.groups)).c_str(),
         p.wait.c_str(), p.size, r.records_per_s, r.gbytes_per_s, (unsigned long long)r.lat.Quantile(0.5),
         (unsigned long long)r.lat.Quantile(0.99), (unsigned long long)r.lat.Quantile(0.999),
         (unsigned long long)r.lat.max(), pb, pa, r.ok ? "" : "  FAILED: ", r.ok ? "" : r.error.c_str());
  fflush(stdout);
  return r;
}

std::vector<Variant> AllVariants() {
  std::vector<Variant> v;
  v.push_back({"shmring", MakeShmring, nullptr});
  v.push_back({"shmring-batch", MakeShmring, [](Params& p) { p.batch = true; }});
  v.push_back({"shmring-nocsum", MakeShmring, [](Params& p) { p.checksums = false; }});
  v.push_back({"shmring-messages", MakeShmring, [](Params& p) { p.messages = true; }});
  v.push_back({"bare-ring", MakeBareRing, nullptr});
  v.push_back({"uds-stream", MakeUdsStream, nullptr});
  v.push_back({"uds-seqpacket", MakeUdsSeqpacket, nullptr});
  v.push_back({"pipe", MakePipe, nullptr});
  v.push_back({"posix-mq", MakePosixMq, nullptr});
  if (MakeBoostMq()) v.push_back({"boost-mq", MakeBoostMq, nullptr});
  if (MakeGrpcUnary()) v.push_back({"grpc-unary", MakeGrpcUnary, nullptr, true});
  if (MakeGrpcStream()) v.push_back({"grpc-stream", MakeGrpcStream, nullptr});
  if (MakeIceoryx()) v.push_back({"iceoryx", MakeIceoryx, nullptr});
  return v;
}

}  // namespace bench
