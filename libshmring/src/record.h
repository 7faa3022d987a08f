// Reading one record header from untrusted memory (spec/PROTOCOL.md §5).
// The header word is loaded once; the length is loaded once after it and
// bounds-checked before anything uses it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "layout.h"
#include "ring_impl.h"
#include "speculative.h"

namespace shmring {

enum class RecordKind { kNotReady, kData, kPadding, kSkip, kAbandoned, kBusy, kCorrupt };

struct Inspected {
  RecordKind kind = RecordKind::kNotReady;
  uint64_t size = 0;  // bytes to step over (valid unless kNotReady/kCorrupt)
  uint32_t len = 0;   // validated, unless kCorrupt: then the length as read (if it was)
  uint64_t word = 0;  // the header word as read (0 if none was)
  const layout::RecordHeader* hdr = nullptr;
};

// The header fields after the checksum, [16, 32) (spec/LAYOUT.md §6), as one local copy.
struct HeaderFields {
  uint32_t len;
  uint16_t type;
  uint16_t flags;
  uint32_t producer;
  uint32_t messages;
};
static_assert(sizeof(HeaderFields) == 16 && offsetof(layout::RecordHeader, len) == 16 &&
                  offsetof(layout::RecordHeader, messages) == 28,
              "spec/LAYOUT.md §6: len, type, flags, producer, messages fill bytes [16, 32)");

// Copies [16, 32) of a header once (a racing overwrite may tear it: the checksum or
// the caller's comparison with Inspect's len catches that).
inline HeaderFields CopyHeaderFields(const layout::RecordHeader& h) {
  HeaderFields f;
  SpeculativeCopy(&f, &h.len, sizeof f);
  return f;
}
inline bool operator==(const HeaderFields& a, const HeaderFields& b) { return memcmp(&a, &b, sizeof a) == 0; }

// The judgment of a header whose word the caller has already loaded (acquire, from
// r.header_at(pos)); `pos` leaves at least a header's room before the wrap. The
// length is loaded once here. Callers that act on the word (a reclaimer's CAS) use
// this, so that what is judged is the word they act on.
inline Inspected InspectWord(const Ring::Impl& r, uint64_t pos, uint64_t avail, uint64_t word) {
  using namespace layout;
  Inspected in;
  const uint64_t rem = r.capacity - (pos & r.mask);
  const RecordHeader& h = r.header_at(pos);
  in.hdr = &h;
  in.word = word;
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
    in.len = len;
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

// `avail` is how many bytes past `pos` producers have claimed (tail - pos).
inline Inspected Inspect(const Ring::Impl& r, uint64_t pos, uint64_t avail) {
  using namespace layout;
  const uint64_t rem = r.capacity - (pos & r.mask);
  if (rem < kRecordHeaderSize) {  // implicit padding: no header fits before the wrap (spec/LAYOUT.md §6.2)
    Inspected in;
    if (avail < rem) return in;
    in.kind = RecordKind::kPadding;
    in.size = rem;
    return in;
  }
  // Acquire pairs with the producer's release publication of the word (Claim's
  // busy store, Commit's CAS, Abort's CAS) or a reclaimer's CAS: the length and
  // payload written before it are visible once the word is.
  const uint64_t word = r.header_at(pos).word.load(std::memory_order_acquire);
  return InspectWord(r, pos, avail, word);
}

// Resync (spec/PROTOCOL.md §5.5): the record at `pos` cannot be trusted (an unreadable
// header, or a checksum that failed, so its length may be anything). The next record
// boundary it can prove is the first header at `pos + 32, pos + 40, …` (8-byte steps,
// past the 32 bytes of the header at `pos`) whose word names its own position with a
// state 1–5; at most `avail` bytes past `pos` (the tail, ≤ capacity), so at most
// capacity/8 loads whatever the memory says. None: `pos + avail`. Failure path only.
inline uint64_t ResyncAfter(const Ring::Impl& r, uint64_t pos, uint64_t avail) {
  using namespace layout;
  if (avail > r.capacity) avail = r.capacity;
  for (uint64_t q = pos + kRecordHeaderSize; q - pos < avail; q += kAlign) {
    if (r.capacity - (q & r.mask) < kRecordHeaderSize) continue;  // implicit padding: no header here
    // Acquire pairs with the producers' release publications of header words.
    const uint64_t w = r.header_at(q).word.load(std::memory_order_acquire);
    const uint64_t st = w & kStateMask;
    if ((w & ~kStateMask) == q && st >= kBusy && st <= kAbandoned) return q;
  }
  return pos + avail;
}

// XXH3-64 of the header fields after the checksum and the payload, seeded with
// the record's position (spec/LAYOUT.md §6).
uint64_t RecordChecksum(const void* from_len_field, uint32_t len, uint64_t pos);

}  // namespace shmring
