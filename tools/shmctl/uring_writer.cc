// shmctl drain's writers: io_uring (liburing) and the plain writev(2) fallback (uring_writer.h).
#include "uring_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace shmctl {

namespace {

constexpr size_t kMaxIovPerWrite = 128;          // well below IOV_MAX (1024)
constexpr size_t kMaxBytesPerWrite = 256 << 10;  // one chunk: one SQE / one writev

// A run of the batch's iovecs written by one SQE (or one writev call); advanced in place on a
// short write.
struct Chunk {
  std::vector<iovec> iov;
  size_t first = 0;  // first iovec not fully written
  uint64_t off = 0;  // file offset of the next unwritten byte (seekable outputs)
  size_t left = 0;   // bytes not yet written

  void Advance(size_t n) {
    left -= n;
    off += n;
    while (n > 0 && first < iov.size()) {
      iovec& v = iov[first];
      if (n >= v.iov_len) {
        n -= v.iov_len;
        ++first;
      } else {
        v.iov_base = static_cast<char*>(v.iov_base) + n;
        v.iov_len -= n;
        n = 0;
      }
    }
    while (first < iov.size() && iov[first].iov_len == 0) ++first;
  }
  bool done() const { return left == 0; }
  const iovec* data() const { return iov.data() + first; }
  int count() const { return int(iov.size() - first); }
};

std::vector<Chunk> Plan(std::span<const iovec> iov, uint64_t offset) {
  std::vector<Chunk> chunks;
  Chunk cur;
  cur.off = offset;
  for (const iovec& v : iov) {
    if (v.iov_len == 0) continue;
    if (!cur.iov.empty() && (cur.iov.size() >= kMaxIovPerWrite || cur.left + v.iov_len > kMaxBytesPerWrite)) {
      const uint64_t next = cur.off + cur.left;
      chunks.push_back(std::move(cur));
      cur = Chunk();
      cur.off = next;
    }
    cur.iov.push_back(v);
    cur.left += v.iov_len;
  }
  if (!cur.iov.empty()) chunks.push_back(std::move(cur));
  return chunks;
}

absl::Status WriteError(int err, uint64_t left) {
  std::string why;
  if (err == ENOSPC) why = "no space left on device (ENOSPC)";
  else if (err == EPIPE) why = "the output was closed by its reader (EPIPE)";
  else if (err == EDQUOT) why = "disk quota exceeded (EDQUOT)";
  else why = strerror(err);
  return absl::UnavailableError(absl::StrCat("writing the output failed: ", why, "; ", left,
                                             " bytes of the batch unwritten"));
}

// EAGAIN on an O_NONBLOCK output (e.g. an inherited non-blocking pipe): wait until writable.
void WaitWritable(int fd) {
  pollfd p = {fd, POLLOUT, 0};
  (void)poll(&p, 1, 1000);
}

// ---------------------------------------------------------------------------------------------

class PlainWriter final : public DrainWriter {
 public:
  std::string_view name() const override { return "writev"; }

  absl::Status SetOutput(int fd, bool seekable, uint64_t offset) override {
    struct stat st;
    regular_ = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    fd_ = fd;
    seekable_ = seekable;
    offset_ = offset;
    return absl::OkStatus();
  }

