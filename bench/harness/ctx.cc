// ConsumerCtx: checks every byte of every record and measures it.
#include <cstdio>

#include "common/payload.h"
#include "common/util.h"
#include "harness/mech.h"

namespace bench {

ConsumerCtx::ConsumerCtx(const Params& p, Shared* s, int index)
    : p_(p), s_(s), index_(index), r_(s->cons[index]), next_(kMaxProcs, 0) {
  window_.Clear();
}

void ConsumerCtx::Ready() { s_->ready.fetch_add(1, std::memory_order_release); }

bool ConsumerCtx::OnRecord(const void* data, size_t len) {
  const uint64_t key = PayloadKey(data);
  if (key & kEndFlag) {
    ++r_.ends;
    last_arrival_ = NowNs();
    return r_.ends < uint64_t(p_.producers);
  }
  const uint32_t prod = KeyProducer(key);
  const uint64_t seq = KeySeq(key);
  if (len != p_.size || prod >= uint32_t(p_.producers) || !CheckPayload(data, len, key)) {
    ++r_.errors;
    char buf[160];
    snprintf(buf, sizeof buf, "bad record: len %zu (want %zu), producer %u, seq %llu", len, p_.size, prod,
             (unsigned long long)seq);
    error_ = buf;
    return false;
  }
  if (seq < next_[prod]) {
    ++r_.errors;
    error_ = "record out of order or duplicated";
    return false;
  }
  if (seq > next_[prod]) {  // dropped by the producer (reject) or overwritten
    r_.lost += seq - next_[prod];
    if (p_.series) s_->lost.fetch_add(seq - next_[prod], std::memory_order_relaxed);
  }
  next_[prod] = seq + 1;
  const uint64_t stamp = PayloadStamp(data);
  const bool timed = stamp != 0 || p_.series || p_.work_ns;
  const uint64_t now = (timed || seq == p_.warm || (n_ & 63) == 0) ? NowNs() : 0;
  ++n_;
  if (now) last_arrival_ = now;
  if (seq >= p_.warm) {
    if (r_.measured == 0) r_.t_first = now ? now : NowNs();
    ++r_.measured;
    r_.bytes += len;
    if (stamp) {
      r_.lat.Record(now - stamp);
      if (p_.series) window_.Record(now - stamp);
    }
  }
  if (p_.series) {  // counted when service starts: depth = records waiting
    s_->consumed.fetch_add(1, std::memory_order_relaxed);
    if (index_ == 0) Sample(now);
  }
  if (p_.work_ns) {  // the consumer's fixed work per record
    const uint64_t until = now + p_.work_ns;
    while (NowNs() < until) CpuRelax();
  }
  return true;
}

void ConsumerCtx::Sample(uint64_t now) {
  if (next_sample_ == 0) next_sample_ = now;
  if (now < next_sample_) return;
  next_sample_ = now + 10'000'000;  // 10 ms windows
  const int i = s_->nseries.load(std::memory_order_relaxed);
  if (i >= kMaxSeries) return;
  SeriesPoint& sp = s_->series[i];
  sp.t_ns = now - s_->t0;
  sp.produced = s_->produced.load(std::memory_order_relaxed);
  sp.consumed = s_->consumed.load(std::memory_order_relaxed);
  sp.dropped = s_->dropped.load(std::memory_order_relaxed);
  sp.lost = has_overwritten_probe() ? Overwritten() : s_->lost.load(std::memory_order_relaxed);
  sp.blocked_ns = s_->blocked_ns.load(std::memory_order_relaxed);
  sp.p50 = window_.Quantile(0.5);
  sp.p99 = window_.Quantile(0.99);
  sp.p999 = window_.Quantile(0.999);
  sp.window_n = window_.count();
  window_.Clear();
  s_->nseries.store(i + 1, std::memory_order_relaxed);
}

bool ConsumerCtx::Idle() {
  if (s_->producers_done.load(std::memory_order_acquire) < p_.producers) return false;
  const uint64_t now = NowNs();
  if (last_arrival_ == 0) last_arrival_ = now;
  return now - last_arrival_ > 300'000'000;
}

void ConsumerCtx::Finish() {
  r_.t_last = last_arrival_;
  if (!error_.empty()) snprintf(r_.error, sizeof r_.error, "%s", error_.c_str());
}

}  // namespace bench
