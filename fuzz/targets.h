// The bodies of the five fuzz targets, as inline functions so that the libFuzzer
// entry point (fuzz/entry.cc, compiled once per target) and the regression replay test
// (tests/unit/fuzz_regressions_test.cc) run exactly the same code.
//
// A check that fails calls Finding(), which prints what was wrong and aborts:
// libFuzzer reports it as a crash and keeps the input.
//
// Define SHMRING_FUZZ_RENDERERS (and link tools/shmctl/render_*.cc, cmd_verify.cc
// and args.cc) to run the shmctl renderers in the stats_verify target.
#pragma once

#include <cstdio>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

#include "fuzz_common.h"
#include "ring_impl.h"
#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/stats.h"

#if defined(SHMRING_FUZZ_RENDERERS) && __has_include("shmctl.h")
#include "shmctl.h"  // else the includer has compiled the renderers in already
#endif

namespace shmring_fuzz {

using shmring::Policy;
using shmring::Reader;
using shmring::Ring;

[[noreturn]] inline void Finding(const char* what, uint64_t a = 0, uint64_t b = 0) {
  fprintf(stderr, "shmring fuzz finding: %s (%llu, %llu)\n", what, (unsigned long long)a, (unsigned long long)b);
  fflush(stderr);
  abort();
}

// Reads every payload byte (ASan sees an out-of-bounds heap copy) and checks that an
// in-place payload lies inside the data area (the mapping is not ASan-poisoned).
inline uint64_t TouchRecord(const Ring& ring, const shmring::RecordView& v) {
  const auto& r = ring.impl();
  if (v.payload.size() > r.max_record) Finding("delivered payload longer than max_record", v.payload.size(), r.max_record);
  if (r.policy != Policy::kOverwrite && !v.payload.empty()) {
    const auto* p = reinterpret_cast<const uint8_t*>(v.payload.data());
    if (p < r.data() || p + v.payload.size() > r.data() + r.capacity) {
      Finding("in-place payload outside the data area", uint64_t(p - r.data()), v.payload.size());
    }
  }
  return XXH3_64bits(v.payload.data(), v.payload.size());
}

// Every group the ring names: attach a reader and Poll until a poll comes back empty,
// checking the reader's work bound on the way (a hostile ring must never make it
// loop or deliver without end):
//  - records are delivered at increasing positions, each at least a record header
//    (32 bytes) past the one before (the reader steps over a record's whole size and
//    resyncs only forward), so at most capacity / 32 records per capacity of
//    positions -- whatever the ring holds, a lap-equivalent bound;
//  - a message batch yields at most max_record / MessageSize(0) views;
//  - so the reader is empty after at most kMaxRecords * (1 + views per record / 64)
//    polls of 64, with kMaxRecords = capacity / 8 (every delivered record's header
//    names its own position at a distinct 8-aligned offset of the data area).
// A poll that fails (a fenced reader) ends the drain too.
inline void DrainAllGroups(const std::shared_ptr<Ring>& ring) {
  if (ring->read_only()) return;
  using shmring::layout::kRecordHeaderSize;
  const uint64_t capacity = ring->capacity();
  const uint64_t views_per_record = ring->impl().max_record / shmring::layout::MessageSize(0) + 1;
  const uint64_t max_polls = (capacity / shmring::layout::kAlign) * (1 + views_per_record / 64 + 1) + 10;
  const shmring::RingStats s = ring->Stats();
  for (const auto& g : s.groups) {
    shmring::ReaderOptions ro;
    ro.spin = 0;
    auto rd = Reader::Attach(ring, g.name, ro);
    if (!rd.ok()) continue;
    uint64_t sink = 0, records = 0, views_here = 0, last = 0;
    bool empty = false;
    for (uint64_t i = 0; i < max_polls && !empty; ++i) {
      auto b = (*rd)->Poll(64);
      empty = !b.ok() || b->empty();
      if (empty) break;
      for (const auto& v : *b) {
        sink += TouchRecord(*ring, v);
        const uint64_t step = v.position - last;  // modular: positions may wrap past 2^64
        if (records > 0 && step == 0) {
          if (++views_here > views_per_record) Finding("more views from one record than max_record allows", v.position, views_here);
          continue;
        }
        if (records > 0 && (step < kRecordHeaderSize || step >= (uint64_t{1} << 63))) {
          Finding("delivered records overlap or go backwards (step below a record header)", last, v.position);
        }
        ++records;
        views_here = 1;
        last = v.position;
      }
    }
    if (!empty) Finding("reader still delivering after its work bound (polls)", max_polls, records);
    (void)(*rd)->Commit();
    (void)sink;
  }
}

// 1. attach: the bytes are the whole ring file.
inline int FuzzAttach(const uint8_t* data, size_t size) {
  std::vector<uint8_t> img(data, data + size);
  for (int fixed = 0; fixed < 2; ++fixed) {
    if (fixed) {
      if (size < shmring::layout::kSuperblockSize) break;
      FixHeaderChecksum(img.data(), img.size());  // reach the checks past the checksum
    }
    for (bool ro : {true, false}) {
      auto ring = OpenImage(img, ro, "attach");
      if (!ring.ok()) {
        (void)ring.status().ToString();
        continue;
      }
      // Anything the library accepts must be consistent with the file it mapped.
      if ((*ring)->impl().map_size != img.size()) Finding("mapped size differs from the file size", (*ring)->impl().map_size, img.size());
      (void)(*ring)->Stats();
      (void)(*ring)->Verify();
      if (ro) continue;
      // Whatever geometry attached (not only the template's): recovery and readers too.
      (void)(*ring)->Recover();
      DrainAllGroups(*ring);
      (void)(*ring)->Verify();
    }
  }
  return 0;
}

// 2. drain: every policy, checksums on and off.
inline int FuzzDrain(const uint8_t* data, size_t size) {
  for (Policy p : {Policy::kBlock, Policy::kReject, Policy::kOverwrite}) {
    for (bool cs : {true, false}) {
      auto ring = OpenImage(ApplyInput(Template(p, cs), data, size), false, "drain");
      if (!ring.ok()) Finding("template ring did not attach");
      DrainAllGroups(*ring);
    }
  }
  return 0;
}

// 3. stats_verify: what `shmctl stat` (text, JSON), `shmctl metrics` and `shmctl verify` do.
inline int FuzzStatsVerify(const uint8_t* data, size_t size) {
  for (bool cs : {true, false}) {
    // shmctl opens read-only; the checksums-off variant is opened read-write.
    auto ring = OpenImage(ApplyInput(Template(Policy::kBlock, cs), data, size), cs, "stats");
    if (!ring.ok()) Finding("template ring did not attach");
    const shmring::RingStats s = (*ring)->Stats();
    const shmring::VerifyReport v = (*ring)->Verify();
    if (v.problems.size() > 100) Finding("verify report unbounded", v.problems.size());
    for (const auto& g : s.groups) {
      if (g.lag_bytes > s.capacity) Finding("group lag above capacity", g.lag_bytes, s.capacity);
      if (g.lag_records > s.capacity / 8) Finding("group lag_records above capacity/8", g.lag_records);
    }
#ifdef SHMRING_FUZZ_RENDERERS
    std::ostringstream text;
    shmctl::RenderStatText(s, text);
    (void)shmctl::RenderStatJson(s);
    (void)shmctl::RenderPrometheus({s});
    shmctl::RenderVerifyText((*ring)->path(), v, text);  // what `shmctl verify` and `recover` print
    (void)shmctl::RenderVerifyJson((*ring)->path(), v);
#endif
  }
  return 0;
}

// 4. recover: what a restarted process does with a half-written ring.
inline int FuzzRecover(const uint8_t* data, size_t size) {
  for (auto [p, cs] : {std::pair{Policy::kReject, true}, std::pair{Policy::kOverwrite, false},
                       std::pair{Policy::kBlock, false}}) {
    auto ring = OpenImage(ApplyInput(Template(p, cs), data, size), false, "recover");
    if (!ring.ok()) Finding("template ring did not attach");
    auto rep = (*ring)->Recover();
    (void)rep;
    (void)(*ring)->Verify();
    DrainAllGroups(*ring);
    (void)(*ring)->Verify();
  }
  return 0;
}

// 5. ops: a fuzzer-chosen sequence of operations and single-field corruptions on a
// real ring. Delivered records must be exactly what was committed (self-describing
// payloads, checked against the set of committed sequence numbers) or nothing.
class OpsRun {
 public:
  OpsRun(const uint8_t* data, size_t size) : in_(data, size) {}

