// shmring-demo: producers -> ring -> consumer, each in its own process.
//
//   shmring-demo [--ring NAME] [--producers N] [--records N] [--size B] [--capacity BYTES] [--keep]
//
// Creates the ring, forks N producer processes and one consumer process, waits
// for them, and prints a summary: records, rate, drops, and whether every record
// arrived intact and in per-producer order. With --keep the ring is left for
// `shmctl stat`.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/stats.h"

using namespace shmring;

namespace {

struct Args {
  std::string ring = "shmring-demo";
  int producers = 2;
  uint64_t records = 1'000'000;
  uint32_t size = 64;
  uint64_t capacity = 1 << 20;
  bool keep = false;
};

// Payload: producer id, sequence, then a byte pattern derived from both.
void Fill(std::byte* p, uint32_t size, uint32_t producer, uint64_t seq) {
  memcpy(p, &producer, 4);
  memcpy(p + 4, &seq, 8);
  for (uint32_t i = 12; i < size; ++i) p[i] = std::byte((producer * 31 + seq + i) & 0xff);
}
bool Check(std::span<const std::byte> p, uint32_t size, uint32_t* producer, uint64_t* seq) {
  if (p.size() != size || size < 12) return false;
  memcpy(producer, p.data(), 4);
  memcpy(seq, p.data() + 4, 8);
  for (uint32_t i = 12; i < size; ++i) {
    if (p[i] != std::byte((*producer * 31 + *seq + i) & 0xff)) return false;
  }
  return true;
}

int RunProducer(const Args& a, uint32_t id) {
  auto ring = Ring::Open(a.ring);
  if (!ring.ok()) { fprintf(stderr, "producer %u: %s\n", id, ring.status().ToString().c_str()); return 1; }
  auto p = shmring::Producer::Attach(*ring);
  if (!p.ok()) { fprintf(stderr, "producer %u: %s\n", id, p.status().ToString().c_str()); return 1; }
  for (uint64_t seq = 0; seq < a.records; ++seq) {
    auto r = (*p)->Reserve(a.size);
    if (!r.ok()) { fprintf(stderr, "producer %u: %s\n", id, r.status().ToString().c_str()); return 1; }
    Fill(r->data().data(), a.size, id, seq);
    if (auto s = (*p)->Commit(*r); !s.ok()) { fprintf(stderr, "producer %u: %s\n", id, s.ToString().c_str()); return 1; }
  }
  return 0;
}

int RunConsumer(const Args& a) {
  auto ring = Ring::Open(a.ring);
  if (!ring.ok()) { fprintf(stderr, "consumer: %s\n", ring.status().ToString().c_str()); return 1; }
  auto rd = Reader::Attach(*ring, "demo");
  if (!rd.ok()) { fprintf(stderr, "consumer: %s\n", rd.status().ToString().c_str()); return 1; }
  std::vector<uint64_t> next(a.producers, 0);
  uint64_t total = 0, bad = 0;
  const uint64_t want = a.records * a.producers;
  while (total < want) {
    auto b = (*rd)->Wait(256, std::chrono::seconds(10));
    if (!b.ok()) { fprintf(stderr, "consumer: %s\n", b.status().ToString().c_str()); return 1; }
    if (b->empty()) { fprintf(stderr, "consumer: no record for 10 s after %llu\n", (unsigned long long)total); return 1; }
    for (const RecordView& v : *b) {
      uint32_t id;
      uint64_t seq;
      if (!Check(v.payload, a.size, &id, &seq) || id >= uint32_t(a.producers) || seq != next[id]) {
        ++bad;
      } else {
        ++next[id];
      }
      ++total;
    }
  }
  if (auto s = (*rd)->Commit(); !s.ok()) { fprintf(stderr, "consumer: %s\n", s.ToString().c_str()); return 1; }
  printf("consumer: %llu records received, %llu out of order or damaged\n", (unsigned long long)total,
         (unsigned long long)bad);
  return bad == 0 ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) { fprintf(stderr, "shmring-demo: %s needs a value\n", k.c_str()); exit(2); }
      return argv[++i];
    };
    if (k == "--ring") a.ring = val();
    else if (k == "--producers") a.producers = std::stoi(val());
    else if (k == "--records") a.records = std::stoull(val());
    else if (k == "--size") a.size = uint32_t(std::stoul(val()));
    else if (k == "--capacity") a.capacity = std::stoull(val());
    else if (k == "--keep") a.keep = true;
    else { fprintf(stderr, "shmring-demo: unknown option %s\n", k.c_str()); return 2; }
  }
  if (a.size < 12) a.size = 12;
  (void)Ring::Remove(a.ring);
  auto ring = Ring::Create(a.ring, {.capacity = a.capacity, .policy = Policy::kBlock, .groups = {"demo"}});
  if (!ring.ok()) { fprintf(stderr, "shmring-demo: %s\n", ring.status().ToString().c_str()); return 1; }
  printf("ring %s: %llu bytes, policy block, checksums on, group 'demo'\n", (*ring)->path().c_str(),
         (unsigned long long)a.capacity);
  printf("%d producer processes x %llu records of %u bytes -> 1 consumer process\n", a.producers,
         (unsigned long long)a.records, a.size);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<pid_t> kids;
  pid_t consumer = fork();
  if (consumer == 0) _exit(RunConsumer(a));
  for (int i = 0; i < a.producers; ++i) {
    pid_t pid = fork();
    if (pid == 0) _exit(RunProducer(a, uint32_t(i)));
    kids.push_back(pid);
  }
  int failures = 0;
  for (pid_t k : kids) {
    int st;
    waitpid(k, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) ++failures;
  }
  int cst;
  waitpid(consumer, &cst, 0);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const RingStats s = (*ring)->Stats();
  const GroupStats& g = s.groups.at(0);
  printf("summary: committed %llu, delivered %llu, dropped %llu, corrupt %llu, lag %llu\n",
         (unsigned long long)s.committed, (unsigned long long)g.delivered, (unsigned long long)s.dropped,
         (unsigned long long)g.corrupt, (unsigned long long)g.lag_records);
  printf("rate: %.2f M records/s, %.1f MB/s end to end (%.2f s, fork to last record)\n",
         double(g.delivered) / secs / 1e6, double(g.delivered_bytes) / secs / 1e6, secs);
  const bool ok = failures == 0 && WIFEXITED(cst) && WEXITSTATUS(cst) == 0 && s.dropped == 0 && g.corrupt == 0 &&
                  g.delivered == a.records * a.producers && s.committed == g.delivered;
  printf("%s\n", ok ? "every checksum verified; every record delivered once, in per-producer order"
                    : "FAILED: see the counts above");
  if (!a.keep) (void)Ring::Remove(a.ring);
  return ok ? 0 : 1;
}
