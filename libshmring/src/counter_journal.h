// One counted header CAS (spec/RECOVERY.md §2.1): the only place that orders
// "save the counters, journal the word, bump, CAS, restore on failure, clear".
// Its writer holds the slot's lock (the owner, or a reclaimer of a dead slot).
#pragma once

#include <atomic>
#include <cstdint>

#include "fault.h"
#include "layout.h"

namespace shmring {

// A counter the CAS bumps by `add`, with the slot field that saves its old value.
struct CountedBy {
  std::atomic<uint64_t>& value;
  std::atomic<uint64_t>& saved;
  uint64_t add;
};

// CAS(word, expected -> to) with `counters` bumped before it and restored if it
// fails; SettlePending (recovery.cc) settles a kill anywhere in between.
template <size_t N>
inline bool CountedCas(layout::ProducerSlot& s, std::atomic<uint64_t>& word, uint64_t expected, uint64_t to,
                       const CountedBy (&counters)[N]) {
  uint64_t old[N];
  for (size_t i = 0; i < N; ++i) {
    old[i] = counters[i].value.load(std::memory_order_relaxed);
    counters[i].saved.store(old[i], std::memory_order_relaxed);
  }
  // Release pairs with SettlePending's acquire load: the saved values come with the word.
  s.pend_word.store(to, std::memory_order_release);
  for (size_t i = 0; i < N; ++i) counters[i].value.store(old[i] + counters[i].add, std::memory_order_relaxed);
  SHMRING_FAULT("counted.before_cas");
  // seq_cst CAS: releases the record to readers (pairs with Inspect's acquire) and
  // orders before the waiters' loads in MaybeWake (Dekker with Reader::Wait).
  const bool ok = word.compare_exchange_strong(expected, to, std::memory_order_seq_cst);
  SHMRING_FAULT("counted.after_cas");
  if (!ok) {
    for (size_t i = 0; i < N; ++i) counters[i].value.store(old[i], std::memory_order_relaxed);
  }
  s.pend_word.store(0, std::memory_order_relaxed);
  return ok;
}

}  // namespace shmring