  void Run() {
    const uint8_t cfg = in_.ConsumeIntegral<uint8_t>();
    const Policy policy = cfg % 3 == 0 ? Policy::kReject : cfg % 3 == 1 ? Policy::kOverwrite : Policy::kBlock;
    shmring::CreateOptions o = TemplateOptions(policy, true);
    o.max_record = 256;
    o.max_producers = 2;
    o.groups = {"a"};
    const std::string path = UniquePath("ops");
    auto ring = Ring::Create(path, o);
    unlink(path.c_str());
    if (!ring.ok()) Finding("create failed");
    ring_ = *ring;
    shmring::ProducerOptions po;
    po.block_timeout = std::chrono::microseconds(100);
    auto prod = shmring::Producer::Attach(ring_, po);
    if (!prod.ok()) Finding("producer attach failed");
    producer_ = std::move(*prod);
    reader_opts_.auto_commit = (cfg & 4) != 0;
    reader_opts_.spin = 0;
    AttachReader();
    for (int op = 0; op < 256 && in_.remaining_bytes() > 0; ++op) Step();
    SettleHeld(true);
    Drain();
    reader_.reset();
    producer_.reset();
  }

 private:
  uint32_t Len() { return in_.ConsumeIntegralInRange<uint32_t>(kMinSelfChecked, 300); }  // > max_record sometimes

