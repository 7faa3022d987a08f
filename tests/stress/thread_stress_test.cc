// Multi-threaded stress: N producer threads x M consumer groups, each group with
// its own reader thread, under each full policy, and across the 2^64 position wrap.
//
// Every record carries a self-checking payload (producer id, sequence number,
// length, and a pattern derived from them), so a torn, misplaced or foreign record
// is detected by the reader even if its checksum happened to verify. Pass/fail is
// deterministic: no assertion depends on timing (waits only bound a hang).
//
// SHMRING_STRESS_SCALE (default 1) multiplies the record counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
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

// ---- self-checking payloads ----

struct PayloadHead {
  uint32_t producer;
  uint32_t len;
  uint64_t seq;
};
static_assert(sizeof(PayloadHead) == 16);

uint32_t LenFor(uint32_t producer, uint64_t seq, uint32_t max_len) {
  return uint32_t(sizeof(PayloadHead) + (seq * 13 + producer * 7) % (max_len - sizeof(PayloadHead) + 1));
}
std::byte PatternByte(uint32_t producer, uint64_t seq, size_t i) {
  return std::byte((producer * 31 + seq * 17 + i * 3) & 0xff);
}
void Fill(std::span<std::byte> out, uint32_t producer, uint64_t seq) {
  PayloadHead h{producer, uint32_t(out.size()), seq};
  memcpy(out.data(), &h, sizeof h);
  for (size_t i = sizeof h; i < out.size(); ++i) out[i] = PatternByte(producer, seq, i);
}
// Returns an empty string if the payload is intact, else what is wrong.
std::string Check(std::span<const std::byte> p, uint32_t producers, PayloadHead* out) {
  if (p.size() < sizeof(PayloadHead)) return "short record of " + std::to_string(p.size()) + " bytes";
  PayloadHead h;
  memcpy(&h, p.data(), sizeof h);
  if (h.producer >= producers) return "unknown producer " + std::to_string(h.producer);
  if (h.len != p.size()) return "length " + std::to_string(p.size()) + " but the payload says " + std::to_string(h.len);
  for (size_t i = sizeof h; i < p.size(); ++i) {
    if (p[i] != PatternByte(h.producer, h.seq, i)) {
      return "torn payload of producer " + std::to_string(h.producer) + " seq " + std::to_string(h.seq) +
             " at byte " + std::to_string(i);
    }
  }
  *out = h;
  return "";
}

// ---- producers ----

struct ProducerResult {
  std::vector<uint64_t> committed;  // sequence numbers, in commit order
  uint64_t attempted = 0;           // sequence numbers tried: each is committed or dropped
  uint64_t dropped = 0;             // sequence numbers refused
  uint64_t aborted = 0;             // claims aborted on purpose
  uint64_t abort_claims_dropped = 0;  // claims meant to be aborted that were refused (also drops)
  std::string error;
};

