// Multi-process stress (fork): producer processes and consumer processes on one
// ring, each opening it by name, as separate programs would.
//
//  - 3 producer processes x 2 consumer processes (one group each), under block and
//    under reject: each consumer checks every payload, exactly-once and per-producer
//    order, and reports through its exit status and a pipe; the parent then checks
//    the ring's accounting (Stats).
//  - A consumer killed with SIGKILL mid-run (after it committed some batches) is
//    replaced by a new process of the same group, which resumes at the committed
//    cursor: together they received every record, and the duplicates are exactly
//    the killed consumer's uncommitted last batch (at most one batch).
//
// Children set PR_SET_PDEATHSIG and an alarm, so nothing outlives a failed parent
// or hangs forever. SHMRING_STRESS_SCALE (default 1) multiplies the record counts.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/stats.h"
#include "test_ring.h"

namespace shmring {
namespace {

using testing::ScopedRingName;

double Scale() {
  const char* s = std::getenv("SHMRING_STRESS_SCALE");
  const double v = s ? std::atof(s) : 1.0;
  return v > 0 ? v : 1.0;
}
uint64_t Scaled(uint64_t n) { return std::max<uint64_t>(1, uint64_t(double(n) * Scale())); }

constexpr uint32_t kProducers = 3;

// ---- self-checking payloads ----

struct PayloadHead {
  uint32_t producer;
  uint32_t len;
  uint64_t seq;
};

uint32_t LenFor(uint32_t producer, uint64_t seq) {
  return uint32_t(sizeof(PayloadHead) + (seq * 13 + producer * 7) % 240);
}
std::byte PatternByte(uint32_t producer, uint64_t seq, size_t i) {
  return std::byte((producer * 31 + seq * 17 + i * 3) & 0xff);
}
void Fill(std::span<std::byte> out, uint32_t producer, uint64_t seq) {
  PayloadHead h{producer, uint32_t(out.size()), seq};
  memcpy(out.data(), &h, sizeof h);
  for (size_t i = sizeof h; i < out.size(); ++i) out[i] = PatternByte(producer, seq, i);
}
std::string Check(std::span<const std::byte> p, PayloadHead* out) {
  if (p.size() < sizeof(PayloadHead)) return "short record of " + std::to_string(p.size()) + " bytes";
  PayloadHead h;
  memcpy(&h, p.data(), sizeof h);
  if (h.producer >= kProducers) return "unknown producer " + std::to_string(h.producer);
  if (h.len != p.size()) return "length " + std::to_string(p.size()) + ", the payload says " + std::to_string(h.len);
  for (size_t i = sizeof h; i < p.size(); ++i) {
    if (p[i] != PatternByte(h.producer, h.seq, i)) {
      return "torn payload of producer " + std::to_string(h.producer) + " seq " + std::to_string(h.seq);
    }
  }
  *out = h;
  return "";
}

// ---- memory shared by the parent and its children (MAP_SHARED | MAP_ANONYMOUS) ----

struct Shared {
  std::atomic<uint32_t> producers_done;  // set by the parent once every producer exited
  std::atomic<uint64_t> committed_batches[2];  // per consumer log: batches committed so far
  std::atomic<uint64_t> committed_len[2];      // log length when the last Commit returned
  std::atomic<uint64_t> log_len[2];
  std::atomic<uint32_t> stalled;  // a consumer stopped before committing a batch, to be killed
};

class SharedArea {
 public:
  SharedArea(uint64_t per_producer, uint64_t log_capacity) : per_(per_producer), log_cap_(log_capacity) {
    size_ = sizeof(Shared) + kProducers * per_ + 2 * log_cap_ * sizeof(uint64_t);
    mem_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem_ == MAP_FAILED) std::abort();
    new (mem_) Shared{};
  }
  ~SharedArea() { munmap(mem_, size_); }
  Shared& s() { return *static_cast<Shared*>(mem_); }
  // committed[p][seq] != 0: producer p committed seq (written before the producer exits).
  uint8_t* committed(uint32_t p) { return static_cast<uint8_t*>(mem_) + sizeof(Shared) + p * per_; }
  uint64_t* log(int i) {
    return reinterpret_cast<uint64_t*>(static_cast<uint8_t*>(mem_) + sizeof(Shared) + kProducers * per_) +
           i * log_cap_;
  }
  uint64_t per() const { return per_; }
  uint64_t log_capacity() const { return log_cap_; }