  void AttachReader() {
    reader_.reset();
    auto rd = Reader::Attach(ring_, "a", reader_opts_);
    if (rd.ok()) reader_ = std::move(*rd);
  }

  void SettleHeld(bool commit) {
    if (!held_) return;
    if (commit) {
      committed_[held_seq_] = uint32_t(held_->data().size());
      (void)producer_->Commit(*held_);
    } else {
      producer_->Abort(*held_);
    }
    held_.reset();
  }

  // Fills each record (or message) of a batch with the next sequence numbers, then
  // commits it, noting what was committed, or aborts it, as the input says.
  void FillAndSettle(shmring::BatchReservation& b) {
    std::vector<uint64_t> seqs;
    for (size_t i = 0; i < b.size(); ++i) {
      seqs.push_back(++seq_);
      FillPayload(reinterpret_cast<uint8_t*>(b.data(i).data()), b.data(i).size(), seqs.back());
    }
    if (in_.ConsumeBool()) {
      for (size_t i = 0; i < seqs.size(); ++i) committed_[seqs[i]] = uint32_t(b.data(i).size());
      (void)producer_->Commit(b);
    } else {
      producer_->Abort(b);
    }
  }

  void Check(std::span<const shmring::RecordView> batch) {
    for (const auto& v : batch) {
      TouchRecord(*ring_, v);
      uint64_t seq = 0;
      const auto* p = reinterpret_cast<const uint8_t*>(v.payload.data());
      if (!CheckPayload(p, v.payload.size(), &seq)) Finding("delivered payload is not a record we wrote", v.position, v.payload.size());
      auto it = committed_.find(seq);
      if (it == committed_.end()) Finding("delivered a record that was never committed", seq, v.position);
      if (it->second != v.payload.size()) Finding("delivered record has the wrong length", seq, v.payload.size());
    }
  }

  void Poll() {
    if (!reader_) return;
    auto b = reader_->Poll(in_.ConsumeIntegralInRange<size_t>(1, 64));
    if (b.ok()) Check(*b);
  }

  void Drain() {
    if (!reader_) AttachReader();
    if (!reader_) return;
    for (uint64_t i = 0; i < ring_->capacity() / 8 + 10; ++i) {
      auto b = reader_->Poll(64);
      if (!b.ok() || b->empty()) break;
      Check(*b);
    }
  }