// Writes `count` sequence numbers with a mix of Write, Reserve+Commit,
// Reserve+Abort and ReserveBatch. A refused record (reject, overwrite, or block
// past the deadline when `may_drop`) is counted and its sequence number skipped.
void Produce(std::shared_ptr<Ring> ring, uint32_t id, uint64_t count, uint32_t max_len, bool may_drop,
             std::chrono::nanoseconds block_timeout, ProducerResult* out, std::atomic<uint64_t>* committed_bytes) {
  auto attached = Producer::Attach(ring, ProducerOptions{.block_timeout = block_timeout});
  if (!attached.ok()) {
    out->error = attached.status().ToString();
    return;
  }
  Producer& p = **attached;
  auto refused = [&](const absl::Status& s, uint64_t n) {
    if (!may_drop || (!absl::IsResourceExhausted(s) && !absl::IsDeadlineExceeded(s))) {
      out->error = "producer " + std::to_string(id) + ": " + s.ToString();
      return false;
    }
    out->attempted += n;
    out->dropped += n;
    // Let the readers make room (not needed for correctness; keeps the run mostly commits).
    std::this_thread::sleep_for(std::chrono::microseconds(20));
    return true;
  };
  auto done = [&](uint64_t seq, uint32_t len) {
    out->attempted += 1;
    out->committed.push_back(seq);
    if (committed_bytes) committed_bytes->fetch_add(len, std::memory_order_relaxed);
  };
  uint64_t seq = 0;
  for (uint64_t step = 0; seq < count && out->error.empty(); ++step) {
    const uint32_t len = LenFor(id, seq, max_len);
    switch ((step * 7 + id) % 10) {
      case 0: {  // a batch of up to 4 records
        std::vector<uint32_t> lens;
        for (uint64_t k = seq; k < seq + 4 && k < count; ++k) lens.push_back(LenFor(id, k, max_len));
        auto b = p.ReserveBatch(lens);
        if (!b.ok()) {
          if (!refused(b.status(), lens.size())) return;
          seq += lens.size();
          break;
        }
        for (size_t i = 0; i < lens.size(); ++i) Fill(b->data(i), id, seq + i);
        if (absl::Status s = p.Commit(*b); !s.ok()) {
          out->error = s.ToString();
          return;
        }
        for (size_t i = 0; i < lens.size(); ++i) done(seq + i, lens[i]);
        seq += lens.size();
        break;
      }
      case 1: {  // an aborted claim, then the record itself
        auto r = p.Reserve(len);
        if (r.ok()) {
          memset(r->data().data(), 0xee, r->data().size());
          p.Abort(*r);
          ++out->aborted;
        } else if (!may_drop || (!absl::IsResourceExhausted(r.status()) && !absl::IsDeadlineExceeded(r.status()))) {
          out->error = r.status().ToString();
          return;
        } else {
          ++out->abort_claims_dropped;  // refused before it could be aborted: the ring counts a drop
        }
        [[fallthrough]];
      }
      case 2:
      case 3:
      case 4: {  // zero-copy
        auto r = p.Reserve(len);
        if (!r.ok()) {
          if (!refused(r.status(), 1)) return;
          ++seq;
          break;
        }
        Fill(r->data(), id, seq);
        if (absl::Status s = p.Commit(*r); !s.ok()) {
          out->error = s.ToString();
          return;
        }
        done(seq, len);
        ++seq;
        break;
      }
      default: {  // copy-in
        std::vector<std::byte> buf(len);
        Fill(buf, id, seq);
        absl::Status s = p.Write(buf);
        if (!s.ok()) {
          if (!refused(s, 1)) return;
        } else {
          done(seq, len);
        }
        ++seq;
        break;
      }
    }
  }
}

// ---- readers ----

struct GroupResult {
  std::vector<std::vector<uint64_t>> seqs;  // per producer, in delivery order
  std::string error;
  uint64_t records = 0;
};

struct ReadOptions {
  bool auto_commit = true;
  size_t max = 64;
  // Do not read before this flag is set (a group that starts behind).
  const std::atomic<bool>* start = nullptr;
  // Slow reader: yields this many times after each record.
  int slow = 0;
};

// Reads until the producers are done and a poll after that finds nothing.
void Consume(std::shared_ptr<Ring> ring, std::string group, uint32_t producers, const std::atomic<bool>* producers_done,
             ReadOptions opt, GroupResult* out) {
  out->seqs.assign(producers, {});
  auto attached = Reader::Attach(ring, group, ReaderOptions{.auto_commit = opt.auto_commit, .spin = 50});
  if (!attached.ok()) {
    out->error = attached.status().ToString();
    return;
  }
  Reader& rd = **attached;
  if (opt.start) {
    while (!opt.start->load(std::memory_order_acquire)) std::this_thread::yield();
  }
  for (;;) {
    const bool done_before = producers_done->load(std::memory_order_acquire);
    auto b = rd.Wait(opt.max, std::chrono::milliseconds(20));
    if (!b.ok()) {
      out->error = "group " + group + ": " + b.status().ToString();
      return;
    }
    for (const RecordView& v : *b) {
      PayloadHead h;
      std::string bad = Check(v.payload, producers, &h);
      if (!bad.empty()) {
        out->error = "group " + group + " at position " + std::to_string(v.position) + ": " + bad;
        return;
      }
      out->seqs[h.producer].push_back(h.seq);
      ++out->records;
      for (int i = 0; i < opt.slow; ++i) std::this_thread::yield();
    }
    if (!opt.auto_commit) {
      if (absl::Status s = rd.Commit(); !s.ok()) {
        out->error = "group " + group + ": " + s.ToString();
        return;
      }
    }
    if (done_before && b->empty()) break;
  }
  if (opt.auto_commit) (void)rd.Poll(1);  // commits the last batch (nothing is left to read)
}

