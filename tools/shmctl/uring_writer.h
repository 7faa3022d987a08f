// shmctl drain's output path: ordered, vectored writes of whole batches, confirmed before the
// caller commits its cursor. Two implementations behind one interface:
//   io_uring (liburing): a batch is cut into chunks of up to 128 iovecs / 256 KiB, each one
//     IORING_OP_WRITEV; up to `queue_depth` are submitted at once, linked (IOSQE_IO_LINK) so
//     they land in order: a kill leaves a prefix of the batch on disk, never a hole. A regular
//     file we own is written at explicit offsets, a stream (pipe, tty, inherited stdout) at its
//     file position. Short writes are resubmitted from where they stopped (a short write
//     cancels the rest of the link chain, which is then resubmitted in order). The output file
//     is registered (IORING_REGISTER_FILES, IOSQE_FIXED_FILE) and re-registered when it is
//     rotated. Waiting for records is an IORING_OP_POLL_ADD on the reader's doorbell fd and on
//     a signalfd.
//   writev(2) fallback: the same chunks with pwritev/writev one after another, poll(2) to wait;
//     used when io_uring cannot be set up (e.g. seccomp) or SHMCTL_DRAIN_IO=writev is set.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace shmctl {

class DrainWriter {
 public:
  virtual ~DrainWriter() = default;

  // "io_uring" or "writev".
  virtual std::string_view name() const = 0;

  // Switches to a new output fd (the caller owns and closes it; nothing is in flight here).
  // seekable: a regular file only this process writes, written at explicit offsets starting at
  // `offset`; otherwise a stream written at its file position.
  virtual absl::Status SetOutput(int fd, bool seekable, uint64_t offset) = 0;

  // Writes every byte of `iov`, in order, and returns once all of them are confirmed written
  // (the completions say so). On error, some prefix may have been written.
  virtual absl::Status WriteAll(std::span<const iovec> iov) = 0;

  // fdatasync of the output; a no-op when the output is not a regular file.
  virtual absl::Status Sync() = 0;

  // Returns when `bell_fd` (if >= 0) or `stop_fd` becomes readable, or after timeout_ms.
  // The readiness is not consumed: the caller polls the reader / reads the signalfd.
  virtual absl::Status Wait(int bell_fd, int stop_fd, int timeout_ms) = 0;

  // Bytes at the end of what was written to the current output (its size for a file we own).
  uint64_t offset() const { return offset_; }
  bool is_regular() const { return regular_; }

 protected:
  uint64_t offset_ = 0;
  bool regular_ = false;
};

struct DrainWriterOptions {
  unsigned queue_depth = 8;  // writes in flight at most (io_uring)
  bool allow_uring = true;   // false: the writev fallback
};

// An io_uring writer if one can be set up; otherwise the writev fallback, with `*notice` saying
// why (empty when io_uring is used or the fallback was asked for).
std::unique_ptr<DrainWriter> MakeDrainWriter(const DrainWriterOptions& options, std::string* notice);

}  // namespace shmctl
