// The reader (spec/PROTOCOL.md §5–§6): scan from the group cursor, validate each
// header once, verify checksums, deliver, then commit the cursor by CAS.
#include "shmring/reader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "batch.h"
#include "doorbell.h"
#include "fault.h"
#include "groups.h"
#include "liveness.h"
#include "record.h"
#include "recovery.h"
#include "speculative.h"
#include "util.h"
#include "wakeup.h"

namespace shmring {

using namespace layout;

namespace {
constexpr uint64_t kReclaimCheckNs = 2'000'000;  // a stuck head asks "is its producer dead?" every 2 ms
}  // namespace

struct Reader::Impl {
  std::shared_ptr<Ring> ring;
  Ring::Impl& r;
  uint32_t g;
  GroupSlot& gs;
  SlotLock lock;
  ReaderOptions options;
  uint64_t tag = 0;        // generation & kCursorGenMask
  uint64_t committed = 0;  // our view of the cursor position
  uint64_t next = 0;       // position after the last record returned
  std::vector<RecordView> views;
  // A batch split by `max` (spec/PROTOCOL.md §5.6): its position, and how many of its
  // messages earlier polls returned. Positions never repeat, so the pair cannot go stale.
  uint64_t split_pos = ~uint64_t{0};
  uint32_t split_done = 0;
  std::vector<std::byte> buf;  // overwrite policy: copies
  uint64_t pend_delivered = 0, pend_bytes = 0, pend_corrupt = 0, pend_abandoned = 0;
  uint64_t stuck_pos = 0, stuck_since = 0, last_reclaim_check = 0;
  uint64_t poll_now = 0;  // CLOCK_MONOTONIC_COARSE at the start of this Poll (one vDSO read per Poll)
  // The tail as last loaded (and when): a lower bound of the real one, so a record
  // that fits below it needs no new load (the tail's cache line stays with the producers).
  uint64_t tail_seen = 0, tail_loaded_at = 0;
  AttachReport report;
  DoorbellServer bell;
  bool armed = false;
  uint32_t gen = 0;

  Impl(std::shared_ptr<Ring> rg, uint32_t gi, SlotLock l, ReaderOptions o)
      : ring(std::move(rg)), r(ring->impl()), g(gi), gs(r.group(gi)), lock(std::move(l)), options(o) {}

