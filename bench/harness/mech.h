// The cross-process harness: one "mechanism" (shmring or a peer) moves records
// from producer processes to consumer processes. The harness forks, pins, paces
// and measures; a mechanism only knows how to publish one record and how to hand
// every record it receives to the consumer context.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/hist.h"

namespace bench {

struct Params {
  size_t size = 64;           // payload bytes per record (>= 16)
  int producers = 1;          // producer processes (N -> 1)
  int groups = 1;             // consumer processes, one per group (1 -> M)
  std::string wait = "poll";  // consumer: poll (busy), wait (futex park), bell (epoll on the doorbell fd)
  double duration_s = 1.0;    // measured part of the run (after the warm-up)
  uint64_t warm = 20000;      // warm-up records per producer (not measured)
  uint32_t stamp_every = 1;   // timestamp every n-th record (1: all)
  uint64_t pace_ns = 0;       // 0: as fast as possible; else one record per pace_ns per producer
  uint64_t work_ns = 0;       // consumer busy work per record (overload: mu = 1 / work_ns)
  bool checksums = true;
  bool batch = false;         // shmring: ReserveBatch of 16
  bool messages = false;      // shmring: 16 messages per batch record (ReserveMessages)
  std::string policy = "block";  // shmring: block / reject / overwrite
  uint64_t capacity = 0;      // ring / queue bytes (0: chosen from size)
  uint64_t depth = 0;         // peers' queue depth in records (0: what the ring holds)
  bool series = false;        // overload: record a time series
  std::string tag;            // unique name prefix for this run
};

// One point of an overload time series (written by consumer 0).
struct SeriesPoint {
  uint64_t t_ns;            // since the start
  uint64_t produced, consumed, dropped, lost;
  uint64_t blocked_ns;      // producer time spent waiting for room (cumulative)
  uint64_t p50, p99, p999;  // latency in this window
  uint64_t window_n;
};

struct ProducerResult {
  uint64_t sent = 0, dropped = 0, blocked_ns = 0, t_start = 0, t_end = 0;
  char error[200];
};

struct ConsumerResult {
  uint64_t measured = 0, bytes = 0, t_first = 0, t_last = 0;
  uint64_t errors = 0, lost = 0, ends = 0;
  Hist lat;
  char error[200];
};

inline constexpr int kMaxProcs = 4;
inline constexpr int kMaxSeries = 4096;

// Lives in one MAP_SHARED anonymous mapping created before the forks.
struct Shared {
  std::atomic<int> ready;         // consumers (and producers) that are attached
  std::atomic<int> go;            // set by the parent once everyone is ready
  std::atomic<int> producers_done;
  std::atomic<uint64_t> produced;  // live counters for the overload series
  std::atomic<uint64_t> consumed;
  std::atomic<uint64_t> dropped;
  std::atomic<uint64_t> lost;
  std::atomic<uint64_t> blocked_ns;
  uint64_t t0;
  ProducerResult prod[kMaxProcs];
  ConsumerResult cons[kMaxProcs];
  std::atomic<int> nseries;
  SeriesPoint series[kMaxSeries];
};

// What a producer-side Publish reports.
enum class Pub { kOk, kDropped, kError };

class ConsumerCtx;
class ProducerCtx;

class Mech {
 public:
  virtual ~Mech() = default;
  virtual std::string Name() const = 0;
  // The configuration used, for the results ("best reasonable configuration").
  virtual std::string Config(const Params& p) const = 0;
  virtual bool Supports(const Params& p) const { return p.producers == 1 && p.groups == 1; }
  // In the parent, before the forks. Returns "" or an error.
  virtual std::string Setup(const Params& p) = 0;
  // In the children. They return "" or an error.
  virtual std::string Producer(ProducerCtx& c) = 0;
  virtual std::string Consumer(ConsumerCtx& c) = 0;
  // In the parent, after the children exited.
  virtual void Teardown() {}
};

class ProducerCtx {
 public:
  ProducerCtx(const Params& p, Shared* s, int index) : p_(p), s_(s), index_(index) {}
  const Params& params() const { return p_; }
  int index() const { return index_; }
  ProducerResult& result() { return s_->prod[index_]; }
  Shared* shared() { return s_; }

  // Runs the producer loop: warm-up, measured part, end record. `publish(key, stamp)`
  // must fill the payload (FillPayload), stamp it if asked, and send it.
  template <typename F>
  std::string Run(F&& publish);
  void AddBlocked(uint64_t ns);

 private:
  const Params& p_;
  Shared* s_;
  int index_;
};

class ConsumerCtx {
 public:
  ConsumerCtx(const Params& p, Shared* s, int index);
  const Params& params() const { return p_; }
  int index() const { return index_; }
  // Marks this consumer attached (the producers start once all are).
  void Ready();
  // Checks and measures one record. Returns false once the stream is over (every
  // producer's end record seen), or on a broken record (then error() says why).
  bool OnRecord(const void* data, size_t len);
  // For lossy mechanisms whose end record may be lost: true once all producers are
  // done and nothing arrived for a while.
  bool Idle();
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  void Finish();
  // Optional: how many records the mechanism itself counts as overwritten so far
  // (when set, the depth series uses it instead of the gaps seen so far).
  void SetOverwrittenProbe(std::function<uint64_t()> f) { overwritten_probe_ = std::move(f); }
  uint64_t Overwritten() const { return overwritten_probe_ ? overwritten_probe_() : 0; }
  bool has_overwritten_probe() const { return bool(overwritten_probe_); }

 private:
  const Params& p_;
  Shared* s_;
  int index_;
  ConsumerResult& r_;
  std::vector<uint64_t> next_;  // next expected sequence per producer
  std::string error_;
  uint64_t last_arrival_ = 0;
  Hist window_;
  uint64_t next_sample_ = 0;
  uint64_t n_ = 0;
  std::function<uint64_t()> overwritten_probe_;
  void Sample(uint64_t now);
};

std::unique_ptr<Mech> MakeShmring();
std::unique_ptr<Mech> MakeBareRing();
std::unique_ptr<Mech> MakeUdsStream();
std::unique_ptr<Mech> MakeUdsSeqpacket();
std::unique_ptr<Mech> MakePipe();
std::unique_ptr<Mech> MakePosixMq();
std::unique_ptr<Mech> MakeBoostMq();     // nullptr if not built
std::unique_ptr<Mech> MakeGrpcUnary();   // nullptr if not built
std::unique_ptr<Mech> MakeGrpcStream();  // nullptr if not built
std::unique_ptr<Mech> MakeIceoryx();     // nullptr if not built

}  // namespace bench

#include "harness/mech_inl.h"
