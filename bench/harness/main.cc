// shmring-bench: shmring and its peers, cross-process, side by side, same run.
//   shmring-bench [--quick] [--reps N] [--duration S] [--sizes 64,256,...]
//                 [--suites tput,lat,config,overload] [--only shmring,uds-stream,...] [--out DIR]
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <sstream>

#include "common/probe.h"
#include "common/util.h"
#include "harness/roudi.h"
#include "harness/suite.h"

using namespace bench;

namespace {

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string x;
  while (std::getline(ss, x, ',')) if (!x.empty()) out.push_back(x);
  return out;
}

std::string Now() {
  char date[32];
  time_t t = time(nullptr);
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", localtime(&t));
  return date;
}

bool Has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

uint64_t WarmFor(const Params& p, bool slow) {
  if (slow) return 300;
  const uint64_t cap = std::max<uint64_t>(1 << 20, NextPow2(32 * (p.size + 64)));
  return std::clamp<uint64_t>(2 * cap / (p.size + 32), 1000, 50000);
}

void PrintMachine() {
  utsname u;
  uname(&u);
  char host[256] = "";
  gethostname(host, sizeof host);
  FILE* f = popen("lscpu | grep -E 'Model name|^CPU\\(s\\)|L3' | tr -s ' '", "r");
  char line[256];
  printf("# machine: %s %s %s\n", u.sysname, u.release, u.machine);
  while (f && fgets(line, sizeof line, f)) printf("#   %s", line);
  if (f) pclose(f);
  printf("# load average (1 min): %.2f\n", LoadAvg1());
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--reps") {
      o.reps = atoi(next().c_str());
    } else if (a == "--duration") {
      o.duration_s = atof(next().c_str());
    } else if (a == "--sizes") {
      o.sizes.clear();
      for (auto& s : Split(next())) o.sizes.push_back(size_t(atol(s.c_str())));
    } else if (a == "--suites") {
      o.suites = Split(next());
    } else if (a == "--only") {
      o.only = Split(next());
    } else if (a == "--out") {
      o.out = next();
    } else {
      fprintf(stderr, "usage: %s [--quick] [--reps N] [--duration S] [--sizes 64,...] [--suites tput,lat,config,overload] [--only a,b] [--out DIR]\n", argv[0]);
      return 2;
    }
  }
  if (o.quick) {
    if (o.reps == 3) o.reps = 1;
    if (o.duration_s == 1.0) o.duration_s = 0.25;
  }
  PrintMachine();
  std::vector<Variant> all = AllVariants();
  for (const char* opt : {"boost-mq", "grpc-unary", "grpc-stream", "iceoryx"}) {
    bool found = false;
    for (auto& v : all) found |= v.label == opt;
    if (!found) printf("# skipped peer %s: not built (its package was missing when CMake ran)\n", opt);
  }
  std::vector<Variant> vs;
  for (auto& v : all)
    if (o.only.empty() || Has(o.only, v.label)) vs.push_back(v);

  Roudi roudi;
  bool have_ice = false;
  for (auto& v : vs) have_ice |= v.label == "iceoryx";
  if (have_ice) {
    if (std::string e = roudi.Start(); !e.empty()) {
      printf("# skipped peer iceoryx: %s\n", e.c_str());
      vs.erase(std::remove_if(vs.begin(), vs.end(), [](const Variant& v) { return v.label == "iceoryx"; }), vs.end());
    } else {
      printf("# iox-roudi started by the harness\n");
    }
  }
  for (auto& v : vs) {
    Params p;
    p.size = 64;
    auto m = v.make();
    if (v.tweak) v.tweak(p);
    printf("# config %-15s %s\n", v.label.c_str(), m->Config(p).c_str());
  }
  fflush(stdout);

  Csv csv(o.out + "/harness.csv");
  char buf[256];

  if (Has(o.suites, "tput")) {
    printf("# suite tput: 1->1, as fast as possible, every 16th record stamped (latency under load)\n");
    for (int rep = 0; rep < o.reps; ++rep) {
      for (size_t size : o.sizes) {
        // memcpy reference for the large records, in the same interleaving.
        if (size >= 65536) {
          const double pb = ProbeRoundTripNs();
          const double g = MemcpyGBps(0.2);
          const double pa = ProbeRoundTripNs();
          snprintf(buf, sizeof buf,
                   "%s,%d,tput,memcpy,1-1,-,%zu,1,0,0,0,0,%.0f,%.4f,0,0,0,0,0,0,0,0,0,%.1f,%.1f,%s,%.2f,1,\n", Now().c_str(), rep,
                   size, g * 1e9 / double(size), g, pb, pa,
                   PlacementClass(pb) == PlacementClass(pa) ? PlacementClass(pb).c_str() : "mixed", LoadAvg1());
          csv.Raw(buf);
          printf("tput   rep %d memcpy          %6zu B  %7.3f GB/s (single core, 64 KiB blocks)  probe %.0f/%.0f ns\n",
                 rep, size, g, pb, pa);
        }
        std::vector<Variant> order = vs;
        if (rep % 2) std::reverse(order.begin(), order.end());  // A B ... B A: interleaved both ways
        for (auto& v : order) {
          Params p;
          p.size = size;
          p.duration_s = o.duration_s;
          p.stamp_every = 16;
          p.warm = WarmFor(p, v.slow);
          if (v.slow) p.duration_s = std::min(p.duration_s, 0.5);
          RunTagged(csv, rep, "tput", v, p);
        }
      }
    }
  }

  if (Has(o.suites, "lat")) {
    printf("# suite lat: 1->1, paced at one record per 100 us, every record stamped (one-way latency)\n");
    std::vector<Variant> lv = vs;
    lv.erase(std::remove_if(lv.begin(), lv.end(),
                            [](const Variant& v) { return v.label == "shmring-batch" || v.label == "shmring-messages"; }),
             lv.end());
    for (auto it = lv.begin(); it != lv.end(); ++it) {
      if (it->label == "shmring") {
        Variant w = *it, b = *it;
        w.label = "shmring-wait";
        w.tweak = [](Params& p) { p.wait = "wait"; };
        b.label = "shmring-bell";
        b.tweak = [](Params& p) { p.wait = "bell"; };
        it = lv.insert(it + 1, {w, b});
        ++it;
      }
    }
    std::vector<size_t> sizes = o.quick ? std::vector<size_t>{64} : std::vector<size_t>{64, 4096};
    for (int rep = 0; rep < o.reps; ++rep) {
      for (size_t size : sizes) {
        std::vector<Variant> order = lv;
        if (rep % 2) std::reverse(order.begin(), order.end());
        for (auto& v : order) {
          Params p;
          p.size = size;
          p.pace_ns = 100'000;
          p.duration_s = o.quick ? 0.3 : 1.5;
          p.warm = 200;
          p.stamp_every = 1;
          RunTagged(csv, rep, "lat", v, p);
        }
      }
    }
  }

  if (Has(o.suites, "config")) {
    printf("# suite config: shmring N->1 producers and 1->M groups (extra processes share the two CPUs)\n");
    Variant sv{"shmring", MakeShmring, nullptr};
    for (int rep = 0; rep < o.reps; ++rep) {
      for (size_t size : {size_t(64), size_t(1024)}) {
        for (auto [np, ng] : {std::pair{1, 1}, std::pair{2, 1}, std::pair{1, 2}}) {
          Params p;
          p.size = size;
          p.producers = np;
          p.groups = ng;
          p.duration_s = o.duration_s;
          p.stamp_every = 16;
          p.warm = WarmFor(p, false);
          RunTagged(csv, rep, "config", sv, p);
        }
      }
    }
  }

  if (Has(o.suites, "overload")) RunOverload(o, csv);
  roudi.Stop();
  return 0;
}
