// The hostile writer (issue 7, DESIGN-BRIEF §3 invariant 6), for each policy (block,
// reject, overwrite). One thread produces self-describing records (fuzz/fuzz_common.h),
// scribbles over the ring and reads it, in lock step, so that every run with a seed
// does the same; an inspector thread meanwhile runs what `shmctl stat`, `stat --json`,
// `metrics`, `verify` and `recover` print (Stats, Verify and the shmctl renderers) on a
// read-write and a read-only mapping. Under ASan/UBSan nothing crashes or reads out of
// bounds, and:
//
//  1. Spoiled records are counted, never delivered: the writer changes a byte of a
//     committed, unread record's checksum, type, flags, producer, message count or
//     payload, or changes its length to another one, valid-looking (over the next
//     records, or short of its own end) or not (the checksum covers them all), and
//     remembers which. Each poll then
//     delivers exactly the intact records, and the group's corrupt counter rises by
//     exactly the number spoiled: delivered + corrupt == committed.
//  2. Chaos: scribbles over record headers (words, lengths), payloads, the tail,
//     other control words, group slots (cursor, journal, state, name) and producer
//     slots (state, generation, intent, counter journals pend_word/reclaim_word/
//     fence_word), left in place for up to 8 rounds while records flow. Every
//     delivered payload is at most max_record and, in place, inside the data area;
//     under overwrite (the reader validates a private copy) every delivered record is
//     one the producer committed. Every 8 rounds the writer undoes its scribbles (tail
//     realigned, cursors moved to the tail), the reader takes the group over again
//     (its private position is not the cursor the repair moved), and 4 new records
//     must all be delivered, first: the reader makes real progress after any damage.
//  3. A scribbled superblock is reported by Verify; the validated copy stays in use.
//
// A spoiled length fails the checksum; the reader then resyncs on the next header
// that names its own position instead of stepping over it (spec/PROTOCOL.md §5.5), so
// the records after it are delivered and the count stays exact. Skipped under TSan:
// the scribbles race with the inspector by design.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "../../fuzz/fuzz_common.h"
#include "gtest/gtest.h"
#include "ring_impl.h"
#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/stats.h"
#include "test_ring.h"

// The shmctl renderers, compiled in when their JSON library is there.
#if __has_include(<nlohmann/json.hpp>)
#define HOSTILE_RENDERERS 1
#include "../../tools/shmctl/args.cc"
#include "../../tools/shmctl/cmd_verify.cc"
#include "../../tools/shmctl/render_json.cc"
#include "../../tools/shmctl/render_prom.cc"
#include "../../tools/shmctl/render_text.cc"
#endif

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

int Rounds(int base) {
  const char* s = getenv("SHMRING_STRESS_SCALE");
  const double v = s ? atof(s) : 1.0;
  return int(base * std::clamp(v > 0 ? v : 1.0, 0.5, 4.0));
}