  absl::Status WriteAll(std::span<const iovec> iov) override {
    std::vector<Chunk> chunks = Plan(iov, offset_);
    for (Chunk& c : chunks) {
      while (!c.done()) {
        const ssize_t n = seekable_ ? pwritev(fd_, c.data(), c.count(), off_t(c.off)) : writev(fd_, c.data(), c.count());
        if (n > 0) {
          c.Advance(size_t(n));
          offset_ += uint64_t(n);
        } else if (n < 0 && errno == EINTR) {
          continue;
        } else if (n < 0 && errno == EAGAIN) {
          WaitWritable(fd_);
        } else {
          return WriteError(n < 0 ? errno : EIO, c.left);
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (!regular_) return absl::OkStatus();
    if (fdatasync(fd_) != 0) return absl::UnavailableError(absl::StrCat("fdatasync of the output: ", strerror(errno)));
    return absl::OkStatus();
  }

  absl::Status Wait(int bell_fd, int stop_fd, int timeout_ms) override {
    pollfd p[2] = {{stop_fd, POLLIN, 0}, {bell_fd, POLLIN, 0}};
    const int n = poll(p, bell_fd >= 0 ? 2 : 1, timeout_ms);
    if (n < 0 && errno != EINTR) return absl::InternalError(absl::StrCat("poll: ", strerror(errno)));
    return absl::OkStatus();
  }

 private:
  int fd_ = -1;
  bool seekable_ = false;
};

// ---------------------------------------------------------------------------------------------

class UringWriter final : public DrainWriter {
 public:
  explicit UringWriter(unsigned depth) : depth_(std::max(1u, depth)) {}
  ~UringWriter() override {
    if (ready_) io_uring_queue_exit(&ring_);
  }

  absl::Status Init() {
    // Room for a full wave of writes plus the two polls (submitted before each wait).
    const int rc = io_uring_queue_init(depth_ * 2 + 4, &ring_, 0);
    if (rc < 0) return absl::UnavailableError(absl::StrCat("io_uring_queue_init: ", strerror(-rc)));
    ready_ = true;
    return absl::OkStatus();
  }

  std::string_view name() const override { return "io_uring"; }

  absl::Status SetOutput(int fd, bool seekable, uint64_t offset) override {
    struct stat st;
    regular_ = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    fd_ = fd;
    seekable_ = seekable;
    offset_ = offset;
    // Registered file: saves the fget/fput per request. Best effort: without it, plain fds.
    if (registered_) {
      fixed_ = io_uring_register_files_update(&ring_, 0, &fd, 1) == 1;
    } else {
      registered_ = fixed_ = io_uring_register_files(&ring_, &fd, 1) == 0;
    }
    return absl::OkStatus();
  }

  absl::Status WriteAll(std::span<const iovec> iov) override {
    std::vector<Chunk> chunks = Plan(iov, offset_);
    std::vector<size_t> todo(chunks.size());
    for (size_t i = 0; i < todo.size(); ++i) todo[i] = i;
    while (!todo.empty()) {
      // One wave: up to depth_ chunks submitted at once, linked in order.
      const size_t n = std::min<size_t>(depth_, todo.size());
      std::vector<int> res(n, 0);
      for (size_t k = 0; k < n; ++k) {
        Chunk& c = chunks[todo[k]];
        io_uring_sqe* sqe = GetSqe();
        io_uring_prep_writev(sqe, fixed_ ? 0 : fd_, c.data(), unsigned(c.count()), seekable_ ? c.off : uint64_t(-1));
        unsigned flags = fixed_ ? IOSQE_FIXED_FILE : 0;
        // Linked, so they land in order even for a file: a drain killed mid-wave leaves a prefix
        // of the batch (at worst one torn record at its end), never a hole before later bytes.
        // Buffered writes to one file serialize on its inode lock anyway.
        if (k + 1 < n) flags |= IOSQE_IO_LINK;
        io_uring_sqe_set_flags(sqe, flags);
        io_uring_sqe_set_data64(sqe, kTagWrite | k);
      }
      if (absl::Status s = Submit(); !s.ok()) return s;
      size_t got = 0;
      while (got < n) {
        io_uring_cqe* cqe = nullptr;
        const int rc = io_uring_wait_cqe(&ring_, &cqe);
        if (rc == -EINTR) continue;
        if (rc < 0) return absl::InternalError(absl::StrCat("io_uring_wait_cqe: ", strerror(-rc)));
        const uint64_t ud = io_uring_cqe_get_data64(cqe);
        const int r = cqe->res;
        io_uring_cqe_seen(&ring_, cqe);
        if ((ud & kTagMask) == kTagWrite) {
          res[ud & ~kTagMask] = r;
          ++got;
        } else {
          OnPollDone(ud);
        }
      }
      std::vector<size_t> again;
      for (size_t k = 0; k < n; ++k) {
        Chunk& c = chunks[todo[k]];
        const int r = res[k];
        if (r > 0) {
          c.Advance(size_t(r));
          offset_ += uint64_t(r);
        } else if (r == -EAGAIN) {
          WaitWritable(fd_);
        } else if (r == 0 || (r < 0 && r != -EINTR && r != -ECANCELED)) {
          return WriteError(r == 0 ? EIO : -r, c.left);
        }
        if (!c.done()) again.push_back(todo[k]);
      }
      again.insert(again.end(), todo.begin() + ptrdiff_t(n), todo.end());
      todo = std::move(again);
    }
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (!regular_) return absl::OkStatus();
    for (;;) {
      io_uring_sqe* sqe = GetSqe();
      io_uring_prep_fsync(sqe, fixed_ ? 0 : fd_, IORING_FSYNC_DATASYNC);
      io_uring_sqe_set_flags(sqe, fixed_ ? IOSQE_FIXED_FILE : 0);
      io_uring_sqe_set_data64(sqe, kTagSync);
      if (absl::Status s = Submit(); !s.ok()) return s;
      for (;;) {
        io_uring_cqe* cqe = nullptr;
        const int rc = io_uring_wait_cqe(&ring_, &cqe);
        if (rc == -EINTR) continue;
        if (rc < 0) return absl::InternalError(absl::StrCat("io_uring_wait_cqe: ", strerror(-rc)));
        const uint64_t ud = io_uring_cqe_get_data64(cqe);
        const int r = cqe->res;
        io_uring_cqe_seen(&ring_, cqe);
        if (ud != kTagSync) {
          OnPollDone(ud);
          continue;
        }
        if (r == -EINTR || r == -EAGAIN) break;  // submit again
        if (r < 0) return absl::UnavailableError(absl::StrCat("fdatasync of the output: ", strerror(-r)));
        return absl::OkStatus();
      }
    }
  }

  absl::Status Wait(int bell_fd, int stop_fd, int timeout_ms) override {
    // One-shot polls stay armed across waits until they fire (no cancel/re-add churn).
    if (!stop_armed_) {
      io_uring_sqe* sqe = GetSqe();
      io_uring_prep_poll_add(sqe, stop_fd, POLLIN);
      io_uring_sqe_set_data64(sqe, kTagStop);
      stop_armed_ = true;
    }
    if (bell_fd >= 0 && !bell_armed_) {
      io_uring_sqe* sqe = GetSqe();
      io_uring_prep_poll_add(sqe, bell_fd, POLLIN);
      io_uring_sqe_set_data64(sqe, kTagBell);
      bell_armed_ = true;
    }
    fired_ = false;
    __kernel_timespec ts;
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = (timeout_ms % 1000) * 1000000LL;
    io_uring_cqe* cqe = nullptr;
    const int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      return absl::InternalError(absl::StrCat("io_uring wait: ", strerror(-rc)));
    }
    // Take whatever completed.
    while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
      const uint64_t ud = io_uring_cqe_get_data64(cqe);
      io_uring_cqe_seen(&ring_, cqe);
      OnPollDone(ud);
    }
    return absl::OkStatus();
  }

 private:
  static constexpr uint64_t kTagMask = uint64_t{0xff} << 56;
  static constexpr uint64_t kTagWrite = uint64_t{1} << 56;
  static constexpr uint64_t kTagSync = uint64_t{2} << 56;
  static constexpr uint64_t kTagBell = uint64_t{3} << 56;
  static constexpr uint64_t kTagStop = uint64_t{4} << 56;

  io_uring_sqe* GetSqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {  // cannot happen with the sizes above; flush and retry anyway
      io_uring_submit(&ring_);
      sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
  }

  absl::Status Submit() {
    for (;;) {
      const int rc = io_uring_submit(&ring_);
      if (rc >= 0) return absl::OkStatus();
      if (rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
        return absl::InternalError(absl::StrCat("io_uring_submit: ", strerror(-rc)));
      }
    }
  }

  void OnPollDone(uint64_t ud) {
    if (ud == kTagBell) bell_armed_ = false;
    if (ud == kTagStop) stop_armed_ = false;
    fired_ = true;
  }

  io_uring ring_{};
  bool ready_ = false;
  unsigned depth_;
  int fd_ = -1;
  bool seekable_ = false;
  bool registered_ = false, fixed_ = false;
  bool bell_armed_ = false, stop_armed_ = false, fired_ = false;
};

}  // namespace

std::unique_ptr<DrainWriter> MakeDrainWriter(const DrainWriterOptions& options, std::string* notice) {
  notice->clear();
  if (options.allow_uring) {
    auto w = std::make_unique<UringWriter>(options.queue_depth);
    absl::Status s = w->Init();
    if (s.ok()) return w;
    *notice = absl::StrCat(s.message(), "; using plain writev(2) with the same commit rules");
  }
  return std::make_unique<PlainWriter>();
}

}  // namespace shmctl
