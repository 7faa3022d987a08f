// Microbenchmarks (Google Benchmark): the library's hot paths one at a time,
// and the physical references (cache-line ping-pong, bare SPSC ring, memcpy,
// XXH3 SSE2 vs dispatch). Cross-thread cases pin the threads to CPU0 and CPU1.
#include <benchmark/benchmark.h>
#include <unistd.h>
// Without this, xxh_x86dispatch.h silently turns XXH3_64bits* into the dispatcher.
#define XXH_DISPATCH_DISABLE_REPLACE
#include <xxh_x86dispatch.h>
#include <xxhash.h>
#include <sys/mman.h>

#include <array>
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "common/bare_ring.h"
#include "common/payload.h"
#include "common/util.h"
#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/ring.h"

using namespace bench;

namespace {

// Fill for any size (the payload format needs 16 bytes; smaller records get the key bytes).
inline void FillAny(void* d, size_t n, uint64_t key) {
  if (n >= kMinPayload) {
    FillPayload(d, n, key, 0);
  } else {
    memcpy(d, &key, n);
  }
}
inline bool CheckAny(const void* d, size_t n, uint64_t key) {
  if (n >= kMinPayload) return PayloadKey(d) == key && CheckPayload(d, n, key);
  return memcmp(d, &key, n) == 0;
}

std::shared_ptr<shmring::Ring> MakeRing(size_t size, bool checksums, bool with_group, uint64_t capacity = 0,
                                        bool message_batches = false) {
  static int n = 0;
  const std::string name = "shmring-micro-" + std::to_string(getpid()) + "-" + std::to_string(++n);
  shmring::CreateOptions o;
  o.capacity = capacity ? capacity : NextPow2(std::max<uint64_t>(4 << 20, 64 * (size + 64)));
  o.checksums = checksums;
  o.message_batches = message_batches;
  if (with_group) o.groups = {"g"};
  auto r = shmring::Ring::Create(name, o);
  if (!r.ok()) return nullptr;
  (void)shmring::Ring::Remove(name);  // mapped: keeps working
  return *r;
}

void SizeArgs(benchmark::internal::Benchmark* b) {
  for (int csum : {1, 0})
    for (int64_t s : {8, 64, 256, 1024, 4096, 65536}) b->Args({s, csum});
}

// Reserve + fill + Commit on a ring without groups (nothing gates the producer).
void BM_ReserveCommit(benchmark::State& st) {
  const size_t n = size_t(st.range(0));
  auto ring = MakeRing(n, st.range(1) != 0, false);
  auto p = shmring::Producer::Attach(ring);
  if (!p.ok()) return st.SkipWithError("attach");
  uint64_t seq = 0;
  for (auto _ : st) {
    auto r = (*p)->Reserve(n);
    FillAny(r->data().data(), n, seq++);
    benchmark::DoNotOptimize((*p)->Commit(*r).ok());
  }
  st.SetItemsProcessed(int64_t(st.iterations()));
  st.SetBytesProcessed(int64_t(st.iterations() * n));
}
BENCHMARK(BM_ReserveCommit)->Apply(SizeArgs)->ArgNames({"size", "csum"});

// Producer::Write (Reserve + memcpy + Commit).
void BM_Write(benchmark::State& st) {
  const size_t n = size_t(st.range(0));
  auto ring = MakeRing(n, st.range(1) != 0, false);
  auto p = shmring::Producer::Attach(ring);
  std::vector<std::byte> buf(n);
  FillAny(buf.data(), n, 1);
  for (auto _ : st) benchmark::DoNotOptimize((*p)->Write(std::span<const std::byte>(buf)).ok());
  st.SetItemsProcessed(int64_t(st.iterations()));
  st.SetBytesProcessed(int64_t(st.iterations() * n));
}
BENCHMARK(BM_Write)->Apply(SizeArgs)->ArgNames({"size", "csum"});

// ReserveBatch of 16 + fill + Commit: items are records.
void BM_ReserveBatch16(benchmark::State& st) {
  const size_t n = size_t(st.range(0));
  auto ring = MakeRing(n, st.range(1) != 0, false, NextPow2(std::max<uint64_t>(4 << 20, 64 * 16 * (n + 64))));
  auto p = shmring::Producer::Attach(ring);
  std::vector<uint32_t> lens(16, uint32_t(n));
  uint64_t seq = 0;
  for (auto _ : st) {
    auto b = (*p)->ReserveBatch(lens);
    for (size_t i = 0; i < 16; ++i) FillAny(b->data(i).data(), n, seq++);
    benchmark::DoNotOptimize((*p)->Commit(*b).ok());
  }
  st.SetItemsProcessed(int64_t(st.iterations() * 16));
  st.SetBytesProcessed(int64_t(st.iterations() * 16 * n));
}
BENCHMARK(BM_ReserveBatch16)->Apply(SizeArgs)->ArgNames({"size", "csum"});

// Poll + verify every byte + (auto) commit, 64 records per iteration (the
// producing part is excluded with manual timing).
void BM_PollVerify(benchmark::State& st) {
  const size_t n = size_t(st.range(0));
  auto ring = MakeRing(n, st.range(1) != 0, true);
  auto p = shmring::Producer::Attach(ring);
  auto rd = shmring::Reader::Attach(ring, "g");
  if (!p.ok() || !rd.ok()) return st.SkipWithError("attach");
  uint64_t seq = 0, check = 0;
  bool bad = false;
  for (auto _ : st) {
    for (int i = 0; i < 64; ++i) {
      auto r = (*p)->Reserve(n);
      FillAny(r->data().data(), n, seq++);
      (void)(*p)->Commit(*r);
    }
    const uint64_t t0 = NowNs();
    size_t got = 0;
    while (got < 64) {
      auto b = (*rd)->Poll(64);
      for (const auto& rec : *b) bad |= !CheckAny(rec.payload.data(), rec.payload.size(), check++);
      got += b->size();
    }
    (void)(*rd)->Commit();
    st.SetIterationTime(double(NowNs() - t0) / 1e9);
  }
  if (bad) st.SkipWithError("payload mismatch");
  st.SetItemsProcessed(int64_t(st.iterations() * 64));
  st.SetBytesProcessed(int64_t(st.iterations() * 64 * n));
}
BENCHMARK(BM_PollVerify)->Apply(SizeArgs)->ArgNames({"size", "csum"})->UseManualTime();

// XXH3: Debian's plain XXH3_64bits (SSE2 build) against the run-time dispatcher.
void BM_XXH3_SSE2(benchmark::State& st) {
  std::vector<unsigned char> buf(size_t(st.range(0)), 7);
  for (auto _ : st) benchmark::DoNotOptimize(XXH3_64bits_withSeed(buf.data(), buf.size(), 42));
  st.SetBytesProcessed(int64_t(st.iterations() * buf.size()));
}
void BM_XXH3_Dispatch(benchmark::State& st) {
  std::vector<unsigned char> buf(size_t(st.range(0)), 7);
  for (auto _ : st) benchmark::DoNotOptimize(XXH3_64bits_withSeed_dispatch(buf.data(), buf.size(), 42));
  st.SetBytesProcessed(int64_t(st.iterations() * buf.size()));
}
BENCHMARK(BM_XXH3_SSE2)->Arg(80)->Arg(1040)->Arg(4112)->Arg(65552);
BENCHMARK(BM_XXH3_Dispatch)->Arg(80)->Arg(1040)->Arg(4112)->Arg(65552);

void BM_Memcpy(benchmark::State& st) {
  const size_t n = size_t(st.range(0));
  const size_t span = 4 << 20;
  std::vector<unsigned char> src(span, 1), dst(span, 2);
  size_t off = 0;
  for (auto _ : st) {
    memcpy(dst.data() + off, src.data() + ((off + span / 2) % span), n);
    off = (off + ((n + 63) & ~size_t{63})) % (span - n);
    benchmark::ClobberMemory();
  }
  st.SetBytesProcessed(int64_t(st.iterations() * n));
}
BENCHMARK(BM_Memcpy)->Arg(64)->Arg(4096)->Arg(65536);

// A bare cache-line round trip between CPU0 and CPU1 (one iteration = one round trip).
void BM_PingPong(benchmark::State& st) {
  void* mem = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  auto* line = new (mem) std::atomic<uint64_t>(0);
  std::atomic<bool> stop{false};
  std::thread echo([&] {
    PinToCpu(1);
    uint64_t seen = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      const uint64_t v = line->load(std::memory_order_acquire);
      if (v != seen && (v & 1)) {
        line->store(v + 1, std::memory_order_release);
        seen = v + 1;
      } else {
        CpuRelax();
      }
    }
  });
  PinToCpu(0);
  uint64_t v = 0;
  for (auto _ : st) {
    line->store(v + 1, std::memory_order_release);
    while (line->load(std::memory_order_acquire) != v + 2) CpuRelax();
    v += 2;
  }
  stop = true;
  echo.join();
  munmap(mem, 4096);
}
BENCHMARK(BM_PingPong)->UseRealTime();