// Chaos scribbles. Every write outside the data area, the tail and the cursors is
// logged so that Repair can undo it.
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
  void Put(void* at, T v, bool undo = true) {
    if (undo) {
      Saved s{static_cast<uint8_t*>(at), sizeof v, {}};
      memcpy(s.bytes, at, sizeof v);
      log_.push_back(s);
    }
    memcpy(at, &v, sizeof v);
  }

  void Once() {
    uint8_t* data = r_.data();
    switch (Below(11)) {
      case 0:
      case 1: {  // a record header field at an 8-aligned data offset
        uint8_t* h = data + (Below(r_.capacity) & ~uint64_t{7});
        if (r_.capacity - uint64_t(h - data) < kRecordHeaderSize) break;
        switch (Below(4)) {
          case 0: Put<uint64_t>(h, Value64(), false); break;  // word
          case 1: Put<uint32_t>(h + 16, uint32_t(Below(3) ? Below(r_.capacity) : U64()), false); break;  // len
          case 2: Put<uint64_t>(h + 8, U64(), false); break;  // checksum
          default: Put<uint32_t>(h + 24, uint32_t(U64()), false); break;  // producer
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
        Put<uint64_t>(&r_.control().tail, (Below(3) ? NearTail() : Value64()) & ~(Below(4) ? uint64_t{7} : 0), false);
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
          case 1: Put<uint64_t>(gs, Value64(), false); break;  // cursor
          case 2: Put<uint64_t>(gs + 8 * (1 + Below(7)), Value64()); break;  // journal
          case 3: Put<uint32_t>(gs + 64 + 4 * Below(2), uint32_t(Below(4))); break;  // state, generation
          default: Put<uint8_t>(gs + 160 + Below(64), uint8_t(U64())); break;  // name
        }
        break;
      }
      case 8: {  // a producer slot's counter journals (spec/LAYOUT.md §4, RECOVERY §2.1)
        uint8_t* ps = reinterpret_cast<uint8_t*>(&r_.producer(uint32_t(Below(r_.max_producers))));
        static constexpr size_t kJournal[] = {offsetof(ProducerSlot, pend_word), offsetof(ProducerSlot, reclaim_word),
                                              offsetof(ProducerSlot, fence_word), offsetof(ProducerSlot, pend_committed)};
        Put<uint64_t>(ps + kJournal[Below(4)], Value64());
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

  // Undoes the logged scribbles (newest first), realigns the tail and moves every
  // group's cursor to it (keeping the tag of the reader that holds it): producers and
  // readers can make progress from here, whatever the data area holds before the tail.
  void Repair() {
    for (auto it = log_.rbegin(); it != log_.rend(); ++it) memcpy(it->at, it->bytes, it->n);
    log_.clear();
    const uint64_t t = r_.control().tail.load(std::memory_order_relaxed) & ~uint64_t{7};
    r_.control().tail.store(t, std::memory_order_relaxed);
    for (uint32_t g = 0; g < r_.max_groups; ++g) {
      auto& gs = r_.group(g);
      gs.journal_state.store(0, std::memory_order_relaxed);
      const uint64_t w = gs.cursor.load(std::memory_order_relaxed);
      gs.cursor.store(t | (w & kCursorGenMask), std::memory_order_relaxed);
    }
  }

 private:
  struct Saved {
    uint8_t* at;
    size_t n;
    uint8_t bytes[8];
  };
  Ring::Impl& r_;
  std::mt19937_64 rng_;
  std::vector<Saved> log_;
};

// What `shmctl stat/metrics/verify` do, on both mappings, until told to stop.
void InspectUntilStopped(const std::shared_ptr<Ring>& rw, const std::string& name, const std::atomic<bool>& stop,
                         std::atomic<uint64_t>& runs) {
  auto ro = Ring::Open(name, OpenOptions{.read_only = true});  // what shmctl maps
  ASSERT_TRUE(ro.ok()) << ro.status();
  while (!stop.load(std::memory_order_relaxed)) {
    for (const auto& rg : {rw, *ro}) {
      const RingStats s = rg->Stats();
      for (const GroupStats& g : s.groups) {
        ASSERT_LE(g.lag_bytes, s.capacity);
        ASSERT_LE(g.lag_records, s.capacity / kAlign);
        ASSERT_LE(g.name.size(), kGroupNameMax);
      }
      const VerifyReport v = rg->Verify();
      ASSERT_LE(v.problems.size(), 100u);
#ifdef HOSTILE_RENDERERS
      std::ostringstream out;
      shmctl::RenderStatText(s, out);
      out << shmctl::RenderStatJson(s) << shmctl::RenderPrometheus({s});
      shmctl::RenderVerifyText(rg->path(), v, out);
      out << shmctl::RenderVerifyJson(rg->path(), v);
      ASSERT_FALSE(out.str().empty());
#endif
      runs.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

class Hostile {
 public:
  explicit Hostile(Policy policy) : policy_(policy) {
    CreateOptions o;
    o.capacity = 16384;
    o.max_record = 1024;
    o.policy = policy;
    o.checksums = true;
    o.max_producers = 4;
    o.max_groups = 2;
    o.groups = {"a", "b"};
    auto ring = Ring::Create(*name_, o);
    EXPECT_TRUE(ring.ok()) << ring.status();
    if (!ring.ok()) return;
    ring_ = *ring;
    ProducerOptions po;
    po.block_timeout = std::chrono::milliseconds(1);
    auto p = Producer::Attach(ring_, po);
    EXPECT_TRUE(p.ok()) << p.status();
    if (p.ok()) producer_ = std::move(*p);
    Reattach();
  }

  Ring::Impl& r() { return ring_->impl(); }
  bool ok() const { return ring_ && producer_ && reader_; }
  bool in_place() const { return policy_ != Policy::kOverwrite; }

  // `must`: the group slot is sane (not amid scribbles), so the takeover has to work.
  void Reattach(bool must = true) {
    reader_.reset();
    ReaderOptions ro;
    ro.spin = 0;
    auto a = Reader::Attach(ring_, "a", ro);
    if (must) EXPECT_TRUE(a.ok()) << a.status();
    if (a.ok()) reader_ = std::move(*a);
  }

  // Group b follows group a (as if a reader kept up), so that it never fills the ring.
  void FollowB() {
    const uint64_t a = r().group(0).cursor.load() & ~kCursorTagMask;
    auto& gb = r().group(1).cursor;
    gb.store(a | (gb.load() & kCursorTagMask));
  }

  // Writes one self-describing record; its sequence number and position, or 0.
  uint64_t Write(size_t len, uint64_t* pos = nullptr) {
    auto res = producer_->Reserve(len, 0, std::chrono::microseconds(0));
    if (!res.ok()) return 0;
    const uint64_t seq = ++seq_;
    shmring_fuzz::FillPayload(reinterpret_cast<uint8_t*>(res->data().data()), len, seq);
    if (pos) *pos = res->position();
    if (!producer_->Commit(*res).ok()) return 0;
    committed_.insert(seq);
    return seq;
  }

  // Polls until empty (bounded); checks every delivered record; returns their sequence numbers.
  std::vector<uint64_t> Drain() {
    std::vector<uint64_t> got;
    std::vector<uint8_t> copy;
    for (int polls = 0; polls < 64 && reader_; ++polls) {
      auto b = reader_->Poll(64);
      if (!b.ok()) {  // fenced by a scribbled cursor tag: take the group over again (its slot
        Reattach(false);  // may be scribbled too: then no reader until the repair)
        continue;
      }
      if (b->empty()) break;
      for (const RecordView& v : *b) {
        EXPECT_LE(v.payload.size(), r().max_record) << "at position " << v.position;
        const auto* p = reinterpret_cast<const uint8_t*>(v.payload.data());
        if (in_place() && !v.payload.empty()) {
          EXPECT_GE(p, r().data()) << "payload before the data area, position " << v.position;
          EXPECT_LE(p + v.payload.size(), r().data() + r().capacity) << "payload past the data area";
          if (p < r().data() || p + v.payload.size() > r().data() + r().capacity) continue;
        }
        copy.assign(p, p + v.payload.size());
        uint64_t seq = 0;
        if (shmring_fuzz::CheckPayload(copy.data(), copy.size(), &seq) && committed_.count(seq)) {
          got.push_back(seq);
        } else {
          ++unknown_;  // in place, a scribble may land after validation (PROTOCOL §10 item 4)
          EXPECT_TRUE(in_place()) << "overwrite delivered a record never committed, position " << v.position;
        }
      }
    }
    if (reader_) (void)reader_->Commit();
    FollowB();
    return got;
  }

  uint64_t Corrupt() { return ring_->Stats().groups[0].corrupt; }

  testing::ScopedRingName name_;
  Policy policy_;
  std::shared_ptr<Ring> ring_;
  std::unique_ptr<Producer> producer_;
  std::unique_ptr<Reader> reader_;
  std::set<uint64_t> committed_;
  uint64_t seq_ = 0, unknown_ = 0;
};

// Part 1: spoiled records are counted corrupt, the others delivered, exactly.
void SpoiledRecordsAreCountedNeverDelivered(Hostile& h, std::mt19937_64& rng) {
  uint64_t spoiled_total = 0, delivered_total = 0;
  for (int round = 0; round < Rounds(1000); ++round) {
    const uint64_t corrupt0 = h.Corrupt();
    std::vector<uint64_t> written;
    std::set<uint64_t> spoiled;
    for (int i = 0; i < 1 + int(rng() % 6); ++i) {
      uint64_t pos = 0;
      const size_t len = shmring_fuzz::kMinSelfChecked + rng() % 300;
      const uint64_t seq = h.Write(len, &pos);
      ASSERT_NE(seq, 0u) << "a write into a drained ring failed, round " << round;
      written.push_back(seq);
      if (rng() % 3 != 0) continue;
      // One byte of the checksum [8,16), the fields [20,32) or the payload, changed for
      // sure; or the length [16,20): another one up to max_record, or any other.
      const uint64_t field = rng() % 4;
      uint8_t* at = h.r().data() + (pos & h.r().mask);
      if (field == 3) {
        uint32_t was;
        memcpy(&was, at + 16, 4);
        uint32_t now = rng() % 4 != 0 ? uint32_t(rng() % (h.r().max_record + 1)) : uint32_t(rng());
        if (now == was) now = was + 1;
        memcpy(at + 16, &now, 4);
      } else {
        const uint64_t off = field == 0 ? 8 + rng() % 8 : field == 1 ? 20 + rng() % 12 : kRecordHeaderSize + rng() % len;
        at[off] ^= uint8_t(1 + rng() % 255);
      }
      spoiled.insert(seq);
    }
    const std::vector<uint64_t> got = h.Drain();
    std::vector<uint64_t> want;
    for (uint64_t s : written) {
      if (!spoiled.count(s)) want.push_back(s);
    }
    ASSERT_EQ(got, want) << "round " << round << ": delivered records are exactly the intact ones, in order";
    ASSERT_EQ(h.Corrupt() - corrupt0, spoiled.size()) << "round " << round << ": every spoiled record counted corrupt";
    spoiled_total += spoiled.size();
    delivered_total += got.size();
  }
  printf("  spoiled and counted: %llu, delivered intact: %llu\n", (unsigned long long)spoiled_total,
         (unsigned long long)delivered_total);
  EXPECT_GT(spoiled_total, 100u);
}

// Part 2: chaos, with a repair, a takeover and a progress check every 8 rounds.
void ChaosNeverCrashesAndTheReaderRecovers(Hostile& h, uint64_t seed) {
  Scribbler s(h.r(), seed);
  uint64_t scribbles = 0, delivered = 0, rejected = 0, checked = 0;
  for (int round = 1; round <= Rounds(30000); ++round) {
    for (int i = int(s.Below(4)); i > 0; --i) {
      if (h.Write(shmring_fuzz::kMinSelfChecked + s.Below(300)) == 0) ++rejected;
    }
    for (int i = s.Below(3) == 0 ? int(1 + s.Below(3)) : 0; i > 0; --i) {
      s.Once();
      ++scribbles;
    }
    delivered += h.Drain().size();
    if (::testing::Test::HasFatalFailure()) return;
    if (round % 8 != 0) continue;
    s.Repair();
    h.Reattach();
    ASSERT_TRUE(h.reader_) << "round " << round;
    std::vector<uint64_t> want;
    for (int i = 0; i < 4; ++i) {
      const uint64_t seq = h.Write(shmring_fuzz::kMinSelfChecked + s.Below(300));
      ASSERT_NE(seq, 0u) << "round " << round << ": a producer cannot write after the repair";
      want.push_back(seq);
    }
    // Records that follow them may be older ones still naming their positions (a tail
    // scribbled backwards made producers reuse positions; their checksums verify, so
    // they prove their own claims, spec/PROTOCOL.md §5.1): Drain checked they were committed.
    const std::vector<uint64_t> got = h.Drain();
    ASSERT_GE(got.size(), want.size()) << "round " << round << ": after the repair the reader delivers every new record";
    ASSERT_EQ(std::vector<uint64_t>(got.begin(), got.begin() + long(want.size())), want)
        << "round " << round << ": after the repair the reader delivers every new record, first";
    delivered += got.size();
    checked += got.size();
  }
  printf("  chaos: %llu scribbles, %llu delivered (%llu after repairs), %llu writes refused, %llu in-place "
         "records changed after validation\n",
         (unsigned long long)scribbles, (unsigned long long)delivered, (unsigned long long)checked,
         (unsigned long long)rejected, (unsigned long long)h.unknown_);
  EXPECT_GT(scribbles, 1000u);
}

void RunHostile(Policy policy, uint64_t seed) {
#ifdef HOSTILE_TSAN
  GTEST_SKIP() << "the hostile writer races with the inspector by design; run under ASan/UBSan";
#endif
  Hostile h(policy);
  ASSERT_TRUE(h.ok());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> inspections{0};
  std::atomic<bool> inspector_done{false};
  std::thread inspector([&] {
    InspectUntilStopped(h.ring_, *h.name_, stop, inspections);
    inspector_done.store(true);
  });
  std::mt19937_64 rng(seed);
  printf("hostile writer (%s):\n", std::string(PolicyName(policy)).c_str());
  SpoiledRecordsAreCountedNeverDelivered(h, rng);
  if (!::testing::Test::HasFatalFailure()) ChaosNeverCrashesAndTheReaderRecovers(h, seed);
  // The inspector runs at least once more after the damage (and at all, on a slow machine).
  const uint64_t seen = inspections.load();
  while (inspections.load() < seen + 2 && !inspector_done.load()) std::this_thread::yield();
  stop.store(true);
  inspector.join();
  printf("  %llu stats+verify+render runs\n", (unsigned long long)inspections.load());

  // Part 3: a scribbled superblock; the library never reads it again, Verify reports it.
  uint8_t* sb = h.r().base;
  sb[48] ^= 0xff;  // max_record
  const VerifyReport v = h.ring_->Verify();
  bool reported = false;
  for (const auto& p : v.problems) reported |= p.find("superblock") != std::string::npos;
  EXPECT_TRUE(reported) << "Verify did not report the scribbled superblock";
  EXPECT_EQ(h.ring_->max_record(), 1024u);  // the validated copy is what is used
  sb[48] ^= 0xff;
}

TEST(HostileWriter, OverwritePolicyDeliversOnlyCommittedRecords) { RunHostile(Policy::kOverwrite, 1); }
TEST(HostileWriter, RejectPolicyCountsEveryBadRecordAndRecovers) { RunHostile(Policy::kReject, 2); }
TEST(HostileWriter, BlockPolicyCountsEveryBadRecordAndRecovers) { RunHostile(Policy::kBlock, 3); }

}  // namespace
}  // namespace shmring