 private:
  uint64_t per_, log_cap_;
  size_t size_;
  void* mem_;
};

// ---- child processes ----

struct Child {
  pid_t pid = -1;
  int out = -1;  // read end of the child's report pipe
};

// Runs `body` in a child process: its returned string goes to the pipe; the exit
// status is 0 if it starts with "ok", else 1.
Child Spawn(const std::function<std::string()>& body) {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) std::abort();
  if (pid == 0) {
    close(fds[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(3);  // the parent died before prctl
    alarm(300);                          // a hang becomes a SIGALRM death the parent reports
    std::string report;
    try {
      report = body();
    } catch (const std::exception& e) {
      report = std::string("exception: ") + e.what();
    }
    const char* p = report.data();
    size_t left = report.size();
    while (left > 0) {
      const ssize_t n = write(fds[1], p, left);
      if (n <= 0) break;
      p += n;
      left -= size_t(n);
    }
    close(fds[1]);
    _exit(report.rfind("ok", 0) == 0 ? 0 : 1);
  }
  close(fds[1]);
  return Child{pid, fds[0]};
}

struct Outcome {
  int status = 0;
  std::string report;
  bool ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
  std::string describe() const {
    std::string s = WIFEXITED(status)     ? "exit " + std::to_string(WEXITSTATUS(status))
                    : WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                                          : "status " + std::to_string(status);
    return s + ": " + report;
  }
};

Outcome Reap(Child& c) {
  Outcome o;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(c.out, buf, sizeof buf);
    if (n > 0) {
      o.report.append(buf, size_t(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(c.out);
  while (waitpid(c.pid, &o.status, 0) < 0 && errno == EINTR) {
  }
  return o;
}

// Producer process `id`: `per` records with Write, Reserve+Commit, Reserve+Abort
// and ReserveBatch. Reports "ok committed C dropped D aborted A".
std::string ProducerMain(const std::string& ring_name, uint32_t id, SharedArea* area, bool may_drop) {
  auto ring = Ring::Open(ring_name);
  if (!ring.ok()) return ring.status().ToString();
  uint64_t committed = 0, dropped = 0, aborted = 0, abort_dropped = 0;
  {
    auto attached = Producer::Attach(*ring, ProducerOptions{.block_timeout = std::chrono::seconds(120)});
    if (!attached.ok()) return attached.status().ToString();
    Producer& p = **attached;
    uint8_t* bits = area->committed(id);
    auto refused = [&](const absl::Status& s, uint64_t n) {
      if (!may_drop || !absl::IsResourceExhausted(s)) return false;
      dropped += n;
      std::this_thread::sleep_for(std::chrono::microseconds(20));  // give the consumers a chance
      return true;
    };
    uint64_t seq = 0;
    for (uint64_t step = 0; seq < area->per(); ++step) {
      const uint32_t len = LenFor(id, seq);
      switch ((step * 3 + id) % 8) {
        case 0: {
          std::vector<uint32_t> lens;
          for (uint64_t k = seq; k < seq + 3 && k < area->per(); ++k) lens.push_back(LenFor(id, k));
          auto b = p.ReserveBatch(lens);
          if (!b.ok()) {
            if (!refused(b.status(), lens.size())) return "producer batch: " + b.status().ToString();
          } else {
            for (size_t i = 0; i < lens.size(); ++i) Fill(b->data(i), id, seq + i);
            if (absl::Status s = p.Commit(*b); !s.ok()) return "producer commit: " + s.ToString();
            for (size_t i = 0; i < lens.size(); ++i) bits[seq + i] = 1;
            committed += lens.size();
          }
          seq += lens.size();
          break;
        }
        case 1: {
          auto r = p.Reserve(len);
          if (r.ok()) {
            p.Abort(*r);
            ++aborted;
          } else if (!refused(r.status(), 1)) {
            return "producer reserve: " + r.status().ToString();
          } else {
            ++abort_dropped;  // a drop that is not a sequence number
          }
          break;  // the sequence number is written by the next step
        }
        case 2:
        case 3: {
          auto r = p.Reserve(len);
          if (!r.ok()) {
            if (!refused(r.status(), 1)) return "producer reserve: " + r.status().ToString();
          } else {
            Fill(r->data(), id, seq);
            if (absl::Status s = p.Commit(*r); !s.ok()) return "producer commit: " + s.ToString();
            bits[seq] = 1;
            ++committed;
          }
          ++seq;
          break;
        }
        default: {
          std::vector<std::byte> buf(len);
          Fill(buf, id, seq);
          absl::Status s = p.Write(buf);
          if (!s.ok()) {
            if (!refused(s, 1)) return "producer write: " + s.ToString();
          } else {
            bits[seq] = 1;
            ++committed;
          }
          ++seq;
          break;
        }
      }
    }
  }
  return "ok committed " + std::to_string(committed) + " dropped " + std::to_string(dropped) + " aborted " +
         std::to_string(aborted) + " abort_dropped " + std::to_string(abort_dropped);
}

struct ConsumerOptions {
  bool auto_commit = true;
  size_t max = 64;
  int log = -1;               // append every record to this shared log (kill test)
  bool check_complete = true;  // at the end, compare with the producers' commit bits
  uint64_t stall_at = 0;       // >0: once this many records are logged, stop before the Commit and wait to die
};

// Consumer process of `group`: reads until the producers are done and a poll after
// that is empty. Checks every payload and per-producer order (strictly increasing
// sequence numbers: no duplicate, no reordering) and, at the end, that it received
// exactly the committed records. Reports "ok received N resumed_at R previous_pid P".
std::string ConsumerMain(const std::string& ring_name, const std::string& group, SharedArea* area,
                         ConsumerOptions opt) {
  auto ring = Ring::Open(ring_name);
  if (!ring.ok()) return ring.status().ToString();
  Shared& sh = area->s();
  std::vector<std::vector<uint64_t>> got(kProducers);
  uint64_t received = 0;
  AttachReport report;
  {
    auto attached = Reader::Attach(*ring, group, ReaderOptions{.auto_commit = opt.auto_commit, .spin = 50});
    if (!attached.ok()) return attached.status().ToString();
    Reader& rd = **attached;
    report = rd.attach_report();
    for (;;) {
      const bool done_before = sh.producers_done.load(std::memory_order_acquire) != 0;
      auto b = rd.Wait(opt.max, std::chrono::milliseconds(20));
      if (!b.ok()) return "poll: " + b.status().ToString();
      for (const RecordView& v : *b) {
        PayloadHead h;
        if (std::string bad = Check(v.payload, &h); !bad.empty()) {
          return "at position " + std::to_string(v.position) + ": " + bad;
        }
        std::vector<uint64_t>& mine = got[h.producer];
        if (!mine.empty() && h.seq <= mine.back()) {
          return "producer " + std::to_string(h.producer) + ": seq " + std::to_string(h.seq) + " after " +
                 std::to_string(mine.back()) + " (duplicate or out of order)";
        }
        mine.push_back(h.seq);
        ++received;
        if (opt.log >= 0) {
          const uint64_t n = sh.log_len[opt.log].load(std::memory_order_relaxed);
          if (n >= area->log_capacity()) return "log full";
          area->log(opt.log)[n] = (uint64_t{h.producer} << 48) | h.seq;
          sh.log_len[opt.log].store(n + 1, std::memory_order_release);
        }
      }
      if (opt.stall_at > 0 && opt.log >= 0 && !b->empty() &&
          sh.log_len[opt.log].load(std::memory_order_relaxed) >= opt.stall_at) {
        sh.stalled.store(1, std::memory_order_release);
        for (;;) pause();  // read but not committed: the parent kills us here
      }
      if (!opt.auto_commit || (done_before && b->empty())) {
        if (absl::Status s = rd.Commit(); !s.ok()) return "commit: " + s.ToString();
        if (opt.log >= 0) {
          sh.committed_len[opt.log].store(sh.log_len[opt.log].load(std::memory_order_relaxed),
                                          std::memory_order_release);
          sh.committed_batches[opt.log].fetch_add(1, std::memory_order_release);
        }
      }
      if (done_before && b->empty()) break;
    }
  }
  if (opt.check_complete) {
    for (uint32_t p = 0; p < kProducers; ++p) {
      const uint8_t* bits = area->committed(p);
      uint64_t want = 0;
      for (uint64_t s = 0; s < area->per(); ++s) want += bits[s] != 0;
      for (uint64_t s : got[p]) {
        if (!bits[s]) return "producer " + std::to_string(p) + ": seq " + std::to_string(s) + " was never committed";
      }
      if (got[p].size() != want) {
        return "producer " + std::to_string(p) + ": received " + std::to_string(got[p].size()) + " of " +
               std::to_string(want) + " committed";
      }
    }
  }
  return "ok received " + std::to_string(received) + " resumed_at " + std::to_string(report.resumed_at) +
         " previous_pid " + std::to_string(report.previous_pid);
}

uint64_t Field(const std::string& report, const std::string& key) {
  const size_t at = report.find(key + " ");
  if (at == std::string::npos) return ~uint64_t{0};
  return std::strtoull(report.c_str() + at + key.size() + 1, nullptr, 10);
}

std::shared_ptr<Ring> Make(const ScopedRingName& n, CreateOptions o) {
  auto r = Ring::Create(*n, o);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : nullptr;
}

void ProducersAndConsumers(Policy policy) {
  ScopedRingName n;
  const std::vector<std::string> groups = {"first", "second"};
  auto ring = Make(n, {.capacity = 64 << 10, .policy = policy, .groups = groups});
  ASSERT_TRUE(ring);
  SharedArea area(Scaled(20000), 1);

  std::vector<Child> consumers, producers;
  consumers.push_back(Spawn([&] { return ConsumerMain(*n, groups[0], &area, {.auto_commit = true, .max = 64}); }));
  consumers.push_back(Spawn([&] { return ConsumerMain(*n, groups[1], &area, {.auto_commit = false, .max = 17}); }));
  for (uint32_t i = 0; i < kProducers; ++i) {
    producers.push_back(Spawn([&, i] { return ProducerMain(*n, i, &area, policy == Policy::kReject); }));
  }
  uint64_t committed = 0, dropped = 0, aborted = 0, abort_dropped = 0;
  bool all_ok = true;
  for (uint32_t i = 0; i < kProducers; ++i) {
    Outcome o = Reap(producers[i]);
    EXPECT_TRUE(o.ok()) << "producer " << i << ": " << o.describe();
    all_ok &= o.ok();
    committed += Field(o.report, "committed");
    dropped += Field(o.report, "dropped");
    aborted += Field(o.report, "aborted");
    abort_dropped += Field(o.report, "abort_dropped");
  }
  area.s().producers_done.store(1, std::memory_order_release);
  for (size_t c = 0; c < consumers.size(); ++c) {
    Outcome o = Reap(consumers[c]);
    EXPECT_TRUE(o.ok()) << "consumer of " << groups[c] << ": " << o.describe();
    all_ok &= o.ok();
    if (o.ok()) EXPECT_EQ(Field(o.report, "received"), committed) << groups[c];
  }
  ASSERT_TRUE(all_ok);
  const RingStats st = ring->Stats();
  std::printf("  committed %llu, dropped %llu, aborted %llu, laps %llu\n", (unsigned long long)st.committed,
              (unsigned long long)st.dropped, (unsigned long long)st.aborted,
              (unsigned long long)(st.tail / st.capacity));
  EXPECT_EQ(st.committed, committed);
  EXPECT_EQ(st.dropped, dropped);
  EXPECT_EQ(st.aborted, aborted);
  EXPECT_EQ(st.abandoned, 0u);
  if (policy == Policy::kBlock) {
    EXPECT_EQ(committed, kProducers * area.per());
    EXPECT_EQ(dropped, 0u);
  } else {
    // committed + dropped == attempted: every sequence number was committed or counted
    // as dropped (claims meant to be aborted that were refused are drops too).
    EXPECT_EQ(committed + dropped - abort_dropped, kProducers * area.per());
  }
  for (const GroupStats& gs : st.groups) {
    EXPECT_EQ(gs.delivered, st.committed) << gs.name;
    EXPECT_EQ(gs.corrupt, 0u) << gs.name;
    EXPECT_EQ(gs.overwritten, 0u) << gs.name;
    EXPECT_EQ(gs.abandoned, 0u) << gs.name;
    EXPECT_EQ(gs.lag_records, 0u) << gs.name;
    EXPECT_EQ(gs.cursor, st.tail) << gs.name;
  }
}

TEST(ForkStress, ThreeProducerProcessesAndTwoConsumerProcessesSeeEveryRecordExactlyOnceUnderBlock) {
  ProducersAndConsumers(Policy::kBlock);
}

TEST(ForkStress, ThreeProducerProcessesAndTwoConsumerProcessesSeeEveryCommittedRecordExactlyOnceUnderReject) {
  ProducersAndConsumers(Policy::kReject);
}

// stall: A is killed exactly between reading a batch and committing it (the
// duplicates are that batch); otherwise wherever it happens to be.
void KillAndReplaceAConsumer(bool stall) {
  ScopedRingName n;
  const std::vector<std::string> groups = {"victim", "bystander"};
  auto ring = Make(n, {.capacity = 64 << 10, .policy = Policy::kBlock, .groups = groups});
  ASSERT_TRUE(ring);
  const uint64_t per = Scaled(20000);
  const uint64_t total = kProducers * per;
  SharedArea area(per, total + 64);
  constexpr size_t kBatch = 32;
  Shared& sh = area.s();

  // A reads in batches of at most kBatch and commits after each: at most one batch is uncommitted.
  Child a = Spawn([&] {
    return ConsumerMain(*n, groups[0], &area,
                        {.auto_commit = false, .max = kBatch, .log = 0, .check_complete = false,
                         .stall_at = stall ? total / 3 : 0});
  });
  Child bystander = Spawn([&] { return ConsumerMain(*n, groups[1], &area, {.auto_commit = true, .max = 64}); });
  std::vector<Child> producers;
  for (uint32_t i = 0; i < kProducers; ++i) {
    producers.push_back(Spawn([&, i] { return ProducerMain(*n, i, &area, false); }));
  }
  // Kill A once it has committed some batches and read a third of the records: the
  // ring (64 KiB, ~400 records) is far smaller than what is left, so the producers
  // are still running. Where exactly A dies (mid-batch or not) is up to chance.
  while (stall ? sh.stalled.load(std::memory_order_acquire) == 0
               : (sh.committed_batches[0].load(std::memory_order_acquire) < 10 ||
                  sh.log_len[0].load(std::memory_order_acquire) < total / 3)) {
    int st;
    if (waitpid(a.pid, &st, WNOHANG) == a.pid) {
      a.pid = -1;
      FAIL() << "consumer A exited before it was killed (status " << st << ")";
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ASSERT_EQ(kill(a.pid, SIGKILL), 0);
  Outcome killed = Reap(a);
  ASSERT_TRUE(WIFSIGNALED(killed.status) && WTERMSIG(killed.status) == SIGKILL) << killed.describe();
  const uint64_t a_len = sh.log_len[0].load(std::memory_order_acquire);
  const uint64_t a_committed_len = sh.committed_len[0].load(std::memory_order_acquire);
  ASSERT_LT(a_len, total) << "A was killed mid-run";

  // B takes over the group and resumes at the committed cursor.
  Child b = Spawn([&] {
    return ConsumerMain(*n, groups[0], &area, {.auto_commit = false, .max = kBatch, .log = 1, .check_complete = false});
  });
  uint64_t committed = 0;
  for (uint32_t i = 0; i < kProducers; ++i) {
    Outcome o = Reap(producers[i]);
    ASSERT_TRUE(o.ok()) << "producer " << i << ": " << o.describe();
    committed += Field(o.report, "committed");
  }
  EXPECT_EQ(committed, total);
  sh.producers_done.store(1, std::memory_order_release);
  Outcome ob = Reap(b);
  ASSERT_TRUE(ob.ok()) << "consumer B: " << ob.describe();
  Outcome oby = Reap(bystander);
  ASSERT_TRUE(oby.ok()) << "bystander: " << oby.describe();
  EXPECT_EQ(Field(oby.report, "received"), total) << "the other group never noticed";
  EXPECT_EQ(Field(ob.report, "previous_pid"), uint64_t(a.pid)) << ob.report;

  // A's log and B's log: each in position order, so B's first d records are exactly
  // A's last d records (A's uncommitted tail), d <= one batch; together they cover
  // every record of every producer.
  const uint64_t* la = area.log(0);
  const uint64_t* lb = area.log(1);
  const uint64_t b_len = sh.log_len[1].load(std::memory_order_acquire);
  uint64_t d = 0;
  const uint64_t first_b = b_len > 0 ? lb[0] : ~uint64_t{0};
  for (uint64_t i = 0; i < a_len; ++i) {
    if (la[i] == first_b) {
      d = a_len - i;
      break;
    }
  }
  std::printf("  A read %llu (committed %llu when last seen), B read %llu, duplicates %llu\n",
              (unsigned long long)a_len, (unsigned long long)a_committed_len, (unsigned long long)b_len,
              (unsigned long long)d);
  EXPECT_LE(d, kBatch) << "duplicates bounded by the uncommitted batch";
  EXPECT_LE(d, a_len - a_committed_len) << "only records after A's last commit are delivered again";
  if (stall) {
    EXPECT_EQ(d, a_len - a_committed_len) << "exactly the batch A read but did not commit is delivered again";
    EXPECT_GT(d, 0u);
  }
  for (uint64_t i = 0; i < d; ++i) ASSERT_EQ(lb[i], la[a_len - d + i]) << "B resumes exactly at A's committed cursor";
  EXPECT_EQ(a_len - d + b_len, total) << "together A and B received every record";
  std::vector<std::set<uint64_t>> seen(kProducers);
  for (uint64_t i = 0; i < a_len; ++i) seen[la[i] >> 48].insert(la[i] & 0xffffffffffff);
  for (uint64_t i = 0; i < b_len; ++i) seen[lb[i] >> 48].insert(lb[i] & 0xffffffffffff);
  for (uint32_t p = 0; p < kProducers; ++p) {
    EXPECT_EQ(seen[p].size(), per) << "producer " << p;
    if (!seen[p].empty()) EXPECT_EQ(*seen[p].rbegin(), per - 1) << "producer " << p;
  }

  // The ring's books: the killed reader's uncommitted batch was never counted as delivered.
  const RingStats st = ring->Stats();
  EXPECT_EQ(st.committed, total);
  for (const GroupStats& gs : st.groups) {
    EXPECT_EQ(gs.delivered, total) << gs.name;
    EXPECT_EQ(gs.corrupt, 0u) << gs.name;
    EXPECT_EQ(gs.lag_records, 0u) << gs.name;
  }
}

TEST(ForkStress, AConsumerKilledMidRunIsReplacedByOneThatResumesAtTheCommittedCursorWithBoundedDuplicates) {
  KillAndReplaceAConsumer(false);
}

TEST(ForkStress, AConsumerKilledBetweenReadingAndCommittingABatchHasExactlyThatBatchRedeliveredToItsSuccessor) {
  KillAndReplaceAConsumer(true);
}

}  // namespace
}  // namespace shmring
