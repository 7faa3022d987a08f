// ProducerCtx::Run: the producer loop shared by every mechanism.
#pragma once

#include <cstdio>

#include "common/payload.h"
#include "common/util.h"

namespace bench {

template <typename F>
std::string ProducerCtx::Run(F&& publish) {
  ProducerResult& r = result();
  while (s_->go.load(std::memory_order_acquire) == 0) CpuRelax();
  const uint64_t start = NowNs();
  r.t_start = start;
  uint64_t end_at = 0;  // set when the warm-up is over
  uint64_t seq = 0, sent = 0, dropped = 0;
  uint64_t next_t = start;
  const uint32_t every = p_.stamp_every ? p_.stamp_every : 1;
  for (;;) {
    if ((seq & 255) == 0 || p_.pace_ns) {
      const uint64_t now = NowNs();
      if (end_at == 0 && seq + dropped >= p_.warm) end_at = now + uint64_t(p_.duration_s * 1e9);
      if (end_at && now >= end_at) break;
    }
    if (p_.pace_ns) {
      next_t += p_.pace_ns;
      while (NowNs() < next_t) CpuRelax();
    }
    const Pub res = publish(MakeKey(uint32_t(index_), seq), seq % every == 0);
    if (res == Pub::kError) return "publish failed";
    if (res == Pub::kDropped) {  // rejected: the sequence number is not used, so gaps mean overwritten
      ++dropped;
      s_->dropped.fetch_add(1, std::memory_order_relaxed);
    } else {
      ++sent;
      ++seq;
      if (p_.series) s_->produced.fetch_add(1, std::memory_order_relaxed);
    }
  }
  // The end record: retried until it goes through.
  for (int tries = 0;; ++tries) {
    const Pub res = publish(MakeKey(uint32_t(index_), seq) | kEndFlag, false);
    if (res == Pub::kOk) break;
    if (res == Pub::kError || tries > 2'000'000) return "could not publish the end record";
    sched_yield();
  }
  r.sent = sent;
  r.dropped = dropped;
  r.t_end = NowNs();
  s_->producers_done.fetch_add(1, std::memory_order_release);
  return "";
}

inline void ProducerCtx::AddBlocked(uint64_t ns) {
  result().blocked_ns += ns;
  s_->blocked_ns.fetch_add(ns, std::memory_order_relaxed);
}

}  // namespace bench