  absl::Status Fenced(uint64_t found) const {
    return absl::AbortedError(absl::StrCat("group '", GroupName(gs), "' of ring ", r.path,
                                           ": this reader was fenced (cursor tag ", found & kCursorGenMask,
                                           ", ours ", tag, "): a newer reader took the group over"));
  }
  bool HeadStuck(uint64_t pos);
  uint64_t LoadTail();
  absl::StatusOr<std::span<const RecordView>> PollInPlace(size_t max);
  absl::StatusOr<std::span<const RecordView>> PollCopies(size_t max);
  absl::Status Commit();
  // Appends views for a batch record's messages from `split_done` on (if it is the
  // split one), as many as fit `max`. kMalformed: count it corrupt; kPartial: the
  // batch did not fit and the poll stops at it; kWhole: all delivered.
  enum class Expand { kMalformed, kPartial, kWhole };
  Expand ExpandBatch(uint64_t pos, const std::byte* payload, uint32_t len, uint32_t count, const RecordView& proto,
                     size_t max);
  void WakeProducers();
  void Disarm();
  bool Arm();
  bool JournaledCas(uint64_t* from_word, uint64_t to_word, uint64_t d_delivered, uint64_t d_bytes,
                    uint64_t d_corrupt, uint64_t d_abandoned);
};

// Settles the commit journal a dead reader left (spec/RECOVERY.md §4.5). Called by
// the next reader while it holds the group's lock, before it retags the cursor.
void SettleJournal(GroupSlot& gs) {
  // Acquire pairs with the release store of journal_state in JournaledCas.
  if (gs.journal_state.load(std::memory_order_acquire) != 1) return;
  const uint64_t w = gs.cursor.load(std::memory_order_acquire) & ~kCursorEvicted;
  const uint64_t to = gs.journal_to.load(std::memory_order_relaxed) & ~kCursorEvicted;
  const uint32_t outcome = gs.journal_outcome.load(std::memory_order_relaxed);
  // A producer's recorded outcome wins: it saw the cursor word its CAS replaced. Only
  // without one does the cursor decide (a producer may have moved it to exactly
  // journal_to and not yet recorded, or died first: spec/RECOVERY.md §4.5).
  const bool happened = outcome == kJournalHappened || (outcome != kJournalNotHappened && w == to);
  if (happened) {  // absolute values: applying twice is harmless
    gs.delivered.store(gs.journal_delivered.load(std::memory_order_relaxed), std::memory_order_relaxed);
    gs.delivered_bytes.store(gs.journal_bytes.load(std::memory_order_relaxed), std::memory_order_relaxed);
    gs.corrupt.store(gs.journal_corrupt.load(std::memory_order_relaxed), std::memory_order_relaxed);
    gs.abandoned.store(gs.journal_abandoned.load(std::memory_order_relaxed), std::memory_order_relaxed);
  }
  gs.journal_state.store(0, std::memory_order_relaxed);
}

// Moves the cursor by CAS with the commit journal around it, so that the counters
// and the cursor move together even if this process dies between the two.
bool Reader::Impl::JournaledCas(uint64_t* from_word, uint64_t to_word, uint64_t d_delivered, uint64_t d_bytes,
                                uint64_t d_corrupt, uint64_t d_abandoned) {
  const uint64_t delivered = gs.delivered.load(std::memory_order_relaxed) + d_delivered;
  const uint64_t bytes = gs.delivered_bytes.load(std::memory_order_relaxed) + d_bytes;
  const uint64_t corrupt = gs.corrupt.load(std::memory_order_relaxed) + d_corrupt;
  const uint64_t abandoned = gs.abandoned.load(std::memory_order_relaxed) + d_abandoned;
  gs.journal_from.store(*from_word, std::memory_order_relaxed);
  gs.journal_to.store(to_word, std::memory_order_relaxed);
  gs.journal_delivered.store(delivered, std::memory_order_relaxed);
  gs.journal_bytes.store(bytes, std::memory_order_relaxed);
  gs.journal_corrupt.store(corrupt, std::memory_order_relaxed);
  gs.journal_abandoned.store(abandoned, std::memory_order_relaxed);
  gs.journal_outcome.store(kJournalUnknown, std::memory_order_relaxed);
  // Release pairs with SettleJournal's and AdvanceGroup's acquire loads of the state.
  gs.journal_state.store(1, std::memory_order_release);
  SHMRING_FAULT("reader.after_journal");
  // seq_cst CAS: its release half pairs with GatingHead's acquire cursor load (our
  // reads are done before producers reuse the space); its place in the seq_cst
  // order pairs with the space_waiters load in WakeProducers (Dekker with MakeRoom).
  const bool ok = gs.cursor.compare_exchange_strong(*from_word, to_word, std::memory_order_seq_cst);
  SHMRING_FAULT("reader.after_cas");
  if (ok) {
    gs.seen_overwritten.store(gs.overwritten.load(std::memory_order_relaxed), std::memory_order_relaxed);
    gs.delivered.store(delivered, std::memory_order_relaxed);
    gs.delivered_bytes.store(bytes, std::memory_order_relaxed);
    gs.corrupt.store(corrupt, std::memory_order_relaxed);
    SHMRING_FAULT("reader.mid_counters");
    gs.abandoned.store(abandoned, std::memory_order_relaxed);
  }
  // Release pairs with the acquire journal_state loads of SettleJournal and
  // NoteJournalOutcome: the counters above are complete once the journal is closed.
  gs.journal_state.store(0, std::memory_order_release);
  return ok;
}

// The head record is not ready though producers claimed past it. If its producer
// is dead, reclaim (spec/RECOVERY.md §3); checked every kReclaimCheckNs.
// Times are the coarse clock Poll read (a tick of 1–4 ms is fine for a 2 ms check
// cadence and timeouts of hundreds of ms; it costs no clock read per not-ready head).
bool Reader::Impl::HeadStuck(uint64_t pos) {
  const uint64_t now = poll_now;
  if (stuck_pos != pos || stuck_since == 0) {
    stuck_pos = pos;
    // Since when the group has been stuck here: a previous reader of the group (killed
    // and restarted meanwhile) may have been stuck at this very position already, and
    // the unblock timeout counts from then (spec/RECOVERY.md §3.7). Reader-written only.
    const uint64_t since = gs.stuck_since_ns.load(std::memory_order_relaxed);
    const bool same = gs.stuck_pos.load(std::memory_order_relaxed) == pos && since != 0 && since <= now;
    stuck_since = same ? since : now;
    gs.stuck_pos.store(pos, std::memory_order_relaxed);
    gs.stuck_since_ns.store(stuck_since, std::memory_order_relaxed);
    last_reclaim_check = now;
    return false;
  }
  if (now - last_reclaim_check < kReclaimCheckNs) return false;
  last_reclaim_check = now;
  return TryReclaimAt(r, pos, now - stuck_since);
}

Reader::Impl::Expand Reader::Impl::ExpandBatch(uint64_t pos, const std::byte* payload, uint32_t len, uint32_t count,
                                              const RecordView& proto, size_t max) {
  // `count` is only a claim until ParseBatch has checked it against the entries; until
  // then it bounds nothing but which views to make, and a failure takes them back.
  if (!r.batches) return Expand::kMalformed;
  const size_t from = pos == split_pos ? split_done : 0;
  if (from >= count) return Expand::kMalformed;
  const size_t room = max > views.size() ? max - views.size() : 0;
  const size_t left = count - from;
  // Split only a batch that cannot fit a poll of its own: otherwise it waits for the next poll.
  const size_t n = left <= room ? left : views.empty() ? room : 0;
  const size_t saved = views.size();
  const bool ok = ParseBatch(payload, len, count, [&](uint32_t i, const BatchEntry& e) {
    if (i < from || i >= from + n) return;
    RecordView& v = views.emplace_back(proto);
    v.type = e.type;
    v.payload = {payload + e.offset, e.len};
  });
  if (!ok) {
    views.resize(saved);
    return Expand::kMalformed;
  }
  if (from + n < count) {
    split_pos = pos;
    split_done = uint32_t(from + n);
    return Expand::kPartial;
  }
  split_pos = ~uint64_t{0};
  return Expand::kWhole;
}

// Acquire pairs with Claim's release CAS (the bound only; records are validated by their words).
uint64_t Reader::Impl::LoadTail() {
  tail_loaded_at = poll_now;
  return r.control().tail.load(std::memory_order_acquire);
}

// The tail is loaded only when a record cannot prove it was claimed (spec/PROTOCOL.md
// §5.1): a header word naming its own position proves a claim there (so a BUSY or
// NOT_READY head needs no tail to wait on); with checksums, a committed record whose
// checksum verifies proves its length too. Everything else is judged against a tail
// loaded during this poll, as before; `tail_seen` never passes a proven end.
absl::StatusOr<std::span<const RecordView>> Reader::Impl::PollInPlace(size_t max) {
  uint64_t pos = next;
  uint64_t tail = tail_seen;  // ≥ pos: the reader steps only over claimed bytes
  bool fresh = false;         // tail loaded during this poll
  while (views.size() < max) {
    const uint64_t known = std::min<uint64_t>(tail - pos, r.capacity);  // claimed past pos, as far as we know
    const bool provable = r.checksums && !fresh;
    const uint64_t avail = provable ? r.capacity : known;
    // Before a fresh tail, Inspect runs even with nothing known to be claimed: a
    // header naming `pos` then comes back CORRUPT (past `avail`), which loads the tail.
    const Inspected in = avail == 0 && fresh ? Inspected{} : Inspect(r, pos, avail);
    if (!fresh) {
      bool need_tail = false;
      switch (in.kind) {
        case RecordKind::kData:  // past `known`, its checksum decides below
        case RecordKind::kBusy:  // its word proves the claim
          break;
        case RecordKind::kPadding:
        case RecordKind::kSkip:
        case RecordKind::kAbandoned:
          need_tail = in.size > known;
          break;
        case RecordKind::kNotReady:
          // Claimed but unwritten (known > 0: §5.4 needs no tail), or no header names
          // `pos`: caught up, unless a claim's header was never written, so look at the
          // tail once per coarse tick; implicit padding has no header to name it.
          if (known > 0) break;
          if (r.capacity - (pos & r.mask) >= kRecordHeaderSize && poll_now == tail_loaded_at) goto done;
          need_tail = true;
          break;
        case RecordKind::kCorrupt:  // judged against the real bound
          need_tail = true;
          break;
      }
      if (need_tail) {
        tail = LoadTail();
        fresh = true;
        continue;
      }
    }
    if (in.kind == RecordKind::kNotReady && known == 0) break;  // caught up
    if (in.kind == RecordKind::kNotReady || in.kind == RecordKind::kBusy) {
      if (views.empty() && HeadStuck(pos)) continue;
      break;
    }
    if (in.kind == RecordKind::kCorrupt) {  // its length is not trusted: resync (§5.5)
      ++pend_corrupt;
      pos = ResyncAfter(r, pos, avail);
      continue;
    }
    if (in.kind == RecordKind::kData) {
      const RecordHeader& h = *in.hdr;
      const uint64_t sum = SpeculativeLoad(h.checksum);  // read once
      // [16, 32) read once into a local; only the local is used. The checksum runs
      // over the bytes in place (one-shot XXH3 needs them contiguous with the
      // payload), so the local must equal them afterwards: a header that changed
      // during the check (torn, or a hostile writer) fails like a wrong checksum.
      const HeaderFields f = CopyHeaderFields(h);
      const bool intact = f.len == in.len && (!r.checksums || sum == RecordChecksum(&h.len, in.len, pos)) &&
                          (!r.checksums || CopyHeaderFields(h) == f);
      if (!intact) {
        // Judged (and resynced) against the real tail only: the record may lie past
        // the known one, and the resync scans up to it.
        if (!fresh) {
          tail = LoadTail();
          fresh = true;
          continue;
        }
        // The checksum covers `len`: a failed record's length proves nothing, so the
        // reader does not step over it but resyncs on the next header naming its own
        // position (§5.5), the whole span counted as this one corrupt record.
        ++pend_corrupt;
        pos = ResyncAfter(r, pos, known);
        continue;
      } else {
        RecordView v;
        v.position = pos;
        v.type = f.type;
        v.flags = f.flags;
        v.producer = f.producer;
        v.payload = {reinterpret_cast<const std::byte*>(&h) + kRecordHeaderSize, in.len};
        Expand e = Expand::kWhole;
        if (v.flags & kFlagBatch) {
          e = ExpandBatch(pos, v.payload.data(), in.len, f.messages, v, max);
        } else {
          views.push_back(v);
        }
        if (e == Expand::kPartial) break;  // the rest of this batch next time; the cursor stays before it
        if (e == Expand::kMalformed) {
          ++pend_corrupt;
        } else {
          ++pend_delivered;
          pend_bytes += in.len;
        }
      }
    } else if (in.kind == RecordKind::kAbandoned) {
      ++pend_abandoned;
    }
    pos += in.size;
    if (pos - tail < (uint64_t{1} << 63)) tail = pos;  // a verified record proved its claim up to here
  }
done:
  tail_seen = tail;
  stuck_since = views.empty() ? stuck_since : 0;
  next = pos;
  return std::span<const RecordView>(views);
}

absl::StatusOr<std::span<const RecordView>> Reader::Impl::PollCopies(size_t max) {
  struct Meta {
    RecordView v;
    size_t at;     // offset of the copied header fields + payload in buf
    uint32_t len;  // validated by Inspect and by the checksum over the copy
  };
  std::vector<Meta> metas;
  for (int attempt = 0; attempt < 64; ++attempt) {
    // Acquire pairs with AdvanceGroup's acq_rel CAS (producers moving us forward).
    const uint64_t w = gs.cursor.load(std::memory_order_acquire);
    if ((w & kCursorGenMask) != tag || (w & kCursorEvicted)) return Fenced(w);
    const uint64_t c = w & ~kCursorTagMask;
    const uint64_t tail = r.control().tail.load(std::memory_order_acquire);  // pairs with Claim's release CAS
    metas.clear();
    size_t used = 0;
    uint64_t pos = c, corrupt = 0, abandoned = 0;
    size_t expect = 0;  // views the records copied so far will yield (batches: their message counts)
    SpeculativeReads speculative;  // validated by the cursor re-check and the journaled CAS below
    while (expect < max) {
      const uint64_t avail = std::min<uint64_t>(tail - pos, r.capacity);
      if (avail == 0) break;
      const Inspected in = Inspect(r, pos, avail);
      if (in.kind == RecordKind::kNotReady || in.kind == RecordKind::kBusy) {
        if (metas.empty() && pos == c && HeadStuck(pos)) continue;
        break;
      }
      if (in.kind == RecordKind::kCorrupt) {  // its length is not trusted: resync (§5.5)
        ++corrupt;
        pos = ResyncAfter(r, pos, avail);
        continue;
      }
      if (in.kind == RecordKind::kData) {
        const size_t need = 16 + size_t{in.len};
        if (used + need > buf.size() && !metas.empty()) break;
        if (used + need > buf.size()) buf.resize(used + need);
        const RecordHeader& h = *in.hdr;
        Meta m;
        const uint64_t sum = SpeculativeLoad(h.checksum);
        SpeculativeCopy(buf.data() + used, &h.len, need);  // header fields [16,32) + payload
        // The checksum covers the copied len field too: a torn or forged one fails it.
        // Checked here, during the walk, because a failed record's length cannot be
        // stepped over (§5.5): resync instead. A copy torn by a racing overwrite fails
        // too; the re-check below then discards this whole attempt, its count with it.
        if (r.checksums && sum != RecordChecksum(buf.data() + used, in.len, pos)) {
          ++corrupt;
          pos = ResyncAfter(r, pos, avail);
          continue;
        }
        m.at = used;
        m.len = in.len;
        m.v.position = pos;
        uint16_t flags;
        uint32_t count;
        memcpy(&flags, buf.data() + used + 6, 2);
        memcpy(&count, buf.data() + used + 12, 4);
        // A batch stops the walk once it fills `max`, so only the last record copied can be split.
        expect += (flags & kFlagBatch) == 0 ? 1 : std::max<uint64_t>(1, count - (pos == split_pos ? split_done : 0));
        used += need;
        metas.push_back(m);
      } else if (in.kind == RecordKind::kAbandoned) {
        ++abandoned;
      }
      pos += in.size;
    }
    if (pos == c) return std::span<const RecordView>();
    // Seqlock-style re-check: the copies above are only trustworthy if no producer
    // moved our cursor (and so reused the space) while we copied. The fence orders
    // the copies before the cursor load; it pairs with the release fence that follows
    // AdvanceGroup's cursor CAS (before the producer rewrites the passed bytes).
    std::atomic_thread_fence(std::memory_order_acquire);
    if (gs.cursor.load(std::memory_order_relaxed) != w) continue;
    views.clear();
    uint64_t delivered = 0, bytes = 0;
    const uint64_t split_pos0 = split_pos;  // restored if the commit below fails: nothing was delivered
    const uint32_t split_done0 = split_done;
    for (Meta& m : metas) {
      const std::byte* at = buf.data() + m.at;
      const uint32_t len = m.len;  // its checksum verified during the walk
      memcpy(&m.v.type, at + 4, 2);
      memcpy(&m.v.flags, at + 6, 2);
      memcpy(&m.v.producer, at + 8, 4);
      m.v.payload = {at + 16, len};
      if (m.v.flags & kFlagBatch) {
        uint32_t count;
        memcpy(&count, at + 12, 4);
        const Expand e = ExpandBatch(m.v.position, at + 16, len, count, m.v, max);
        if (e == Expand::kMalformed) {
          ++corrupt;
          continue;
        }
        if (e == Expand::kPartial) {  // the last record copied: the cursor stays before it
          pos = m.v.position;
          break;
        }
      } else {
        views.push_back(m.v);
      }
      ++delivered;
      bytes += len;
    }
    uint64_t expected = w;
    if (pos != c && !JournaledCas(&expected, pos | (w & kCursorTagMask), delivered, bytes, corrupt, abandoned)) {
      views.clear();
      split_pos = split_pos0;
      split_done = split_done0;
      continue;  // producers moved us meanwhile: they counted those records as overwritten
    }
    committed = next = pos;
    WakeProducers();
    return std::span<const RecordView>(views);
  }
  return std::span<const RecordView>();
}

// Doorbell arming (spec/PROTOCOL.md §7.2). Arm() after an empty poll; true if
// records arrived meanwhile (then the caller polls again instead of sleeping).
bool Reader::Impl::Arm() {
  if (!bell.active() || armed) return false;
  Control& ctl = r.control();
  armed = true;
  ctl.bell_waiters.fetch_add(1, std::memory_order_seq_cst);
  // seq_cst store pairs with the producers' seq_cst load/CAS in RingBells, after
  // their commit CAS: either they see us armed, or we see their record below.
  gs.reader_waiting.store(1, std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const uint64_t tail = ctl.tail.load(std::memory_order_acquire);  // pairs with Claim's release CAS
  const uint64_t avail = std::min<uint64_t>(tail - next, r.capacity);
  if (avail == 0) return false;
  const RecordKind kind = Inspect(r, next, avail).kind;  // one look at the header
  return kind != RecordKind::kNotReady && kind != RecordKind::kBusy;
}

void Reader::Impl::Disarm() {
  if (!armed) return;
  armed = false;
  gs.reader_waiting.store(0, std::memory_order_relaxed);
  r.control().bell_waiters.fetch_sub(1, std::memory_order_relaxed);
}

void Reader::Impl::WakeProducers() {
  Control& ctl = r.control();
  // seq_cst load pairs with MakeRoom's seq_cst space_waiters increment.
  if (ctl.space_waiters.load(std::memory_order_seq_cst) != 0) {
    ctl.space_seq.fetch_add(1, std::memory_order_seq_cst);
    FutexWakeAll(ctl.space_seq);
  }
}

absl::Status Reader::Impl::Commit() {
  if (next == committed) return absl::OkStatus();
  uint64_t expected = committed | tag;
  if (!JournaledCas(&expected, next | tag, pend_delivered, pend_bytes, pend_corrupt, pend_abandoned)) {
    return Fenced(expected);
  }
  pend_delivered = pend_bytes = pend_corrupt = pend_abandoned = 0;
  committed = next;
  WakeProducers();
  return absl::OkStatus();
}

// ---- public API ----

absl::StatusOr<std::unique_ptr<Reader>> Reader::Attach(std::shared_ptr<Ring> ring, std::string_view group,
                                                       ReaderOptions options) {
  if (!ring) return absl::InvalidArgumentError("reader attach: null ring");
  Ring::Impl& r = ring->impl();
  if (r.read_only) return absl::FailedPreconditionError(absl::StrCat("ring ", r.path, " is open read-only"));
  auto gi = ring->FindGroup(group);
  if (!gi.ok()) return gi.status();
  GroupSlot& gs = r.group(*gi);
  auto lock = SlotLock::TryAcquire(r.fd, r.path, r.group_lock_byte(*gi));
  if (!lock.ok()) {
    if (absl::IsUnavailable(lock.status())) {
      return absl::FailedPreconditionError(absl::StrCat("group '", std::string(group), "' of ring ", r.path,
                                                        " already has a live reader (pid ",
                                                        gs.pid.load(std::memory_order_relaxed),
                                                        "); one reader per group"));
    }
    return lock.status();
  }
  // The group may have been removed (and its slot reused) between FindGroup and the lock.
  // Acquire pairs with AddGroup's release store of ACTIVE (the name is complete).
  if (gs.state.load(std::memory_order_acquire) != kSlotActive || GroupName(gs) != group) {
    return absl::NotFoundError(absl::StrCat("group '", std::string(group), "' of ring ", r.path, " was just removed"));
  }
  auto impl = std::make_unique<Impl>(std::move(ring), *gi, std::move(*lock), options);
  SettleJournal(gs);  // the previous reader may have died mid-commit
  // A previous reader that died armed leaves its bell_waiters count behind.
  if (gs.reader_waiting.exchange(0, std::memory_order_relaxed) != 0) {
    r.control().bell_waiters.fetch_sub(1, std::memory_order_relaxed);
  }
  gs.doorbell_gen.store(0, std::memory_order_relaxed);
  const uint32_t gen = gs.generation.fetch_add(1, std::memory_order_relaxed) + 1;
  impl->tag = gen & kCursorGenMask;
  impl->gen = gen;
  impl->report.previous_pid = uint32_t(gs.pid.load(std::memory_order_relaxed));
  const uint64_t ow = gs.overwritten.load(std::memory_order_relaxed);
  impl->report.lost_while_away = ow - gs.seen_overwritten.load(std::memory_order_relaxed);
  gs.seen_overwritten.store(ow, std::memory_order_relaxed);
  // Take the cursor: our generation tag fences older readers' commits, and clearing
  // the evicted bit makes producers' pending AdvanceGroup CASes fail (acq_rel pairs
  // with theirs).
  uint64_t w = gs.cursor.load(std::memory_order_acquire);  // pairs with Commit / AdvanceGroup CASes
  while (!gs.cursor.compare_exchange_weak(w, (w & ~kCursorTagMask) | impl->tag, std::memory_order_acq_rel)) {
  }
  impl->committed = impl->next = impl->tail_seen = w & ~kCursorTagMask;
  impl->report.resumed_at = impl->committed;
  gs.pid.store(getpid(), std::memory_order_relaxed);
  gs.uid.store(getuid(), std::memory_order_relaxed);
  gs.pidns.store(SelfPidNamespace(), std::memory_order_relaxed);
  const uint64_t now = MonotonicNs();
  gs.start_ns.store(now, std::memory_order_relaxed);
  gs.heartbeat_ns.store(now, std::memory_order_relaxed);
  impl->buf.resize(std::max<size_t>(256 << 10, 16 + size_t{r.max_record}));
  return std::make_unique<Reader>(std::move(impl));
}

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Reader::~Reader() {
  if (!impl_) return;
  if (impl_->options.auto_commit) (void)impl_->Commit();
  impl_->Disarm();
  if (impl_->bell.active()) {
    impl_->gs.doorbell_gen.store(0, std::memory_order_relaxed);
    impl_->bell.Close();
  }
  impl_->gs.pid.store(0, std::memory_order_relaxed);
  impl_->gs.heartbeat_ns.store(MonotonicNs(), std::memory_order_relaxed);  // eviction clock starts now
}

absl::StatusOr<std::span<const RecordView>> Reader::Poll(size_t max) {
  Impl& p = *impl_;
  p.poll_now = MonotonicCoarseNs();  // every Poll: the coarse clock is cheap
  p.gs.heartbeat_ns.store(p.poll_now, std::memory_order_relaxed);
  if (max == 0) return std::span<const RecordView>();
  if (p.bell.active()) {
    p.Disarm();
    p.bell.Serve();
  }
  for (;;) {
    absl::StatusOr<std::span<const RecordView>> b;
    if (p.r.policy == Policy::kOverwrite) {
      b = p.PollCopies(max);
    } else {
      if (p.options.auto_commit) SHMRING_RETURN_IF_ERROR(p.Commit());
      p.views.clear();
      b = p.PollInPlace(max);
    }
    if (!b.ok() || !b->empty() || !p.Arm()) return b;
    p.Disarm();  // records arrived while arming: poll again rather than sleep
  }
}

absl::StatusOr<int> Reader::DoorbellFd() {
  Impl& p = *impl_;
  if (p.bell.active()) return p.bell.fd();
  struct stat st;
  if (fstat(p.r.fd, &st) != 0) return ErrnoStatus(errno, "stat ring", p.r.path);
  SHMRING_RETURN_IF_ERROR(p.bell.Open(DoorbellPath(p.r.path, GroupName(p.gs)), st.st_mode, st.st_gid));
  // Release pairs with RingBells' acquire: producers connect only once we listen.
  p.gs.doorbell_gen.store(p.gen, std::memory_order_release);
  return p.bell.fd();
}

absl::StatusOr<std::span<const RecordView>> Reader::Wait(size_t max, std::chrono::nanoseconds timeout) {
  Impl& p = *impl_;
  const uint64_t deadline = MonotonicNs() + uint64_t(std::max<int64_t>(0, timeout.count()));
  for (int i = 0; i <= p.options.spin; ++i) {
    auto b = Poll(max);
    if (!b.ok() || !b->empty()) return b;
  }
  Control& ctl = p.r.control();
  for (;;) {
    const uint32_t seq = ctl.data_seq.load(std::memory_order_seq_cst);
    // seq_cst increment pairs with MaybeWake's seq_cst data_waiters load after a commit.
    ctl.data_waiters.fetch_add(1, std::memory_order_seq_cst);
    // The re-check below uses acquire loads; the fence makes the increment-then-load
    // a StoreLoad order in the C++ model too (pairs with MaybeWake's seq_cst load).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    auto b = Poll(max);
    if (!b.ok() || !b->empty()) {
      ctl.data_waiters.fetch_sub(1, std::memory_order_seq_cst);
      return b;
    }
    const uint64_t now = MonotonicNs();
    if (now >= deadline) {
      ctl.data_waiters.fetch_sub(1, std::memory_order_seq_cst);
      return b;
    }
    // Park in slices so a dead producer's claim at our head is still looked at.
    FutexWait(ctl.data_seq, seq, std::chrono::nanoseconds(std::min<uint64_t>(deadline - now, 20'000'000)));
    ctl.data_waiters.fetch_sub(1, std::memory_order_seq_cst);
  }
}

absl::Status Reader::Commit() {
  if (impl_->r.policy == Policy::kOverwrite) return absl::OkStatus();  // PollCopies committed already
  return impl_->Commit();
}
uint64_t Reader::committed_position() const { return impl_->committed; }
const AttachReport& Reader::attach_report() const { return impl_->report; }
uint32_t Reader::group() const { return impl_->g; }

}  // namespace shmring
