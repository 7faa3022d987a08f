#include "harness/run.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <new>

#include "common/util.h"

namespace bench {

namespace {

void ChildFail(char* where, size_t n, const std::string& e) {
  if (!e.empty()) snprintf(where, n, "%s", e.c_str());
}

}  // namespace

RunResult RunOnce(Mech& m, const Params& p) {
  RunResult out;
  void* mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    out.error = "mmap";
    return out;
  }
  memset(mem, 0, sizeof(Shared));
  Shared* s = new (mem) Shared;
  if (std::string e = m.Setup(p); !e.empty()) {
    out.error = "setup: " + e;
    munmap(mem, sizeof(Shared));
    m.Teardown();
    return out;
  }
  std::vector<pid_t> kids;
  for (int i = 0; i < p.groups; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      PinToCpu(1);
      ConsumerCtx c(p, s, i);
      std::string e = m.Consumer(c);
      c.Finish();
      if (e.empty()) e = c.error();
      ChildFail(s->cons[i].error, sizeof s->cons[i].error, e);
      _exit(e.empty() ? 0 : 1);
    }
    kids.push_back(pid);
  }
  for (int i = 0; i < p.producers; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      PinToCpu(0);
      ProducerCtx c(p, s, i);
      std::string e = m.Producer(c);
      ChildFail(s->prod[i].error, sizeof s->prod[i].error, e);
      if (!e.empty()) s->producers_done.fetch_add(1);
      _exit(e.empty() ? 0 : 1);
    }
    kids.push_back(pid);
  }
  // Start once every consumer is attached (10 s at most).
  const uint64_t t_wait = NowNs();
  while (s->ready.load(std::memory_order_acquire) < p.groups && NowNs() - t_wait < 10'000'000'000ull) usleep(1000);
  s->t0 = NowNs();
  s->go.store(1, std::memory_order_release);
  // Wait for everyone; kill stragglers after a generous deadline.
  const uint64_t deadline = NowNs() + uint64_t((p.duration_s + 30) * 1e9);
  size_t alive = kids.size();
  bool killed = false;
  std::vector<int> status(kids.size(), 0);
  std::vector<bool> done(kids.size(), false);
  while (alive) {
    for (size_t k = 0; k < kids.size(); ++k) {
      if (done[k]) continue;
      if (waitpid(kids[k], &status[k], WNOHANG) == kids[k]) {
        done[k] = true;
        --alive;
      }
    }
    if (alive && NowNs() > deadline && !killed) {
      for (size_t k = 0; k < kids.size(); ++k)
        if (!done[k]) kill(kids[k], SIGKILL);
      killed = true;
    }
    if (alive) usleep(2000);
  }
  m.Teardown();
  out.ok = !killed;
  if (killed) out.error = "timed out (killed)";
  for (int i = 0; i < p.producers; ++i) {
    ProducerResult& r = s->prod[i];
    if (r.error[0]) out.error += std::string(out.error.empty() ? "" : "; ") + "producer: " + r.error;
    out.sent += r.sent;
    out.dropped += r.dropped;
    out.blocked_ms += double(r.blocked_ns) / 1e6;
  }
  out.lat.Clear();
  double rate_sum = 0;
  for (int i = 0; i < p.groups; ++i) {
    ConsumerResult& r = s->cons[i];
    if (r.error[0]) out.error += std::string(out.error.empty() ? "" : "; ") + "consumer: " + r.error;
    out.records += r.measured;
    out.errors += r.errors;
    out.lost += r.lost;
    out.lat.Merge(r.lat);
    if (r.t_last > r.t_first && r.measured > 1) {
      const double secs = double(r.t_last - r.t_first) / 1e9;
      rate_sum += double(r.measured) / secs;
    }
  }
  // Records/s: delivered per consumer group, averaged over the groups (each group sees every record).
  out.records_per_s = rate_sum / p.groups;
  out.gbytes_per_s = out.records_per_s * double(p.size) / 1e9;
  const int n = s->nseries.load();
  out.series.assign(s->series, s->series + n);
  if (out.errors) out.ok = false;
  if (!out.error.empty()) out.ok = false;
  munmap(mem, sizeof(Shared));
  return out;
}

}  // namespace bench
