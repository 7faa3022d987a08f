// Ring::Verify and Ring::Recover (spec/PROTOCOL.md §5, spec/RECOVERY.md §3).
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "batch.h"
#include "eviction.h"
#include "groups.h"
#include "liveness.h"
#include "record.h"
#include "recovery.h"
#include "ring_impl.h"
#include "speculative.h"
#include "shmring/stats.h"
#include "util.h"

namespace shmring {

using namespace layout;

VerifyReport Ring::Verify() const {
  const Impl& r = *impl_;
  VerifyReport rep;
  auto problem = [&](std::string s) {
    if (rep.problems.size() < 100) rep.problems.push_back(std::move(s));
  };
  // The mapped superblock must still equal the copy validated at attach.
  if (memcmp(r.base, &r.sb, sizeof r.sb) != 0) problem("superblock: changed since attach (someone wrote over it)");
  const uint64_t tail = r.control().tail.load(std::memory_order_acquire);  // pairs with Claim's release CAS
  if (tail % kAlign != 0) problem(absl::StrCat("control.tail ", tail, ": not a multiple of 8"));
  // Slots.
  for (uint32_t i = 0; i < r.max_producers; ++i) {
    const ProducerSlot& s = r.producer(i);
    const uint32_t st = s.state.load(std::memory_order_relaxed);
    if (st != kSlotFree && st != kSlotActive) problem(absl::StrCat("producer slot ", i, ": state ", st, " is not 0 or 1"));
    const uint64_t cl = s.claim_len.load(std::memory_order_relaxed) & ~kIntentConfirmed;
    if (cl > r.capacity) problem(absl::StrCat("producer slot ", i, ": claim_len ", cl, " exceeds the capacity"));
  }
  uint64_t oldest = 0;
  bool any_group = false;
  for (uint32_t g = 0; g < r.max_groups; ++g) {
    const GroupSlot& gs = r.group(g);
    const uint32_t st = gs.state.load(std::memory_order_acquire);  // pairs with AddGroup's release
    if (st == kSlotFree) continue;
    if (st != kSlotActive && st != kSlotInit) {
      problem(absl::StrCat("group slot ", g, ": state ", st, " is not 0, 1 or 2"));
      continue;
    }
    if (st != kSlotActive) continue;
    char name[sizeof gs.name];
    memcpy(name, gs.name, sizeof name);  // one read of the shared bytes; only the copy is used
    if (memchr(name, 0, sizeof name) == nullptr || name[0] == 0) {
      problem(absl::StrCat("group slot ", g, ": name is empty or not NUL-terminated"));
    }
    const std::string shown = absl::CHexEscape(absl::string_view(name, strnlen(name, sizeof name)));
    const uint64_t c = gs.cursor.load(std::memory_order_acquire) & ~kCursorTagMask;  // pairs with Reader::Commit
    const uint64_t lag = tail - c;
    if (lag > r.capacity) {
      problem(absl::StrCat("group '", shown, "': cursor ", c, " is not within one capacity below the tail ", tail));
      continue;
    }
    any_group = true;
    oldest = std::max(oldest, lag);
  }
  if (!any_group) {
    // Without a group no cursor marks a record boundary; the start is known only before the first wrap.
    if (tail - r.initial_position > r.capacity) return rep;
    oldest = tail - r.initial_position;
  }
  rep.from = tail - oldest;
  rep.to = tail;
  uint64_t pos = rep.from;
  std::vector<BatchEntry> entries;
  for (uint64_t steps = 0; pos != tail && steps <= r.capacity / kAlign; ++steps) {
    const uint64_t avail = tail - pos;
    const Inspected in = Inspect(r, pos, avail);
    switch (in.kind) {
      case RecordKind::kNotReady:
        problem(absl::StrCat("position ", pos, ": header does not name this position (claimed, never written)"));
        return rep;
      case RecordKind::kCorrupt: {
        // What Inspect judged, not a second look at the header (it may have changed since).
        problem(absl::StrCat("position ", pos, ": unreadable header (word 0x", absl::Hex(in.word), ", len ", in.len,
                             ", max_record ", r.max_record, ")"));
        return rep;
      }
      case RecordKind::kBusy: ++rep.in_flight; break;
      case RecordKind::kPadding: ++rep.padding; break;
      case RecordKind::kSkip: ++rep.skipped; break;
      case RecordKind::kAbandoned: ++rep.abandoned; break;
      case RecordKind::kData: {
        const uint64_t sum = SpeculativeLoad(in.hdr->checksum);
        const HeaderFields f = CopyHeaderFields(*in.hdr);  // [16, 32) once; flags and messages from the copy
        if (r.checksums && (sum != RecordChecksum(&in.hdr->len, in.len, pos) || !(CopyHeaderFields(*in.hdr) == f))) {
          problem(absl::StrCat("position ", pos, ": checksum mismatch (stored 0x", absl::Hex(sum), ", len ", in.len, ")"));
          // Its length is not trusted: walk on like the reader, from the next header
          // that names its own position (spec/PROTOCOL.md §5.5).
          ++rep.records;
          pos = ResyncAfter(r, pos, avail);
          continue;
        }
        if (f.flags & kFlagBatch) {
          const uint32_t count = f.messages;
          const auto* payload = reinterpret_cast<const std::byte*>(in.hdr) + kRecordHeaderSize;
          if (!r.batches) {
            problem(absl::StrCat("position ", pos, ": a message batch in a ring without the MESSAGE_BATCHES feature"));
          } else if (!ParseBatch(payload, in.len, count, &entries)) {
            problem(absl::StrCat("position ", pos, ": malformed message batch (", count, " messages claimed in ",
                                 in.len, " bytes; entries must fill the payload exactly, spec/LAYOUT.md §6.4)"));
          } else {
            rep.messages += count;
          }
        }
        ++rep.records;
        rep.bytes += in.len;
        break;
      }
    }
    pos += in.size;
  }
  return rep;
}

std::vector<PeekedRecord> Ring::Peek(size_t max) const {
  const Impl& r = *impl_;
  std::vector<PeekedRecord> out;
  const uint64_t tail = r.control().tail.load(std::memory_order_acquire);  // pairs with Claim's release CAS
  uint64_t oldest = 0;
  bool any_group = false;
  for (uint32_t g = 0; g < r.max_groups; ++g) {
    const GroupSlot& gs = r.group(g);
    if (gs.state.load(std::memory_order_acquire) != kSlotActive) continue;  // pairs with AddGroup's release
    const uint64_t lag = tail - (gs.cursor.load(std::memory_order_acquire) & ~kCursorTagMask);  // pairs with commits
    if (lag > r.capacity) continue;
    any_group = true;
    oldest = std::max(oldest, lag);
  }
  if (!any_group) {
    if (tail - r.initial_position > r.capacity) return out;  // no known record boundary
    oldest = tail - r.initial_position;
  }
  uint64_t pos = tail - oldest;
  std::vector<BatchEntry> entries;
  SpeculativeReads speculative;  // producers may reuse what we copy: each copy is re-validated
  for (uint64_t steps = 0; pos != tail && out.size() < max && steps <= r.capacity / kAlign; ++steps) {
    const Inspected in = Inspect(r, pos, tail - pos);
    if (in.kind == RecordKind::kNotReady || in.kind == RecordKind::kCorrupt || in.kind == RecordKind::kBusy) break;
    if (in.kind == RecordKind::kData) {
      std::string copy(16 + size_t{in.len}, '\0');
      const uint64_t sum = SpeculativeLoad(in.hdr->checksum);
      SpeculativeCopy(copy.data(), &in.hdr->len, copy.size());
      // Orders the copy before the word re-load below (seqlock read side); pairs with
      // the release publication of the next lap's header at this position.
      std::atomic_thread_fence(std::memory_order_acquire);
      // Still this record after the copy (same word), and the copy matches its checksum?
      const bool same = in.hdr->word.load(std::memory_order_relaxed) == (pos | kCommitted);
      if (same && r.checksums && sum != RecordChecksum(copy.data(), in.len, pos)) {
        pos = ResyncAfter(r, pos, tail - pos);  // its length is not trusted (spec/PROTOCOL.md §5.5)
        continue;
      }
      if (same) {
        PeekedRecord rec;
        rec.position = pos;
        memcpy(&rec.type, copy.data() + 4, 2);
        memcpy(&rec.producer, copy.data() + 8, 4);
        uint16_t flags;
        uint32_t count;
        memcpy(&flags, copy.data() + 6, 2);
        memcpy(&count, copy.data() + 12, 4);
        const auto* payload = reinterpret_cast<const std::byte*>(copy.data()) + 16;
        if (!(flags & kFlagBatch)) {
          rec.payload = copy.substr(16);
          out.push_back(std::move(rec));
        } else if (r.batches && ParseBatch(payload, in.len, count, &entries)) {  // one per message, up to max
          for (size_t i = 0; i < entries.size() && out.size() < max; ++i) {
            rec.type = entries[i].type;
            rec.payload = copy.substr(16 + entries[i].offset, entries[i].len);
            out.push_back(rec);
          }
        }
      }
    }
    pos += in.size;
  }
  return out;
}

absl::StatusOr<RecoverReport> Ring::Recover() {
  Impl& r = *impl_;
  if (r.read_only) return absl::FailedPreconditionError(absl::StrCat("ring ", r.path, " is open read-only"));
  RecoverReport rep;
  for (uint32_t i = 0; i < r.max_producers; ++i) {
    ProducerSlot& s = r.producer(i);
    // Acquire pairs with ClearIntent's release store.
    const bool intent = (s.claim_len.load(std::memory_order_acquire) & ~kIntentConfirmed) != 0;
    // Acquire pairs with the release store of ACTIVE in Producer::Attach.
    const bool active = s.state.load(std::memory_order_acquire) == kSlotActive;
    if (!intent && !active) continue;
    if (LockHeld(r.fd, r.producer_lock_byte(i))) continue;  // alive
    auto lock = SlotLock::TryAcquire(r.fd, r.path, r.producer_lock_byte(i));
    if (!lock.ok()) continue;
    auto rlock = SlotLock::TryAcquire(r.fd, r.path, r.reclaim_lock_byte(i));
    if (!rlock.ok()) {  // a reclaimer is at it
      ++rep.claims_unsettled;
      continue;
    }
    const Settled st = ReclaimSlotIntent(r, i);
    if (!st.settled) {
      ++rep.claims_unsettled;
      continue;
    }
    if (intent) {
      ++rep.claims_settled;
      rep.records_abandoned += st.abandoned;
    }
    if (active) {  // a dead owner's slot: free it (we hold its lock, so no Attach races us)
      s.pid.store(0, std::memory_order_relaxed);
      // Release pairs with the acquire state loads of Attach and Stats.
      s.state.store(kSlotFree, std::memory_order_release);
      ++rep.slots_freed;
    }
  }
  rep.groups_evicted = EvictDeadGroups(r, MonotonicNs());  // eviction.cc
  if (rep.claims_settled || rep.slots_freed) r.control().recoveries.fetch_add(1, std::memory_order_relaxed);
  return rep;
}

}  // namespace shmring
