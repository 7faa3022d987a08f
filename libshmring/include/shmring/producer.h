// Producers: claim space, write, commit (or abort). Lock-free: any number of
// threads and processes at once; no syscall while no reader is parked.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "shmring/ring.h"

namespace shmring {

class Producer;

// A claimed record: write the payload into data(), then Producer::Commit or Abort.
// Move-only; destroying an uncommitted reservation aborts it.
class SHMRING_EXPORT Reservation {
 public:
  Reservation() = default;
  Reservation(Reservation&& o) noexcept;
  Reservation& operator=(Reservation&& o) noexcept;
  ~Reservation();

  [[nodiscard]] std::span<std::byte> data() const { return {data_, len_}; }
  [[nodiscard]] uint64_t position() const { return pos_; }
  [[nodiscard]] bool active() const { return owner_ != nullptr; }

 private:
  friend class Producer;
  Producer* owner_ = nullptr;
  std::byte* data_ = nullptr;
  size_t len_ = 0;
  uint64_t pos_ = 0;
  uint16_t type_ = 0;
};

// Several records claimed in one step (one tail CAS), committed together, in order
// (ReserveBatch); or one batch record of several messages (ReserveMessages).
class SHMRING_EXPORT BatchReservation {
 public:
  BatchReservation() = default;
  BatchReservation(BatchReservation&& o) noexcept;
  BatchReservation& operator=(BatchReservation&& o) noexcept;
  ~BatchReservation();

  [[nodiscard]] size_t size() const { return parts_.size(); }
  [[nodiscard]] std::span<std::byte> data(size_t i) const {
    if (owner_ == nullptr || i >= parts_.size()) return {};
    return {base_ + parts_[i].offset, parts_[i].len};
  }
  [[nodiscard]] bool active() const { return owner_ != nullptr; }

 private:
  friend class Producer;
  Producer* owner_ = nullptr;
  std::byte* base_ = nullptr;  // the first record's header in this process's mapping
  uint64_t pos_ = 0;  // position of the first record
  bool messages_ = false;  // one batch record (ReserveMessages): the parts are its messages

 public:
  // Where part i's bytes are: `offset` bytes past the header of the first record
  // (records of a batch are contiguous, never split by the wrap). Our own copy: the
  // ring's headers are not trusted.
  struct Part {
    uint64_t offset;
    uint32_t len;
  };

 private:
  std::vector<Part> parts_;
};

// One message of a batch record (Producer::WriteMessages).
struct Message {
  std::span<const std::byte> payload;
  uint16_t type = 0;
};

struct ProducerOptions {
  // Default wait for Reserve/Write under the block policy.
  std::chrono::nanoseconds block_timeout = std::chrono::seconds(5);
};

class SHMRING_EXPORT Producer {
 public:
  // Takes a free (or dead owner's) producer slot; ResourceExhausted if none.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Producer>> Attach(std::shared_ptr<Ring> ring,
                                                                        ProducerOptions options = {});
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Claims room for a record of `len` payload bytes. Errors: InvalidArgument (len >
  // max_record), ResourceExhausted (reject, or overwrite blocked by an unfinished
  // oldest record), DeadlineExceeded (block policy past `timeout`). Failures count as dropped.
  [[nodiscard]] absl::StatusOr<Reservation> Reserve(size_t len, uint16_t type = 0);
  [[nodiscard]] absl::StatusOr<Reservation> Reserve(size_t len, uint16_t type,
                                                    std::chrono::nanoseconds timeout);
  // Publishes the record. kAborted if its claim was settled by someone else meanwhile:
  // a dead producer's is reclaimed, and a live one stopped (SIGSTOP, debugger) with its
  // heartbeat older than unblock_after_ms is unblocked (spec/RECOVERY.md §3.7).
  [[nodiscard]] absl::Status Commit(Reservation& r);
  // Turns the claim into a skip record that readers step over.
  void Abort(Reservation& r);

  // Copy-in convenience: Reserve + memcpy + Commit.
  [[nodiscard]] absl::Status Write(std::span<const std::byte> payload, uint16_t type = 0);
  [[nodiscard]] absl::Status Write(std::string_view payload, uint16_t type = 0);

  // Claims several records at once (they are contiguous and never split by wrap).
  [[nodiscard]] absl::StatusOr<BatchReservation> ReserveBatch(std::span<const uint32_t> lens,
                                                              uint16_t type = 0);
  [[nodiscard]] absl::Status Commit(BatchReservation& b);
  void Abort(BatchReservation& b);

  // Packs several messages into one record (spec/LAYOUT.md §6.4): one claim, one
  // checksum, one commit for all of them; a reader gets one RecordView per message
  // (all with the record's position and kRecordFlagBatch). Each message costs 8 bytes of
  // entry header plus padding to 8; together they must fit max_record (else
  // InvalidArgument). The ring must allow it (CreateOptions::message_batches, else
  // FailedPrecondition). All or nothing; counters count records, so a batch that is
  // written, dropped or delivered counts as one.
  [[nodiscard]] absl::Status WriteMessages(std::span<const Message> messages);
  // Zero-copy form: claims one batch record for messages of these lengths (all of
  // `type`); write message i into data(i), then Commit or Abort.
  [[nodiscard]] absl::StatusOr<BatchReservation> ReserveMessages(std::span<const uint32_t> lens,
                                                                 uint16_t type = 0);

  [[nodiscard]] uint32_t slot() const;

  struct SHMRING_LOCAL Impl;
  explicit Producer(std::unique_ptr<Impl> impl);

 private:
  friend class Reservation;
  friend class BatchReservation;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shmring
