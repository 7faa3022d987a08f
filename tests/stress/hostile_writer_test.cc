// The hostile writer (issue 7, DESIGN-BRIEF §3 invariant 6): one thread scribbles
// random and plausible-but-wrong values over record headers, lengths, payloads,
// the tail, group cursors and journals, and producer slots of a live ring, while a
// reader polls and another thread runs Stats and Verify (what shmctl does). Under
// ASan/UBSan: no crash, no out-of-bounds access, and:
//   - every delivered payload is at most max_record bytes and, read in place, lies
//     inside the data area;
//   - under the overwrite policy (the reader validates a private copy) every
//     delivered record is exactly a record the producer committed (self-describing
//     payloads, fuzz/fuzz_common.h);
//   - Verify's report stays bounded and reports a scribbled superblock.
// The producer is the same thread as the scribbler, so it never fills a claim that
// is being scribbled over (a writer that scribbles a claim before its owner commits
// it makes the owner sign garbage: no checksum can tell). In-place (block/reject)
// payloads are views of shared memory, so a hostile writer can change them after
// the reader validated them; that test counts such records but cannot fail on them.
//
// Bounded: the run lasts ~1.5 s x SHMRING_STRESS_SCALE per policy; the reader uses
// Poll (never Wait); producers use reject/overwrite (never block). Skipped under
// TSan: the scribbles are data races by design.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include "../../fuzz/fuzz_common.h"
#include "gtest/gtest.h"
#include "ring_impl.h"
#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/stats.h"
#include "test_ring.h"

#if defined(__SANITIZE_THREAD__)
#define HOSTILE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HOSTILE_TSAN 1
#endif
#endif

namespace shmring {
namespace {

using namespace layout;
using Clock = std::chrono::steady_clock;

double Scale() {
  const char* s = getenv("SHMRING_STRESS_SCALE");
  const double v = s ? atof(s) : 1.0;
  return std::clamp(v > 0 ? v : 1.0, 0.5, 4.0);
}

struct Counts {
  std::atomic<uint64_t> delivered{0}, bad_self_check{0}, reattached{0}, stats{0}, verifies{0};
  std::atomic<uint64_t> committed{0}, rejected{0}, scribbles{0};
};

class Scribbler {
 public:
  Scribbler(Ring::Impl& r, uint64_t seed) : r_(r), rng_(seed) {}

  uint64_t U64() { return rng_(); }
  uint64_t Below(uint64_t n) { return n ? rng_() % n : 0; }

  // A position near the tail (what a confused writer would most plausibly write).
  uint64_t NearTail() {
    const uint64_t t = r_.control().tail.load(std::memory_order_relaxed);
    const int64_t d = int64_t(Below(2 * r_.capacity + 64)) - int64_t(r_.capacity + 32);
    return (t + uint64_t(d)) & ~(Below(4) ? uint64_t{7} : uint64_t{0});
  }
  uint64_t Value64() {
    switch (Below(6)) {
      case 0: return U64();
      case 1: return NearTail();
      case 2: return NearTail() | (1 + Below(5));  // a header word naming a nearby position
      case 3: return Below(r_.capacity * 2);
      case 4: return ~uint64_t{0} - Below(64);
      default: return 0;
    }
  }

  template <typename T>
  void Put(void* at, T v) {
    memcpy(at, &v, sizeof v);
  }

  void Once() {
    uint8_t* data = r_.data();
    switch (Below(10)) {
      case 0:
      case 1: {  // a record header field at an 8-aligned data offset
        uint8_t* h = data + (Below(r_.capacity) & ~uint64_t{7});
        const uint64_t room = r_.capacity - uint64_t(h - data);
        if (room < kRecordHeaderSize) break;
        switch (Below(4)) {
          case 0: Put<uint64_t>(h, Value64()); break;                                   // word
          case 1: Put<uint32_t>(h + 16, uint32_t(Below(3) ? Below(r_.capacity) : U64())); break;  // len
          case 2: Put<uint64_t>(h + 8, U64()); break;                                   // checksum
          default: Put<uint32_t>(h + 24, uint32_t(U64())); break;                       // producer
        }
        break;
      }
      case 2: {  // random bytes anywhere in the data area
        const uint64_t n = 1 + Below(16);
        const uint64_t off = Below(r_.capacity - n);
        for (uint64_t i = 0; i < n; ++i) data[off + i] = uint8_t(U64());
        break;
      }
      case 3:
      case 4:  // the tail, now and then misaligned: producers refuse it (DataLoss),
               // readers and Verify stay on 8-aligned positions
        Put<uint64_t>(&r_.control().tail, (Below(3) ? NearTail() : Value64()) & ~(Below(4) ? uint64_t{7} : 0));
        break;
      case 5: {  // other control words (futex words, counters)
        const uint64_t off = 128 + (Below(300) & ~uint64_t{3});
        Put<uint32_t>(reinterpret_cast<uint8_t*>(&r_.control()) + off, uint32_t(U64()));
        break;
      }
      case 6:
      case 7: {  // a group slot field: cursor, journal, state, generation, counters, name
        uint8_t* gs = reinterpret_cast<uint8_t*>(&r_.group(uint32_t(Below(r_.max_groups))));
        switch (Below(5)) {
          case 0:
          case 1: Put<uint64_t>(gs, Value64()); break;  // cursor
          case 2: Put<uint64_t>(gs + 8 * Below(8), Value64()); break;  // journal
          case 3: Put<uint32_t>(gs + 64 + 4 * Below(2), uint32_t(Below(4))); break;  // state, generation
          default: gs[160 + Below(64)] = uint8_t(U64()); break;  // name
        }
        break;
      }
      default: {  // a producer slot: state, generation, claim_pos, claim_len
        uint8_t* ps = reinterpret_cast<uint8_t*>(&r_.producer(uint32_t(Below(r_.max_producers))));
        switch (Below(4)) {
          case 0: Put<uint32_t>(ps, uint32_t(Below(4))); break;
          case 1: Put<uint32_t>(ps + 4, uint32_t(U64())); break;
          case 2: Put<uint64_t>(ps + 40, Value64()); break;
          default: Put<uint64_t>(ps + 48, Below(2) ? Below(r_.capacity + 64) : Value64()); break;
        }
        break;
      }
    }
  }