// True if `v` is strictly increasing: no duplicates, order kept.
bool StrictlyIncreasing(const std::vector<uint64_t>& v) { return std::adjacent_find(v.begin(), v.end(), std::greater_equal<>()) == v.end(); }

std::vector<uint64_t> Iota(uint64_t n) {
  std::vector<uint64_t> v(n);
  for (uint64_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

struct StressRun {
  std::vector<ProducerResult> producers;
  std::vector<GroupResult> groups;
};

// Starts the readers, then the producers; joins everything.
StressRun RunAll(std::shared_ptr<Ring> ring, const std::vector<std::string>& groups, uint32_t nprod, uint64_t per_producer,
           uint32_t max_len, bool may_drop, std::chrono::nanoseconds block_timeout, std::vector<ReadOptions> ropts,
           const std::function<void(const std::vector<ProducerResult>&)>& while_running = {},
           std::atomic<uint64_t>* committed_bytes = nullptr) {
  StressRun run;
  run.producers.resize(nprod);
  run.groups.resize(groups.size());
  std::atomic<bool> producers_done{false};
  std::vector<std::thread> readers, writers;
  for (size_t g = 0; g < groups.size(); ++g) {
    readers.emplace_back(Consume, ring, groups[g], nprod, &producers_done, ropts[g], &run.groups[g]);
  }
  for (uint32_t i = 0; i < nprod; ++i) {
    writers.emplace_back(Produce, ring, i, per_producer, max_len, may_drop, block_timeout, &run.producers[i],
                         committed_bytes);
  }
  if (while_running) while_running(run.producers);
  for (auto& t : writers) t.join();
  producers_done.store(true, std::memory_order_release);
  for (auto& t : readers) t.join();
  return run;
}

std::shared_ptr<Ring> Make(const ScopedRingName& n, CreateOptions o) {
  auto r = Ring::Create(*n, o);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : nullptr;
}

void PrintSummary(const Ring& ring) {
  const RingStats st = ring.Stats();
  std::string line = "committed " + std::to_string(st.committed) + ", dropped " + std::to_string(st.dropped) +
                     ", aborted " + std::to_string(st.aborted) + ", laps " + std::to_string((st.tail - 0) / st.capacity);
  for (const GroupStats& g : st.groups) {
    line += "; " + g.name + ": delivered " + std::to_string(g.delivered) + ", overwritten " + std::to_string(g.overwritten);
  }
  std::printf("  %s\n", line.c_str());
}

// Every committed record reached every group exactly once, in each producer's
// commit order, and the ring's accounting closes.
void ExpectExactlyOnce(const Ring& ring, const StressRun& run, const std::vector<std::string>& groups) {
  uint64_t committed = 0, attempted = 0, dropped = 0, aborted = 0;
  for (size_t i = 0; i < run.producers.size(); ++i) {
    const ProducerResult& p = run.producers[i];
    ASSERT_EQ(p.error, "") << "producer " << i;
    EXPECT_EQ(p.committed.size() + p.dropped, p.attempted) << "producer " << i;
    committed += p.committed.size();
    attempted += p.attempted;
    dropped += p.dropped + p.abort_claims_dropped;
    aborted += p.aborted;
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    const GroupResult& r = run.groups[g];
    ASSERT_EQ(r.error, "") << "group " << groups[g];
    for (size_t i = 0; i < run.producers.size(); ++i) {
      // Equal to the producer's own commit list: exactly once, nothing foreign, in order.
      EXPECT_TRUE(r.seqs[i] == run.producers[i].committed)
          << "group " << groups[g] << ", producer " << i << ": delivered " << r.seqs[i].size() << " of "
          << run.producers[i].committed.size() << " committed (or out of order / duplicated)";
    }
  }
  PrintSummary(ring);
  const RingStats st = ring.Stats();
  EXPECT_EQ(st.committed, committed);
  EXPECT_EQ(st.dropped, dropped);
  EXPECT_EQ(st.aborted, aborted);
  EXPECT_EQ(st.abandoned, 0u);
  for (const GroupStats& gs : st.groups) {
    EXPECT_EQ(gs.delivered, committed) << gs.name;
    EXPECT_EQ(gs.corrupt, 0u) << gs.name;
    EXPECT_EQ(gs.overwritten, 0u) << gs.name;
    EXPECT_EQ(gs.abandoned, 0u) << gs.name;
    EXPECT_EQ(gs.lag_records, 0u) << gs.name;
    EXPECT_EQ(gs.cursor, st.tail) << gs.name;
    // The brief's equation per group (drops never became committed records).
    EXPECT_EQ(gs.delivered + gs.overwritten + gs.abandoned + gs.corrupt + gs.lag_records, st.committed) << gs.name;
  }
}

constexpr uint32_t kProducers = 4;
const std::vector<std::string> kGroups = {"alpha", "beta", "gamma"};

TEST(ThreadStress, FourProducersThreeGroupsDeliverEveryRecordExactlyOnceUnderBlock) {
  ScopedRingName n;
  auto ring = Make(n, {.capacity = 64 << 10, .policy = Policy::kBlock, .groups = kGroups});
  ASSERT_TRUE(ring);
  const uint64_t per = Scaled(25000);
  StressRun run = RunAll(ring, kGroups, kProducers, per, 300, /*may_drop=*/false, std::chrono::seconds(120),
                   {{.auto_commit = true, .max = 64}, {.auto_commit = false, .max = 7}, {.auto_commit = false, .max = 256, .slow = 20}});
  ExpectExactlyOnce(*ring, run, kGroups);
  for (const ProducerResult& p : run.producers) {
    EXPECT_EQ(p.committed, Iota(per)) << "under block nothing is dropped";
    EXPECT_EQ(p.dropped, 0u);
  }
  const RingStats st = ring->Stats();
  EXPECT_EQ(st.committed, kProducers * per);
  EXPECT_EQ(st.dropped, 0u);
  EXPECT_GT(st.tail, 8 * st.capacity) << "the ring wrapped many times";
}

TEST(ThreadStress, FourProducersThreeGroupsDeliverEveryCommittedRecordExactlyOnceAndCountDropsUnderReject) {
  ScopedRingName n;
  auto ring = Make(n, {.capacity = 32 << 10, .policy = Policy::kReject, .groups = kGroups});
  ASSERT_TRUE(ring);
  const uint64_t per = Scaled(25000);
  // One group starts reading only after the producers saw a drop, so drops are certain.
  std::atomic<bool> dropped_once{false};
  StressRun run = RunAll(ring, kGroups, kProducers, per, 300, /*may_drop=*/true, std::chrono::seconds(0),
                   {{.auto_commit = true, .max = 64, .start = &dropped_once},
                    {.auto_commit = false, .max = 5},
                    {.auto_commit = true, .max = 300, .slow = 2}},
                   [&](const std::vector<ProducerResult>&) {
                     while (ring->Stats().dropped == 0) std::this_thread::yield();
                     dropped_once.store(true, std::memory_order_release);
                   });
  ExpectExactlyOnce(*ring, run, kGroups);
  // committed + dropped == attempted: every sequence number was either committed
  // or refused and counted (claims meant to be aborted that were refused count as drops too).
  uint64_t attempted = 0, abort_claims_dropped = 0;
  for (const ProducerResult& p : run.producers) {
    EXPECT_EQ(p.attempted, per);
    attempted += p.attempted;
    abort_claims_dropped += p.abort_claims_dropped;
  }
  const RingStats st = ring->Stats();
  EXPECT_GT(st.dropped, 0u);
  EXPECT_EQ(st.committed + st.dropped, attempted + abort_claims_dropped);
}

TEST(ThreadStress, OverwriteNeverDeliversATornRecordToASlowOrAFastGroupAndTheAccountingCloses) {
  ScopedRingName n;
  const std::vector<std::string> groups = {"fast", "slow"};
  auto ring = Make(n, {.capacity = 16 << 10, .policy = Policy::kOverwrite, .groups = groups});
  ASSERT_TRUE(ring);
  const uint64_t per = Scaled(25000);
  // The slow group starts after more than a ring's worth was committed: it is overwritten for sure.
  std::atomic<bool> lapped{false};
  std::atomic<uint64_t> bytes{0};
  StressRun run = RunAll(ring, groups, kProducers, per, 500, /*may_drop=*/true, std::chrono::seconds(0),
                   {{.auto_commit = true, .max = 64}, {.auto_commit = true, .max = 3, .start = &lapped, .slow = 200}},
                   [&](const std::vector<ProducerResult>&) {
                     while (bytes.load(std::memory_order_relaxed) < 4 * ring->capacity()) std::this_thread::yield();
                     lapped.store(true, std::memory_order_release);
                   },
                   &bytes);
  uint64_t committed = 0, dropped = 0;
  for (size_t i = 0; i < run.producers.size(); ++i) {
    ASSERT_EQ(run.producers[i].error, "");
    EXPECT_EQ(run.producers[i].committed.size() + run.producers[i].dropped, per);
    committed += run.producers[i].committed.size();
    dropped += run.producers[i].dropped + run.producers[i].abort_claims_dropped;
  }
  PrintSummary(*ring);
  const RingStats st = ring->Stats();
  EXPECT_EQ(st.committed, committed);
  EXPECT_EQ(st.dropped, dropped);
  for (size_t g = 0; g < groups.size(); ++g) {
    const GroupResult& r = run.groups[g];
    ASSERT_EQ(r.error, "") << groups[g];  // no torn or foreign payload was delivered
    for (size_t i = 0; i < run.producers.size(); ++i) {
      // Order per producer, no duplicates, and only records that were committed.
      EXPECT_TRUE(StrictlyIncreasing(r.seqs[i])) << groups[g] << " producer " << i;
      EXPECT_TRUE(std::includes(run.producers[i].committed.begin(), run.producers[i].committed.end(),
                                r.seqs[i].begin(), r.seqs[i].end()))
          << groups[g] << " producer " << i << ": delivered a record that was never committed";
    }
    const GroupStats& gs = st.groups[g];
    EXPECT_EQ(gs.delivered, r.records) << gs.name;
    EXPECT_EQ(gs.corrupt, 0u) << gs.name;
    EXPECT_EQ(gs.lag_records, 0u) << gs.name;
    EXPECT_EQ(gs.delivered + gs.overwritten, st.committed) << gs.name;
  }
  EXPECT_GT(st.groups[1].overwritten, 0u) << "the slow group was lapped";
}

TEST(ThreadStress, PositionsStartedNearTwoToTheSixtyFourCrossTheWrapWithEveryRecordDeliveredExactlyOnce) {
  ScopedRingName n;
  const uint64_t initial = uint64_t{0} - 64 * 1024 - 40;
  static_assert((uint64_t{0} - 64 * 1024 - 40) % 8 == 0);
  auto ring = Make(n, {.capacity = 16 << 10, .policy = Policy::kBlock, .groups = {"a", "b"}, .initial_position = initial});
  ASSERT_TRUE(ring);
  const uint64_t per = Scaled(15000);
  const std::vector<std::string> groups = {"a", "b"};
  StressRun run = RunAll(ring, groups, kProducers, per, 200, false, std::chrono::seconds(120),
                   {{.auto_commit = true, .max = 64}, {.auto_commit = false, .max = 9}});
  ExpectExactlyOnce(*ring, run, groups);
  const RingStats st = ring->Stats();
  EXPECT_LT(st.tail, initial) << "the positions wrapped past 2^64";
  EXPECT_GT(st.tail, uint64_t{64} * 1024) << "and went on for several laps after the wrap";
}

}  // namespace
}  // namespace shmring
