// Dead producers mid-write (spec/RECOVERY.md §2–§3). Only claims of producers
// whose slot lock the kernel released are reclaimed; the reclaimer holds that
// lock, so reclaims of one slot never run concurrently.
#include "recovery.h"

#include "fault.h"
#include "liveness.h"
#include "record.h"
#include "util.h"

namespace shmring {

using namespace layout;

namespace {

// Publishes a header at `q` over a stale word. Nobody owns these bytes: the claim's
// owner is dead, and a live producer that won this position would still name it
// in its intent (the caller checked; its intent is cleared only after its own
// header word is published, release/acquire). So the fields are written first and
// the word last, by CAS from the stale value: a reclaimer that dies half-way
// leaves the word stale, and the next one redoes the same writes.
bool WriteOverStale(Ring::Impl& r, uint64_t q, uint64_t stale_word, uint64_t state, uint32_t len,
                    uint32_t producer) {
  RecordHeader& h = r.header_at(q);
  SharedStore(h.len, len);
  SharedStore(h.type, 0);
  SharedStore(h.flags, 0);
  SharedStore(h.producer, producer);
  SharedStore(h.checksum, 0);
  SHMRING_FAULT("reclaim.after_fields");
  uint64_t expected = stale_word;
  // Release pairs with Inspect's acquire: the fields are visible with the state.
  return h.word.compare_exchange_strong(expected, q | state, std::memory_order_release, std::memory_order_relaxed);
}

// Turns the unfinished records of [cp, cp + len) into abandoned/padding records.
uint64_t ReclaimRegion(Ring::Impl& r, uint64_t cp, uint64_t len, uint32_t producer, bool confirmed) {
  const uint64_t end = cp + len;
  uint64_t q = cp, abandoned = 0;
  while (q != end) {
    const uint64_t off = q & r.mask;
    const uint64_t rem = r.capacity - off;
    const uint64_t left = end - q;
    if (rem < kRecordHeaderSize) {  // implicit padding (spec/LAYOUT.md §6.2)
      if (rem >= left) break;
      q += rem;
      continue;
    }
    RecordHeader& h = r.header_at(q);
    uint64_t word = h.word.load(std::memory_order_acquire);  // pairs with WriteBusy / CommitOne releases
    if (int64_t((word & ~kStateMask) - q) > 0) return abandoned;  // a newer lap wrote here: our claim is long gone
    if ((word & ~kStateMask) == (q & ~kStateMask) && (word & kStateMask) != 0) {
      if (!confirmed && q == cp) return 0;  // someone else wrote here: not ours to settle
      const Inspected in = Inspect(r, q, left);
      if (in.kind == RecordKind::kBusy) {
        uint64_t expected = word;
        // seq_cst CAS: same pairing as CommitOne (readers' acquire; waiters Dekker).
        if (h.word.compare_exchange_strong(expected, q | kAbandoned, std::memory_order_seq_cst)) ++abandoned;
      } else if (in.kind == RecordKind::kCorrupt || in.kind == RecordKind::kNotReady) {
        return abandoned;  // not what the owner would have written: leave it to readers' resync
      }
      q += in.size;
      continue;
    }
    // Nothing written yet at q: write what the owner would have (a padding to the
    // wrap if its claim included one, then one record spanning the rest).
    if (q == cp && rem < left) {
      if (!WriteOverStale(r, q, word, kPadding, uint32_t(rem - kRecordHeaderSize), producer)) return abandoned;
      q += rem;
      continue;
    }
    if (!WriteOverStale(r, q, word, kAbandoned, uint32_t(left - kRecordHeaderSize), producer)) return abandoned;
    ++abandoned;
    q = end;
  }
  return abandoned;
}

}  // namespace

uint64_t ReclaimSlotIntent(Ring::Impl& r, uint32_t i) {
  ProducerSlot& s = r.producer(i);
  const uint64_t cl = s.claim_len.load(std::memory_order_acquire);
  const uint64_t len = cl & ~kIntentConfirmed;
  if (len == 0) return 0;
  const bool confirmed = (cl & kIntentConfirmed) != 0;
  const uint64_t cp = s.claim_pos.load(std::memory_order_relaxed);
  // Acquire pairs with Claim's release CAS on the tail.
  const uint64_t tail = r.control().tail.load(std::memory_order_acquire);
  const uint64_t claimed = tail - cp;
  uint64_t abandoned = 0;
  const bool plausible = len % kAlign == 0 && cp % kAlign == 0 && len <= r.capacity && claimed >= len &&
                         claimed <= r.capacity;
  if (plausible) {
    bool other_names_it = false;
    if (!confirmed) {
      // An unconfirmed intent may name a position another producer won; if a live
      // one names it, or a confirmed one does, it is theirs.
      for (uint32_t j = 0; j < r.max_producers && !other_names_it; ++j) {
        if (j == i) continue;
        ProducerSlot& o = r.producer(j);
        const uint64_t ol = o.claim_len.load(std::memory_order_acquire);
        if ((ol & ~kIntentConfirmed) == 0 || o.claim_pos.load(std::memory_order_relaxed) != cp) continue;
        other_names_it = (ol & kIntentConfirmed) != 0 || LockHeld(r.fd, r.producer_lock_byte(j));
      }
    }
    if (!other_names_it) {
      const uint32_t producer = i | ((s.generation.load(std::memory_order_relaxed) & 0xffff) << 16);
      abandoned = ReclaimRegion(r, cp, len, producer, confirmed);
    }
  }
  s.claim_len.store(0, std::memory_order_relaxed);
  if (abandoned) {
    s.abandoned.fetch_add(abandoned, std::memory_order_relaxed);
    r.control().reclaims.fetch_add(1, std::memory_order_relaxed);
  }
  return abandoned;
}

bool TryReclaimAt(Ring::Impl& r, uint64_t pos) {
  for (uint32_t i = 0; i < r.max_producers; ++i) {
    ProducerSlot& s = r.producer(i);
    const uint64_t cl = s.claim_len.load(std::memory_order_acquire);
    // The stuck position may be inside the claim: after its padding, or after the
    // records of a batch that were committed before the owner died.
    const uint64_t len = cl & ~kIntentConfirmed;
    if (len == 0 || pos - s.claim_pos.load(std::memory_order_relaxed) >= len) continue;
    if (LockHeld(r.fd, r.producer_lock_byte(i))) continue;  // alive (or being reclaimed): wait
    auto lock = SlotLock::TryAcquire(r.fd, r.path, r.producer_lock_byte(i));
    if (!lock.ok()) continue;
    // Holding the dead slot's lock, settle its intent (re-read under the lock).
    if (ReclaimSlotIntent(r, i) > 0) return true;
  }
  return false;
}

}  // namespace shmring
