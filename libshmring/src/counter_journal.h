// One counted header CAS (spec/RECOVERY.md §2.1): the only place that orders
// "save the counters, journal the word, bump, CAS, restore on failure, clear".
// A journal has one writer: the owner's (`pend_word`) is the owner's, the
// reclaimers' (`reclaim_word`) belongs to whoever holds the slot's reclaim lock.
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
// fails, journaled in `journal`; SettleOne (recovery.cc) settles a kill
// anywhere in between.
template <size_t N>
inline bool CountedCas(std::atomic<uint64_t>& journal, std::atomic<uint64_t>& word, uint64_t expected, uint64_t to,
                       const CountedBy (&counters)[N]) {
  uint64_t old[N];
  for (size_t i = 0; i < N; ++i) {
    old[i] = counters[i].value.load(std::memory_order_relaxed);
    counters[i].saved.store(old[i], std::memory_order_relaxed);
  }
  // Release pairs with SettleOne's acquire load: the saved values come with the word.
  journal.store(to, std::memory_order_release);
  for (size_t i = 0; i < N; ++i) counters[i].value.store(old[i] + counters[i].add, std::memory_order_relaxed);
  SHMRING_FAULT("counted.before_cas");
  // seq_cst CAS: releases the record to readers (pairs with Inspect's acquire) and
  // orders before the waiters' loads in MaybeWake (Dekker with Reader::Wait).
  const bool ok = word.compare_exchange_strong(expected, to, std::memory_order_seq_cst);
  SHMRING_FAULT("counted.after_cas");
  if (!ok) {
    for (size_t i = 0; i < N; ++i) counters[i].value.store(old[i], std::memory_order_relaxed);
  }
  journal.store(0, std::memory_order_relaxed);
  return ok;
}

}  // namespace shmring
