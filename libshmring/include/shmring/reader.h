// Readers: one per consumer group at a time, zero-copy batches, cursor commits.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "shmring/ring.h"

namespace shmring {

// One delivered record. The payload points into the ring (block and reject
// policies: valid until the next Poll/Commit) or into the reader's own copy
// buffer (overwrite policy, where producers may reuse the space at any time).
struct RecordView {
  uint64_t position = 0;  // of the record (the messages of one batch share it)
  uint16_t type = 0;
  uint16_t flags = 0;     // kRecordFlagBatch: one message of a batch record
  uint32_t producer = 0;  // slot | (slot generation & 0xffff) << 16
  std::span<const std::byte> payload;
};

// RecordView::flags bit: the view is one message of a batch record (Producer::WriteMessages).
inline constexpr uint16_t kRecordFlagBatch = 1;

struct ReaderOptions {
  // true: each Poll first commits the batch the previous Poll returned.
  bool auto_commit = true;
  // Spins before parking in Wait.
  int spin = 200;
};

// What the reader found when it took over its group (spec/RECOVERY.md §4.3).
struct AttachReport {
  uint64_t resumed_at = 0;         // cursor position the reader starts from
  uint32_t previous_pid = 0;       // pid of the reader that held the group before (0: none)
  uint64_t lost_while_away = 0;    // records overwritten while no reader was attached
};

class SHMRING_EXPORT Reader {
 public:
  // Becomes the group's reader. FailedPrecondition if a live reader holds it.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Reader>> Attach(std::shared_ptr<Ring> ring,
                                                                      std::string_view group,
                                                                      ReaderOptions options = {});
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Up to `max` ready records (possibly none); never blocks. A batch record yields
  // one view per message; a batch larger than the room left is split across polls,
  // but the cursor only passes it whole (a reader restarted mid-batch gets the whole
  // batch again: spec/PROTOCOL.md §5.6). Under the overwrite
  // policy the batch is copied, validated and committed before it is returned.
  // A busy-polling consumer that keeps up with its producers does best to pause
  // briefly (~0.5 µs of `pause`) after a poll that returned fewer than `max`
  // records: polling the very record a producer is writing pulls its cache lines
  // away mid-write and slows the producer (bench/README.md, "idle strategy").
  [[nodiscard]] absl::StatusOr<std::span<const RecordView>> Poll(size_t max = 64);
  // Like Poll, but spins, then parks on the ring's futex until records arrive or
  // `timeout` passes (then returns an empty batch).
  [[nodiscard]] absl::StatusOr<std::span<const RecordView>> Wait(size_t max,
                                                                 std::chrono::nanoseconds timeout);
  // Commits the group cursor past everything returned so far. kAborted if a newer
  // reader took the group over: this reader is fenced.
  [[nodiscard]] absl::Status Commit();

  // A file descriptor for epoll/poll/io_uring that becomes readable when records
  // may be available for this group (spec/PROTOCOL.md §7.2). Use it as:
  //   for (;;) { batch = Poll(); if (batch->empty()) epoll_wait(... fd ...); }
  // A Poll that returns nothing arms the doorbell; the first commit after that
  // makes the fd readable (one wake per arming: edge semantics), and it stays
  // readable until the next Poll. Producers reach it through a Unix socket next to
  // the ring (RING.GROUP.bell), so it works across PID namespaces sharing the
  // volume. The fd belongs to the reader: do not close it.
  [[nodiscard]] absl::StatusOr<int> DoorbellFd();

  [[nodiscard]] uint64_t committed_position() const;
  [[nodiscard]] const AttachReport& attach_report() const;
  [[nodiscard]] uint32_t group() const;

  struct SHMRING_LOCAL Impl;
  explicit Reader(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace shmring