  void Corrupt() {
    SettleHeld(true);  // never scribble over a claim we will still fill and commit
    auto& r = ring_->impl();
    const uint8_t region = in_.ConsumeIntegralInRange<uint8_t>(0, 4);
    uint64_t base = 0, len = 0;
    switch (region) {
      case 0: base = 0; len = shmring::layout::kSuperblockSize; break;
      case 1: base = shmring::layout::kControlOffset; len = 512; break;
      case 2: base = r.producers_offset; len = uint64_t{r.max_producers} * shmring::layout::kProducerSlotSize; break;
      case 3: base = r.groups_offset; len = uint64_t{r.max_groups} * shmring::layout::kGroupSlotSize; break;
      default: base = r.data_offset; len = r.capacity; break;
    }
    const uint64_t off = in_.ConsumeIntegralInRange<uint64_t>(0, len - 1);
    const size_t n = std::min<uint64_t>(in_.ConsumeIntegralInRange<size_t>(1, 8), len - off);
    uint8_t bytes[8] = {};
    const bool relative = in_.ConsumeBool();  // add to the existing value (small moves of positions)
    for (size_t i = 0; i < n; ++i) bytes[i] = in_.ConsumeIntegral<uint8_t>();
    uint8_t* at = r.base + base + off;
    if (relative && n == 8 && off % 8 == 0) {
      uint64_t v, d;
      memcpy(&v, at, 8);
      memcpy(&d, bytes, 8);
      v += uint64_t(int64_t(int16_t(d)) * 8);
      memcpy(at, &v, 8);
    } else {
      memcpy(at, bytes, n);
    }
  }

  void Step() {
    switch (in_.ConsumeIntegralInRange<uint8_t>(0, 11)) {
      case 0: {  // write
        SettleHeld(true);
        const uint32_t len = Len();
        auto res = producer_->Reserve(len, 0, std::chrono::microseconds(100));
        if (!res.ok()) break;
        const uint64_t seq = ++seq_;
        FillPayload(reinterpret_cast<uint8_t*>(res->data().data()), len, seq);
        committed_[seq] = len;
        (void)producer_->Commit(*res);
        break;
      }
      case 1: {  // reserve and hold
        SettleHeld(true);
        const uint32_t len = Len();
        auto res = producer_->Reserve(len, 0, std::chrono::microseconds(100));
        if (!res.ok()) break;
        held_seq_ = ++seq_;
        FillPayload(reinterpret_cast<uint8_t*>(res->data().data()), len, held_seq_);
        held_ = std::move(*res);
        break;
      }
      case 2: SettleHeld(true); break;
      case 3: SettleHeld(false); break;
      case 4: {  // batch
        SettleHeld(true);
        std::vector<uint32_t> lens(in_.ConsumeIntegralInRange<size_t>(1, 4));
        for (auto& l : lens) l = Len();
        auto b = producer_->ReserveBatch(lens);
        if (!b.ok()) break;
        FillAndSettle(*b);
        break;
      }
      case 5: Poll(); break;
      case 6: if (reader_) (void)reader_->Commit(); break;
      case 7: Corrupt(); break;
      case 8: (void)ring_->Recover(); break;
      case 9: (void)ring_->Stats(); (void)ring_->Verify(); break;
      case 10: AttachReader(); break;  // a new reader takes the group over
      case 11: {  // message batch: one record, one delivered view per message
        SettleHeld(true);
        std::vector<uint32_t> lens(in_.ConsumeIntegralInRange<size_t>(1, 6));
        for (auto& l : lens) l = in_.ConsumeIntegralInRange<uint32_t>(kMinSelfChecked, 120);  // may pass max_record
        auto b = producer_->ReserveMessages(lens);
        if (!b.ok()) break;
        FillAndSettle(*b);
        break;
      }
    }
  }

  FuzzedDataProviderLite in_;
  std::shared_ptr<Ring> ring_;
  std::unique_ptr<shmring::Producer> producer_;
  std::unique_ptr<Reader> reader_;
  shmring::ReaderOptions reader_opts_;
  std::optional<shmring::Reservation> held_;
  uint64_t held_seq_ = 0, seq_ = 0;
  std::map<uint64_t, uint32_t> committed_;  // seq -> length of every record we committed
};

inline int FuzzOps(const uint8_t* data, size_t size) {
  OpsRun(data, size).Run();
  return 0;
}

}  // namespace shmring_fuzz
