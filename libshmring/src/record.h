// Reading one record header from untrusted memory (spec/PROTOCOL.md §5).
// The header word is loaded once; the length is loaded once after it and
// bounds-checked before anything uses it.
#pragma once

#include <atomic>
#include <cstdint>

#include "layout.h"
#include "ring_impl.h"
#include "speculative.h"

namespace shmring {

enum class RecordKind { kNotReady, kData, kPadding, kSkip, kAbandoned, kBusy, kCorrupt };

struct Inspected {
  RecordKind kind = RecordKind::kNotReady;
  uint64_t size = 0;  // bytes to step over (valid unless kNotReady/kCorrupt)
  uint32_t len = 0;
  const layout::RecordHeader* hdr = nullptr;
};

// `avail` is how many bytes past `pos` producers have claimed (tail - pos).
inline Inspected Inspect(const Ring::Impl& r, uint64_t pos, uint64_t avail) {
  using namespace layout;
  Inspected in;
  const uint64_t off = pos & r.mask;
  const uint64_t rem = r.capacity - off;
  if (rem < kRecordHeaderSize) {  // implicit padding: no header fits before the wrap (spec/LAYOUT.md §6.2)
    if (avail < rem) return in;
    in.kind = RecordKind::kPadding;
    in.size = rem;
    return in;
  }
  const RecordHeader& h = r.header_at(pos);
  in.hdr = &h;
  // Acquire pairs with the producer's release publication of the word (Claim's
  // busy store, Commit's CAS, Abort's CAS) or a reclaimer's CAS: the length and
  // payload written before it are visible once the word is.
  const uint64_t word = h.word.load(std::memory_order_acquire);
  if ((word & ~kStateMask) != (pos & ~kStateMask)) return in;  // an older lap: not written yet
  const uint64_t state = word & kStateMask;
  if (state == 0) return in;  // fresh (zeroed) memory at this very position: not written yet
  if (state == kPadding) {
    if (avail < rem) { in.kind = RecordKind::kCorrupt; return in; }
    in.kind = RecordKind::kPadding;
    in.size = rem;
    return in;
  }
  if (state != kBusy && state != kCommitted && state != kSkip && state != kAbandoned) {
    in.kind = RecordKind::kCorrupt;
    return in;
  }
  const uint32_t len = SpeculativeLoad(h.len);  // once; bounds-checked below
  const uint64_t size = RecordSize(len);
  // Payload-carrying records obey max_record; skip records of a reclaimed claim
  // may span a whole claim (spec/LAYOUT.md §6.2).
  const bool carries_payload = state == kBusy || state == kCommitted;
  if ((carries_payload && len > r.max_record) || size > rem || size > avail) {
    in.kind = RecordKind::kCorrupt;
    return in;
  }
  in.len = len;
  in.size = size;
  in.kind = state == kBusy        ? RecordKind::kBusy
            : state == kCommitted ? RecordKind::kData
            : state == kSkip      ? RecordKind::kSkip
                                  : RecordKind::kAbandoned;
  return in;
}

// XXH3-64 of the header fields after the checksum and the payload, seeded with
// the record's position (spec/LAYOUT.md §6).
uint64_t RecordChecksum(const void* from_len_field, uint32_t len, uint64_t pos);

}  // namespace shmring