// Cross-thread SPSC throughput: the benchmark thread produces on CPU0, a consumer
// thread on CPU1 verifies every byte. Bare ring vs shmring (same shared memory kind).
void BM_BareRingSpsc(benchmark::State& st) {
  const size_t n = size_t(st.range(0));
  const uint64_t cap = NextPow2(std::max<uint64_t>(1 << 20, 32 * (n + 64)));
  void* mem = mmap(nullptr, BareRing::BytesFor(cap), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  BareRing::Init(mem, cap);
  std::atomic<uint64_t> target{~uint64_t{0}};
  std::atomic<bool> bad{false};
  std::thread cons([&] {
    PinToCpu(1);
    BareRing r(mem);
    uint64_t seq = 0;
    while (seq < target.load(std::memory_order_relaxed)) {
      const size_t got = r.Drain(
          [&](const unsigned char* d, size_t len) {
            if (!CheckAny(d, len, seq)) bad = true;
            ++seq;
          },
          256);
      IdleAfterPoll(got, 256);  // the consumers' common idle strategy (common/util.h)
    }
  });
  PinToCpu(0);
  BareRing r(mem);
  uint64_t seq = 0;
  for (auto _ : st) {
    unsigned char* d;
    while ((d = r.Reserve(n)) == nullptr) CpuRelax();
    FillAny(d, n, seq++);
    r.Commit();
  }
  target = seq;
  cons.join();
  if (bad) st.SkipWithError("payload mismatch");
  munmap(mem, BareRing::BytesFor(cap));
  st.SetItemsProcessed(int64_t(st.iterations()));
  st.SetBytesProcessed(int64_t(st.iterations() * n));
}
BENCHMARK(BM_BareRingSpsc)->Arg(8)->Arg(64)->Arg(1024)->Arg(65536)->UseRealTime();

// A shmring producer in the benchmark loop on CPU0 (`produce(producer, seq)` writes
// one iteration's messages, numbering them from seq) and a consumer thread on CPU1
// that polls with the common idle strategy and hands every record to
// `consume(payload, seq)`, which checks its messages. Items are messages.
template <typename Produce, typename Consume>
void RunShmringSpsc(benchmark::State& st, size_t n, size_t record, Produce produce, Consume consume,
                    bool message_batches = false) {
  auto ring = MakeRing(record, st.range(1) != 0, true, NextPow2(std::max<uint64_t>(1 << 20, 32 * (record + 64))),
                       message_batches);
  auto p = shmring::Producer::Attach(ring);
  auto rd = shmring::Reader::Attach(ring, "g");
  std::atomic<uint64_t> target{~uint64_t{0}};
  std::atomic<bool> bad{false};
  std::thread cons([&] {
    PinToCpu(1);
    uint64_t seq = 0;
    while (seq < target.load(std::memory_order_relaxed)) {
      auto b = (*rd)->Poll(256);
      if (!b.ok()) { bad = true; break; }
      for (const auto& rec : *b) {
        if (!consume(rec.payload, seq)) bad = true;
      }
      IdleAfterPoll(b->size(), 256);  // the consumers' common idle strategy (common/util.h)
    }
    (void)(*rd)->Commit();
  });
  PinToCpu(0);
  uint64_t seq = 0;
  for (auto _ : st) produce(**p, seq);
  target = seq;
  cons.join();
  if (bad) st.SkipWithError("payload mismatch");
  st.SetItemsProcessed(int64_t(seq));
  st.SetBytesProcessed(int64_t(seq * n));
}

void BM_ShmringSpsc(benchmark::State& st) {
  const size_t n = size_t(st.range(0));
  RunShmringSpsc(
      st, n, n,
      [n](shmring::Producer& p, uint64_t& seq) {
        auto r = p.Reserve(n);
        FillAny(r->data().data(), n, seq++);
        (void)p.Commit(*r);
      },
      [](std::span<const std::byte> payload, uint64_t& seq) { return CheckAny(payload.data(), payload.size(), seq++); });
}
BENCHMARK(BM_ShmringSpsc)->ArgsProduct({{8, 64, 1024, 65536}, {1, 0}})->ArgNames({"size", "csum"})->UseRealTime();

// Message batches: 16 messages of `n` bytes in one batch record (ReserveMessages:
// one claim, one checksum, one commit per 16); the reader gets, and the consumer
// checks, one RecordView per message.
void BM_MessagesSpsc(benchmark::State& st) {
  const size_t n = size_t(st.range(0));
  constexpr size_t kPack = 16;
  std::array<uint32_t, kPack> lens;
  lens.fill(uint32_t(n));
  RunShmringSpsc(
      st, n, kPack * (8 + ((n + 7) & ~size_t{7})),
      [&](shmring::Producer& p, uint64_t& seq) {
        auto b = p.ReserveMessages(lens);
        for (size_t i = 0; i < kPack; ++i) FillAny(b->data(i).data(), n, seq++);
        (void)p.Commit(*b);
      },
      [](std::span<const std::byte> payload, uint64_t& seq) { return CheckAny(payload.data(), payload.size(), seq++); },
      /*message_batches=*/true);
}
BENCHMARK(BM_MessagesSpsc)->ArgsProduct({{8, 64, 256}, {1, 0}})->ArgNames({"size", "csum"})->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
