// The producer hot path (spec/PROTOCOL.md §3–§4): claim by CAS on the tail,
// write, commit by CAS on the header word. No syscall unless a reader is parked.
#include <cstring>

#include "absl/strings/str_cat.h"
#include "batch.h"
#include "counter_journal.h"
#include "fault.h"
#include "producer_impl.h"
#include "record.h"
#include "speculative.h"
#include "util.h"
#include "wakeup.h"

namespace shmring {

using namespace layout;

namespace {
constexpr uint32_t kHeartbeatEvery = 256;  // claims between heartbeat refreshes (vDSO clock)
constexpr uint64_t kSlack = kRecordHeaderSize;  // bytes a claim stays short of a full lap (PROTOCOL §3 step 3)

void Bump(std::atomic<uint64_t>& counter, uint64_t by) {
  // Owner-only counters: a load and a store, no locked instruction.
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}
}  // namespace

Producer::Impl::Impl(std::shared_ptr<Ring> rg, uint32_t idx, SlotLock l, ProducerOptions o)
    : ring(std::move(rg)),
      r(ring->impl()),
      index(idx),
      slot(r.producer(idx)),
      producer_id(0),
      lock(std::move(l)),
      options(o),
      limit(0) {}

absl::StatusOr<uint64_t> Producer::Impl::Claim(uint64_t size, std::chrono::nanoseconds timeout) {
  Control& ctl = r.control();
  uint64_t deadline = 0;
  bool sample = false;  // measure the depth after this claim (high_water, PROTOCOL §3 step 8)
  if (++since_heartbeat >= kHeartbeatEvery) {
    since_heartbeat = 0;
    sample = true;
    slot.heartbeat_ns.store(MonotonicNs(), std::memory_order_relaxed);
  }
  uint64_t t = ctl.tail.load(std::memory_order_relaxed);
  for (;;) {
    if (t % kAlign != 0) {  // only a corrupt or hostile ring has this: refuse, never write misaligned
      Bump(slot.dropped, 1);
      return absl::DataLossError(absl::StrCat("ring ", r.path, ": control.tail ", t,
                                              " is not a multiple of 8 (the ring is corrupt; shmctl verify)"));
    }
    const uint64_t rem = r.capacity - (t & r.mask);
    const uint64_t pad = rem < size ? rem : 0;  // never split a record: pad to the wrap (spec/LAYOUT.md §6.2)
    const uint64_t need = pad + size;
    if (need + kSlack > r.capacity) {  // only in rings whose max_record passes MaxClaim (made before 1.2)
      Bump(slot.dropped, 1);
      return absl::ResourceExhaustedError(absl::StrCat(
          "ring ", r.path, ": a claim of ", size, " bytes after ", pad, " bytes of padding to the wrap can never fit ",
          "a ring of ", r.capacity, " bytes (its max_record exceeds ", MaxClaim(r.capacity) - kRecordHeaderSize,
          "; recreate it with a smaller one); record dropped"));
    }
    const uint64_t end = t + need;
    // A claim ends at least one header (32 bytes) short of a full lap past the limit,
    // so that a skip header written at the tail never overlaps a fenced lap's first
    // header (spec/PROTOCOL.md §3.5).
    if (end + kSlack - limit > r.capacity) {  // modular: the claim would pass the cached limit
      uint64_t head = 0;
      Fence f;
      limit = Limit(t, &head, &f);
      sample = true;  // the ring is filling up: measure it
      const bool room = end + kSlack - head <= r.capacity;
      if (room && f.any && (f.inside || end + kSlack - f.gate > r.capacity)) {
        // The claim would reach a lap of a claim still in flight (its owner may still
        // write there): skip that lap's bytes first, once readers have passed them.
        if (f.end + kSlack - head > r.capacity) {
          if (deadline == 0) deadline = MonotonicNs() + uint64_t(timeout.count());
          if (absl::Status s = MakeRoom(f.end + kSlack, deadline); !s.ok()) {
            Bump(slot.dropped, 1);
            return s;
          }
        } else if (const int burnt = BurnFence(&t, f); burnt == 0) {
          continue;
        } else if (burnt < 0) {
          Bump(slot.dropped, 1);
          return absl::ResourceExhaustedError(absl::StrCat(
              "ring ", r.path, ": the claim at ", t, " would reuse bytes of producer slot ", f.slot,
              "'s claim in flight, which cannot be skipped (fence of ", f.end - t, " bytes); record dropped"));
        }
        t = ctl.tail.load(std::memory_order_relaxed);
        continue;
      }
      if (end + kSlack - limit > r.capacity) {
        if (deadline == 0) deadline = MonotonicNs() + uint64_t(timeout.count());
        if (absl::Status s = MakeRoom(end + kSlack, deadline); !s.ok()) {
          NoteDepth(t);  // the ring this claim found full
          Bump(slot.dropped, 1);
          return s;
        }
        t = ctl.tail.load(std::memory_order_relaxed);
        limit = Limit(t);
        continue;
      }
    }
    // Intent first (spec/RECOVERY.md §2): if we die after the CAS, a reclaimer
    // finds which bytes were ours. The release CAS below publishes it.
    slot.claim_pos.store(t, std::memory_order_relaxed);
    slot.claim_len.store(need, std::memory_order_relaxed);
    SHMRING_FAULT("claim.after_intent");
    // Release pairs with the acquire tail load in ReclaimSlotIntent: whoever sees the
    // tail past t also sees our intent.
    if (ctl.tail.compare_exchange_weak(t, end, std::memory_order_release, std::memory_order_relaxed)) {
      SHMRING_FAULT("claim.after_cas");
      slot.claim_len.store(need | kIntentConfirmed, std::memory_order_relaxed);
      SHMRING_FAULT("claim.after_confirm");
      if (pad >= kRecordHeaderSize) {
        WritePadding(t, pad);
        SHMRING_FAULT("claim.after_padding");
      }
      if (sample) NoteDepth(end);
      return t + pad;
    }
    // Lost the race for t: retract the intent at once, so that it never names a
    // position another producer won while we wait for room (spec/RECOVERY.md §2).
    slot.claim_len.store(0, std::memory_order_relaxed);
  }
}

// Samples the depth up to `end` (a claim's end, or the tail a refused claim found) into
// high_water. The gating head is loaded now, so a sample never exceeds the true depth
// (spec/PROTOCOL.md §3 step 8). Called every kHeartbeatEvery claims, whenever the cached
// limit ran out (at least once a lap), and by a claim refused for want of room.
void Producer::Impl::NoteDepth(uint64_t end) {
  Control& ctl = r.control();
  const uint64_t depth = end - GatingHead(end);
  uint64_t hw = ctl.high_water.load(std::memory_order_relaxed);
  while (depth > hw && !ctl.high_water.compare_exchange_weak(hw, depth, std::memory_order_relaxed)) {
  }
}

void Producer::Impl::WritePadding(uint64_t pos, uint64_t pad) {
  if (pad < kRecordHeaderSize) return;  // implicit padding: nothing written
  RecordHeader& ph = r.header_at(pos);
  SharedStore(ph.len, uint32_t(pad - kRecordHeaderSize));
  SharedStore(ph.producer, producer_id);
  // Release pairs with Inspect's acquire load of the word.
  ph.word.store(pos | kPadding, std::memory_order_release);
}

void Producer::Impl::WriteBusy(uint64_t pos, uint32_t len, uint16_t type, uint16_t flags, uint32_t messages) {
  RecordHeader& h = r.header_at(pos);
  SharedStore(h.len, len);
  SharedStore(h.type, type);
  SharedStore(h.flags, flags);
  SharedStore(h.producer, producer_id);
  SharedStore(h.messages, messages);
  // Release pairs with Inspect's acquire: a reclaimer or an overwriting producer
  // that sees the busy word can trust the length.
  h.word.store(pos | kBusy, std::memory_order_release);
}

absl::Status Producer::Impl::CommitOne(uint64_t pos, uint32_t len) {
  RecordHeader& h = r.header_at(pos);
  SHMRING_FAULT("commit.before_checksum");
  if (r.checksums) SharedStore(h.checksum, RecordChecksum(&h.len, len, pos));
  SHMRING_FAULT("commit.before_cas");
  const CountedBy counters[] = {{slot.committed, slot.pend_committed, 1}, {slot.committed_bytes, slot.pend_bytes, len}};
  const bool ok = CountedCas(slot.pend_word, h.word, pos | kBusy, pos | kCommitted, counters);
  SHMRING_FAULT("commit.after_cas");
  if (!ok) {
    return absl::AbortedError(absl::StrCat(
        "commit at position ", pos, ": the claim was reclaimed: this producer held it longer than the ring's ",
        "unblock timeout (unblock_after_ms ", r.unblock_after_ns / 1000000, ", with no heartbeat meanwhile: stopped ",
        "or paused?); the record is not delivered"));
  }
  return absl::OkStatus();
}

void Producer::Impl::AbortOne(uint64_t pos) {
  RecordHeader& h = r.header_at(pos);
  // seq_cst inside, as for CommitOne: a parked reader must see the skip.
  const CountedBy counters[] = {{slot.aborted, slot.pend_aborted, 1}};
  (void)CountedCas(slot.pend_word, h.word, pos | kBusy, pos | kSkip, counters);
}

void Producer::Impl::ClearIntent() {
  // Release pairs with the acquire claim_len loads of reclaimers: whoever sees the
  // intent cleared also sees our header words published (spec/RECOVERY.md §2).
  slot.claim_len.store(0, std::memory_order_release);
  outstanding = false;
}

void Producer::Impl::MaybeWake() {
  Control& ctl = r.control();
  // seq_cst load pairs with the reader's seq_cst data_waiters increment in Wait.
  if (ctl.data_waiters.load(std::memory_order_seq_cst) != 0) {
    ctl.data_seq.fetch_add(1, std::memory_order_seq_cst);
    FutexWakeAll(ctl.data_seq);
    Bump(slot.wakeups, 1);
  }
  // seq_cst load pairs with the reader's seq_cst bell_waiters increment when it arms.
  if (ctl.bell_waiters.load(std::memory_order_seq_cst) != 0) RingBells();
}

// Some reader armed its doorbell (spec/PROTOCOL.md §7.2): ring each armed group once.
void Producer::Impl::RingBells() {
  for (uint32_t g = 0; g < r.max_groups; ++g) {
    GroupSlot& gs = r.group(g);
    uint32_t armed = 1;
    // seq_cst: the 1 -> 2 transition is what makes exactly one producer ring.
    if (gs.reader_waiting.load(std::memory_order_seq_cst) != 1 ||
        !gs.reader_waiting.compare_exchange_strong(armed, 2, std::memory_order_seq_cst)) {
      continue;
    }
    const uint32_t gen = gs.doorbell_gen.load(std::memory_order_acquire);  // pairs with DoorbellFd's release
    if (gen != 0 && bells.Ring(r, g, gen)) {
      Bump(slot.wakeups, 1);
    } else {
      Bump(slot.bell_failures, 1);  // the reader still polls; the futex path is unaffected
    }
  }
}

// ---- public API ----

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Producer::~Producer() {
  if (impl_) {
    impl_->slot.pid.store(0, std::memory_order_relaxed);
    // Release pairs with the acquire state load of the next owner / stats.
    impl_->slot.state.store(kSlotFree, std::memory_order_release);
  }
}
uint32_t Producer::slot() const { return impl_->index; }

absl::StatusOr<Reservation> Producer::Reserve(size_t len, uint16_t type) {
  return Reserve(len, type, impl_->options.block_timeout);
}

absl::StatusOr<Reservation> Producer::Reserve(size_t len, uint16_t type, std::chrono::nanoseconds timeout) {
  Impl& p = *impl_;
  if (p.outstanding) {
    return absl::FailedPreconditionError("reserve: this producer already holds an uncommitted reservation "
                                         "(commit or abort it first; use ReserveBatch for several records)");
  }
  if (len > p.r.max_record) {
    Bump(p.slot.dropped, 1);
    return absl::InvalidArgumentError(absl::StrCat("record of ", len, " bytes: larger than the ring's max_record ",
                                                   p.r.max_record));
  }
  auto pos = p.Claim(RecordSize(len), timeout);
  if (!pos.ok()) return pos.status();
  SHMRING_FAULT("reserve.before_busy");
  p.WriteBusy(*pos, uint32_t(len), type);
  SHMRING_FAULT("reserve.after_busy");
  p.outstanding = true;
  Reservation res;
  res.owner_ = this;
  res.data_ = reinterpret_cast<std::byte*>(&p.r.header_at(*pos)) + kRecordHeaderSize;
  res.len_ = len;
  res.pos_ = *pos;
  res.type_ = type;
  return res;
}

absl::Status Producer::Commit(Reservation& res) {
  if (res.owner_ != this) return absl::FailedPreconditionError("commit: reservation is not active on this producer");
  res.owner_ = nullptr;
  absl::Status s = impl_->CommitOne(res.pos_, uint32_t(res.len_));
  impl_->ClearIntent();
  impl_->MaybeWake();
  return s;
}

void Producer::Abort(Reservation& res) {
  if (res.owner_ != this) return;
  res.owner_ = nullptr;
  impl_->AbortOne(res.pos_);
  impl_->ClearIntent();
  impl_->MaybeWake();
}

absl::Status Producer::Write(std::span<const std::byte> payload, uint16_t type) {
  auto res = Reserve(payload.size(), type);
  if (!res.ok()) return res.status();
  if (!payload.empty()) memcpy(res->data().data(), payload.data(), payload.size());
  return Commit(*res);
}

absl::Status Producer::Write(std::string_view payload, uint16_t type) {
  return Write(std::as_bytes(std::span(payload.data(), payload.size())), type);
}

absl::StatusOr<BatchReservation> Producer::ReserveBatch(std::span<const uint32_t> lens, uint16_t type) {
  Impl& p = *impl_;
  if (p.outstanding) {
    return absl::FailedPreconditionError("reserve: this producer already holds an uncommitted reservation");
  }
  uint64_t total = 0;
  for (uint32_t len : lens) {
    if (len > p.r.max_record) {
      Bump(p.slot.dropped, lens.size());
      return absl::InvalidArgumentError(absl::StrCat("batch record of ", len,
                                                     " bytes: larger than the ring's max_record ", p.r.max_record));
    }
    total += RecordSize(len);
  }
  if (lens.empty()) return absl::InvalidArgumentError("empty batch");
  if (total > MaxClaim(p.r.capacity)) {
    Bump(p.slot.dropped, lens.size());
    return absl::InvalidArgumentError(absl::StrCat("batch of ", total, " bytes: more than a batch may claim in this ring (",
                                                   MaxClaim(p.r.capacity), ", about half of it)"));
  }
  auto pos = p.Claim(total, p.options.block_timeout);
  if (!pos.ok()) {
    Bump(p.slot.dropped, lens.size() - 1);  // Claim counted one
    return pos.status();
  }
  uint64_t at = *pos;
  for (uint32_t len : lens) {
    p.WriteBusy(at, len, type);
    SHMRING_FAULT("batch.after_busy");
    at += RecordSize(len);
  }
  p.outstanding = true;
  BatchReservation b;
  b.owner_ = this;
  b.base_ = reinterpret_cast<std::byte*>(&p.r.header_at(*pos));
  b.pos_ = *pos;
  b.parts_ = std::move(p.spare_parts);
  b.parts_.clear();
  uint64_t off = kRecordHeaderSize;
  for (uint32_t len : lens) {
    b.parts_.push_back({off, len});
    off += RecordSize(len);
  }
  return b;
}

absl::Status Producer::Commit(BatchReservation& b) {
  if (b.owner_ != this) return absl::FailedPreconditionError("commit: batch is not active on this producer");
  b.owner_ = nullptr;
  absl::Status first;
  if (b.messages_) {  // one record: its payload ends after the last message's padding
    const BatchReservation::Part& last = b.parts_.back();
    first = impl_->CommitOne(b.pos_, uint32_t(last.offset - kMessageHeaderSize + MessageSize(last.len) -
                                              kRecordHeaderSize));
  } else {
    for (const BatchReservation::Part& part : b.parts_) {
      const uint64_t at = b.pos_ + part.offset - kRecordHeaderSize;
      if (first.ok()) {
        first = impl_->CommitOne(at, part.len);
      } else {
        impl_->AbortOne(at);  // after a failed commit, the rest of the batch is aborted, never left busy
      }
    }
  }
  impl_->ClearIntent();
  impl_->MaybeWake();
  impl_->spare_parts = std::move(b.parts_);
  return first;
}

void Producer::Abort(BatchReservation& b) {
  if (b.owner_ != this) return;
  b.owner_ = nullptr;
  if (b.messages_) {
    impl_->AbortOne(b.pos_);  // one record
  } else {
    for (const BatchReservation::Part& part : b.parts_) impl_->AbortOne(b.pos_ + part.offset - kRecordHeaderSize);
  }
  impl_->ClearIntent();
  impl_->MaybeWake();
  impl_->spare_parts = std::move(b.parts_);
}

absl::StatusOr<uint64_t> Producer::Impl::ClaimMessages(uint64_t payload, size_t count, uint16_t type) {
  if (outstanding) {
    return absl::FailedPreconditionError("reserve: this producer already holds an uncommitted reservation");
  }
  if (!r.batches) {
    Bump(slot.dropped, 1);
    return absl::FailedPreconditionError(absl::StrCat(
        "ring ", r.path, " does not allow message batches (create it with message_batches / shmctl create --batches)"));
  }
  if (count == 0) return absl::InvalidArgumentError("empty message batch");
  if (payload > r.max_record) {
    Bump(slot.dropped, 1);
    return absl::InvalidArgumentError(absl::StrCat("batch of ", count, " messages: ", payload,
                                                   " bytes with entry headers, larger than the ring's max_record ",
                                                   r.max_record));
  }
  auto pos = Claim(RecordSize(payload), options.block_timeout);
  if (!pos.ok()) return pos.status();
  WriteBusy(*pos, uint32_t(payload), type, kFlagBatch, uint32_t(count));
  return pos;
}

absl::Status Producer::WriteMessages(std::span<const Message> messages) {
  Impl& p = *impl_;
  uint64_t payload = 0;
  for (const Message& m : messages) payload += MessageSize(m.payload.size());
  auto pos = p.ClaimMessages(payload, messages.size(), 0);  // each message has its own type
  if (!pos.ok()) return pos.status();
  p.outstanding = true;
  std::byte* at = reinterpret_cast<std::byte*>(&p.r.header_at(*pos)) + kRecordHeaderSize;
  for (const Message& m : messages) {
    WriteMessageHeader(at, uint32_t(m.payload.size()), m.type);
    if (!m.payload.empty()) memcpy(at + kMessageHeaderSize, m.payload.data(), m.payload.size());
    at += MessageSize(m.payload.size());
  }
  absl::Status s = p.CommitOne(*pos, uint32_t(payload));
  p.ClearIntent();
  p.MaybeWake();
  return s;
}

absl::StatusOr<BatchReservation> Producer::ReserveMessages(std::span<const uint32_t> lens, uint16_t type) {
  Impl& p = *impl_;
  uint64_t payload = 0;
  for (uint32_t len : lens) payload += MessageSize(len);
  auto pos = p.ClaimMessages(payload, lens.size(), type);
  if (!pos.ok()) return pos.status();
  p.outstanding = true;
  BatchReservation b;
  b.owner_ = this;
  b.pos_ = *pos;
  b.messages_ = true;
  b.base_ = reinterpret_cast<std::byte*>(&p.r.header_at(*pos));
  b.parts_ = std::move(p.spare_parts);
  b.parts_.resize(lens.size());
  uint64_t off = kRecordHeaderSize;
  for (size_t i = 0; i < lens.size(); ++i) {
    WriteMessageHeader(b.base_ + off, lens[i], type);
    b.parts_[i] = {off + kMessageHeaderSize, lens[i]};
    off += MessageSize(lens[i]);
  }
  return b;
}

// ---- reservations ----

Reservation::Reservation(Reservation&& o) noexcept
    : owner_(o.owner_), data_(o.data_), len_(o.len_), pos_(o.pos_), type_(o.type_) {
  o.owner_ = nullptr;
}
Reservation& Reservation::operator=(Reservation&& o) noexcept {
  if (this != &o) {
    if (owner_) owner_->Abort(*this);
    owner_ = o.owner_;
    data_ = o.data_;
    len_ = o.len_;
    pos_ = o.pos_;
    type_ = o.type_;
    o.owner_ = nullptr;
  }
  return *this;
}
Reservation::~Reservation() {
  if (owner_) owner_->Abort(*this);
}

BatchReservation::BatchReservation(BatchReservation&& o) noexcept
    : owner_(o.owner_), base_(o.base_), pos_(o.pos_), messages_(o.messages_), parts_(std::move(o.parts_)) {
  o.owner_ = nullptr;
}
BatchReservation& BatchReservation::operator=(BatchReservation&& o) noexcept {
  if (this != &o) {
    if (owner_) owner_->Abort(*this);
    owner_ = o.owner_;
    base_ = o.base_;
    pos_ = o.pos_;
    messages_ = o.messages_;
    parts_ = std::move(o.parts_);
    o.owner_ = nullptr;
  }
  return *this;
}
BatchReservation::~BatchReservation() {
  if (owner_) owner_->Abort(*this);
}

}  // namespace shmring