  // Puts the shared words back into a state producers and readers can make progress
  // from (so that records keep flowing between the scribbles).
  void Repair(const std::vector<std::vector<uint8_t>>& group_slots) {
    const uint64_t t = r_.control().tail.load(std::memory_order_relaxed) & ~uint64_t{7};
    r_.control().tail.store(t, std::memory_order_relaxed);
    for (uint32_t g = 0; g < r_.max_groups; ++g) {
      auto& gs = r_.group(g);
      auto* bytes = reinterpret_cast<uint8_t*>(&gs);
      memcpy(bytes + 160, group_slots[g].data() + 160, 64);  // name
      gs.state.store(kSlotActive, std::memory_order_relaxed);
      gs.journal_state.store(0, std::memory_order_relaxed);
      const uint64_t w = gs.cursor.load(std::memory_order_relaxed);
      if (t - (w & ~kCursorTagMask) > r_.capacity) {  // a nonsense cursor: back to the tail
        gs.cursor.store(t | (w & kCursorGenMask), std::memory_order_relaxed);  // keep the reader's tag
      }
    }
  }

 private:
  Ring::Impl& r_;
  std::mt19937_64 rng_;
};

void RunHostile(Policy policy, uint64_t seed) {
#ifdef HOSTILE_TSAN
  GTEST_SKIP() << "the hostile writer races by design; run under ASan/UBSan";
#endif
  testing::ScopedRingName name;
  CreateOptions o;
  o.capacity = 16384;
  o.max_record = 1024;
  o.policy = policy;
  o.max_producers = 4;
  o.max_groups = 2;
  o.groups = {"a", "b"};
  auto ring = Ring::Create(*name, o);
  ASSERT_TRUE(ring.ok()) << ring.status();
  Ring::Impl& r = (*ring)->impl();
  std::vector<std::vector<uint8_t>> group_slots;
  for (uint32_t g = 0; g < r.max_groups; ++g) {
    auto* p = reinterpret_cast<const uint8_t*>(&r.group(g));
    group_slots.emplace_back(p, p + kGroupSlotSize);
  }

  const auto deadline = Clock::now() + std::chrono::milliseconds(int(1500 * Scale()));
  std::atomic<bool> stop{false};
  Counts c;
  const bool in_place = policy != Policy::kOverwrite;

  std::thread reader([&] {
    ReaderOptions ro;
    ro.spin = 0;
    std::unique_ptr<Reader> rd;
    std::vector<uint8_t> copy;
    while (!stop.load(std::memory_order_relaxed)) {
      if (!rd) {
        auto a = Reader::Attach(*ring, "a", ro);
        if (!a.ok()) {
          std::this_thread::yield();
          continue;
        }
        rd = std::move(*a);
        c.reattached.fetch_add(1, std::memory_order_relaxed);
      }
      auto b = rd->Poll(64);
      if (!b.ok()) {  // fenced by a scribbled cursor tag: take the group over again
        rd.reset();
        continue;
      }
      for (const RecordView& v : *b) {
        ASSERT_LE(v.payload.size(), r.max_record) << "at position " << v.position;
        const auto* p = reinterpret_cast<const uint8_t*>(v.payload.data());
        if (in_place && !v.payload.empty()) {
          ASSERT_GE(p, r.data()) << "payload before the data area, position " << v.position;
          ASSERT_LE(p + v.payload.size(), r.data() + r.capacity) << "payload past the data area";
        }
        copy.assign(p, p + v.payload.size());
        uint64_t seq = 0;
        if (!shmring_fuzz::CheckPayload(copy.data(), copy.size(), &seq)) {
          c.bad_self_check.fetch_add(1, std::memory_order_relaxed);
          if (!in_place) {
            ADD_FAILURE() << "overwrite policy delivered a record the producer did not commit, position "
                          << v.position << ", len " << v.payload.size();
            return;
          }
        } else if (seq == 0 || seq > c.committed.load(std::memory_order_acquire) + 1) {
          c.bad_self_check.fetch_add(1, std::memory_order_relaxed);
          if (!in_place) {
            ADD_FAILURE() << "delivered sequence " << seq << " was never committed";
            return;
          }
        }
        c.delivered.fetch_add(1, std::memory_order_relaxed);
      }
      if (b->empty()) std::this_thread::yield();
    }
  });

  std::thread inspector([&] {
    auto ro_ring = Ring::Open(*name, OpenOptions{.read_only = true});  // what shmctl stat/verify map
    ASSERT_TRUE(ro_ring.ok()) << ro_ring.status();
    while (!stop.load(std::memory_order_relaxed)) {
      for (const auto& rg : {*ring, *ro_ring}) {
        const RingStats s = rg->Stats();
        for (const GroupStats& g : s.groups) {
          ASSERT_LE(g.lag_bytes, s.capacity);
          ASSERT_LE(g.lag_records, s.capacity / kAlign);
          ASSERT_LE(g.name.size(), kGroupNameMax);
        }
        c.stats.fetch_add(1, std::memory_order_relaxed);
        const VerifyReport v = rg->Verify();
        ASSERT_LE(v.problems.size(), 100u);
        c.verifies.fetch_add(1, std::memory_order_relaxed);
      }
    }
  });

  // The hostile writer: produce a few records, scribble a few times, now and then repair.
  {
    Scribbler s(r, seed);
    ProducerOptions po;
    po.block_timeout = std::chrono::milliseconds(1);
    auto prod = Producer::Attach(*ring, po);
    ASSERT_TRUE(prod.ok()) << prod.status();
    std::vector<uint8_t> buf;
    uint64_t round = 0;
    while (Clock::now() < deadline && round < 2'000'000) {
      ++round;
      if (round % 8 == 0) s.Repair(group_slots);
      for (int i = int(s.Below(4)); i > 0; --i) {
        const size_t len = shmring_fuzz::kMinSelfChecked + s.Below(300);
        auto res = (*prod)->Reserve(len, 0, std::chrono::microseconds(0));
        if (!res.ok()) {
          c.rejected.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        const uint64_t seq = c.committed.load(std::memory_order_relaxed) + 1;
        shmring_fuzz::FillPayload(reinterpret_cast<uint8_t*>(res->data().data()), len, seq);
        c.committed.store(seq, std::memory_order_release);  // before the record can be seen
        (void)(*prod)->Commit(*res);
      }
      for (int i = s.Below(3) == 0 ? int(1 + s.Below(3)) : 0; i > 0; --i) {  // a third of the rounds
        s.Once();
        c.scribbles.fetch_add(1, std::memory_order_relaxed);
      }
    }
    stop.store(true);
  }
  reader.join();
  inspector.join();

  // A scribbled superblock: the library never reads it again, Verify reports it.
  {
    uint8_t* sb = r.base;
    sb[48] ^= 0xff;  // max_record
    const VerifyReport v = (*ring)->Verify();
    bool reported = false;
    for (const auto& p : v.problems) reported |= p.find("superblock") != std::string::npos;
    EXPECT_TRUE(reported) << "Verify did not report the scribbled superblock";
    EXPECT_EQ((*ring)->max_record(), o.max_record);  // the validated copy is what is used
    sb[48] ^= 0xff;
  }
  const RingStats st = (*ring)->Stats();
  uint64_t corrupt = 0;
  for (const auto& g : st.groups) corrupt += g.corrupt;
  printf("hostile writer (%s): %llu scribbles, %llu committed, %llu rejected, %llu delivered, "
         "%llu failed the self-check (in place: changed after validation), %llu reader attaches, "
         "%llu stats+verify, group corrupt counters %llu\n",
         std::string(PolicyName(policy)).c_str(), (unsigned long long)c.scribbles.load(),
         (unsigned long long)c.committed.load(), (unsigned long long)c.rejected.load(),
         (unsigned long long)c.delivered.load(), (unsigned long long)c.bad_self_check.load(),
         (unsigned long long)c.reattached.load(), (unsigned long long)c.verifies.load(),
         (unsigned long long)corrupt);
  EXPECT_GT(c.scribbles.load(), 100u);
  EXPECT_GT(c.stats.load(), 0u);
  if (!in_place) EXPECT_EQ(c.bad_self_check.load(), 0u);
}

TEST(HostileWriter, OverwritePolicyDeliversOnlyCommittedRecords) { RunHostile(Policy::kOverwrite, 1); }
TEST(HostileWriter, RejectPolicyNeverReadsOutOfBounds) { RunHostile(Policy::kReject, 2); }

}  // namespace
}  // namespace shmring
