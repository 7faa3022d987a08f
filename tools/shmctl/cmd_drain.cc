// shmctl drain: the log-agent sidecar. Reads one consumer group and writes its records to stdout
// or a (rotated) file with io_uring, committing the group's cursor only once the bytes are
// confirmed written -- and fsynced, per --fsync -- so a drain killed with -9 and restarted loses
// nothing and repeats at most what was written but not yet committed.
//
// Per batch: Poll(--batch) -> format (raw/lines: iovecs straight into the ring's payloads, which
// stay put until the cursor moves; json/otlp-json: one buffer) -> DrainWriter::WriteAll (all
// completions in, short writes resubmitted) -> fsync per --fsync -> Reader::Commit. Nothing is
// polled between a write and its commit except under --fsync interval, where a commit covers
// every batch written since the previous fsync. Idle: the reader's doorbell fd (and a signalfd
// for SIGINT/SIGTERM) is polled through io_uring; see Reader::DoorbellFd for its edge semantics.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "shmctl.h"
#include "shmring/reader.h"
#include "shmring/ring.h"
#include "uring_writer.h"

namespace shmctl {

namespace {

using Clock = std::chrono::steady_clock;

enum class Format { kRaw, kLines, kJson, kOtlpJson };
enum class FsyncMode { kNever, kInterval, kAlways };

constexpr auto kFsyncInterval = std::chrono::seconds(1);
constexpr int kIdleSliceMs = 100;  // longest idle wait: stop checks, stuck-head reclaim, heartbeats
constexpr unsigned kQueueDepth = 8;

uint64_t RealtimeNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat(AV(what), " ", path, ": ", strerror(errno)));
}

// The output: stdout, or a file we own (and rotate).
class Output {
 public:
  Output(std::string path, bool line_format, DrainWriter* writer)
      : path_(std::move(path)), line_format_(line_format), writer_(writer) {}
  ~Output() {
    if (fd_ > 2) close(fd_);
  }

  bool is_stdout() const { return path_.empty(); }
  bool seekable() const { return seekable_; }
  const std::string& label() const { return label_; }

  absl::Status Open() {
    if (is_stdout()) {
      fd_ = STDOUT_FILENO;
      label_ = "stdout";
      seekable_ = false;  // shared with whoever else holds it: written at its file position
      return writer_->SetOutput(fd_, false, 0);
    }
    label_ = path_;
    const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("open", path_);
    fd_ = fd;
    struct stat st;
    if (fstat(fd, &st) != 0) return Errno("stat", path_);
    seekable_ = S_ISREG(st.st_mode);  // a FIFO or /dev/null is written as a stream
    uint64_t size = seekable_ ? uint64_t(st.st_size) : 0;
    if (seekable_ && line_format_ && size > 0) {
      // A drain killed in the middle of a write may have left a partial last line; its record
      // was not committed and comes again. End the fragment so the next record starts a line.
      char last = '\n';
      if (pread(fd, &last, 1, off_t(size - 1)) == 1 && last != '\n') {
        if (pwrite(fd, "\n", 1, off_t(size)) != 1) return Errno("write", path_);
        ++size;
        std::cerr << "shmctl: drain: note: " << path_
                  << " ended in a partial line (an earlier drain stopped mid-write); ended it\n";
      }
    }
    return writer_->SetOutput(fd_, seekable_, size);
  }

  // PATH.keep is dropped, PATH.i -> PATH.i+1, PATH -> PATH.1, then a new PATH is opened: what
  // logrotate's default (create) mode and the OTel filelog receiver expect.
  absl::Status Rotate(uint64_t keep, bool sync_dir) {
    auto name = [&](uint64_t i) { return absl::StrCat(path_, ".", i); };
    if (unlink(name(keep).c_str()) != 0 && errno != ENOENT) return Errno("remove", name(keep));
    for (uint64_t i = keep; i > 1; --i) {
      if (rename(name(i - 1).c_str(), name(i).c_str()) != 0 && errno != ENOENT) return Errno("rename", name(i - 1));
    }
    if (rename(path_.c_str(), name(1).c_str()) != 0) return Errno("rename", path_);
    const int old = fd_;
    const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("open", path_);
    fd_ = fd;
    struct stat st;
    if (fstat(fd, &st) != 0) return Errno("stat", path_);
    absl::Status s = writer_->SetOutput(fd, true, uint64_t(st.st_size));
    close(old);
    if (sync_dir) {
      const size_t slash = path_.rfind('/');
      const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path_.substr(0, slash);
      const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
      }
    }
    ++rotations_;
    return s;
  }

  uint64_t rotations() const { return rotations_; }

 private:
  std::string path_;  // empty: stdout
  bool line_format_;
  DrainWriter* writer_;
  int fd_ = -1;
  bool seekable_ = false;
  std::string label_;
  uint64_t rotations_ = 0;
};

Format ParseFormat(const std::string& f) {
  if (f == "raw") return Format::kRaw;
  if (f == "lines") return Format::kLines;
  if (f == "json") return Format::kJson;
  if (f == "otlp-json") return Format::kOtlpJson;
  throw UsageError(absl::StrCat("--format '", f, "': expected raw, lines, json or otlp-json"));
}

FsyncMode ParseFsync(const std::string& f) {
  if (f == "never") return FsyncMode::kNever;
  if (f == "interval") return FsyncMode::kInterval;
  if (f == "always") return FsyncMode::kAlways;
  throw UsageError(absl::StrCat("--fsync '", f, "': expected never, interval or always"));
}

}  // namespace

int RunDrain(const std::vector<std::string>& argv) {
  const Args a = Args::Parse("drain", argv,
                             {{"group", true},
                              {"to", true},
                              {"format", true},
                              {"fsync", true},
                              {"rotate-size", true},
                              {"keep", true},
                              {"batch", true},
                              {"max", true},
                              {"idle-exit", true}});
  a.ExpectPositional(1, 1, "RING");
  if (!a.Has("group")) throw UsageError("missing --group G (the consumer group to drain)");
  if (!a.Has("to")) throw UsageError("missing --to - (standard output) or --to PATH");
  const std::string group = *a.Get("group");
  const std::string to = *a.Get("to");
  if (to.empty()) throw UsageError("--to '': expected - or a file path");
  const Format format = ParseFormat(a.Get("format").value_or("lines"));
  FsyncMode fsync_mode = ParseFsync(a.Get("fsync").value_or("interval"));
  const uint64_t rotate_size = a.Has("rotate-size") ? ParseSize("rotate-size", *a.Get("rotate-size")) : 0;
  if (a.Has("rotate-size") && rotate_size == 0) throw UsageError("--rotate-size must be above 0");
  if (a.Has("keep") && !a.Has("rotate-size")) throw UsageError("--keep goes with --rotate-size");
  if (rotate_size > 0 && to == "-") throw UsageError("--rotate-size needs --to PATH (standard output is not rotated)");
  const uint64_t keep = a.Has("keep") ? ParseUint("keep", *a.Get("keep"), 1000) : 5;
  if (keep == 0) throw UsageError("--keep must be at least 1");
  const size_t batch_max = size_t(a.Has("batch") ? ParseUint("batch", *a.Get("batch"), 65536) : 256);
  if (batch_max == 0) throw UsageError("--batch must be at least 1");
  const uint64_t max = a.Has("max") ? ParseUint("max", *a.Get("max")) : UINT64_MAX;
  const double idle_exit = a.Has("idle-exit") ? ParseSeconds("idle-exit", *a.Get("idle-exit")) : -1;

  // SIGINT/SIGTERM arrive through a signalfd (polled with the doorbell); blocked before any
  // thread exists so that every thread inherits the mask. EPIPE instead of SIGPIPE.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  const int stop_fd = signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (stop_fd < 0) return Fail(absl::StrCat("signalfd: ", strerror(errno)));

  auto ring = shmring::Ring::Open(a.positional()[0]);
  if (!ring.ok()) return Fail(ring.status());
  auto reader_or = shmring::Reader::Attach(*ring, group, {.auto_commit = false});
  if (!reader_or.ok()) return Fail(reader_or.status());
  shmring::Reader& reader = **reader_or;
  const shmring::AttachReport& rep = reader.attach_report();
  if (rep.lost_while_away > 0) {
    std::cerr << "shmctl: drain: note: " << rep.lost_while_away << " records were overwritten while group '" << group
              << "' had no reader\n";
  }
  const bool overwrite = (*ring)->policy() == shmring::Policy::kOverwrite;
  const uint64_t capacity = (*ring)->capacity();

  // Idle waits: the doorbell through io_uring/poll, or Reader::Wait (futex) if it is unavailable.
  int bell_fd = -1;
  if (auto bell = reader.DoorbellFd(); bell.ok()) {
    bell_fd = *bell;
  } else {
    std::cerr << "shmctl: drain: note: no doorbell (" << bell.status().message()
              << "); waiting on the ring's futex instead\n";
  }

  const char* io_env = std::getenv("SHMCTL_DRAIN_IO");
  std::string notice;
  std::unique_ptr<DrainWriter> writer =
      MakeDrainWriter({.queue_depth = kQueueDepth, .allow_uring = !(io_env && std::string_view(io_env) == "writev")},
                      &notice);
  if (!notice.empty()) std::cerr << "shmctl: drain: note: " << notice << "\n";

  const bool line_format = format != Format::kRaw;
  Output out(to == "-" ? "" : to, line_format, writer.get());
  if (absl::Status s = out.Open(); !s.ok()) return Fail(s);
  if (rotate_size > 0 && !out.seekable()) {
    return Fail(absl::StrCat("--rotate-size: ", to, " is not a regular file"));
  }
  // Only a regular file can be synced: for a pipe, a tty or /dev/null "written" is final, so a
  // batch is committed as soon as it is written.
  if (!writer->is_regular()) fsync_mode = FsyncMode::kNever;

  std::string version = ToolVersion();
  if (size_t sp = version.rfind(' '); sp != std::string::npos) version = version.substr(sp + 1);
  const DrainMeta meta{RingLabel((*ring)->path()), group, version};

  uint64_t drained = 0, uncommitted = 0;
  bool pending = false;  // interval: written, waiting for the next fsync + commit
  Clock::time_point last_sync = Clock::now() - kFsyncInterval;
  Clock::time_point last_record = Clock::now();
  uint64_t uncommitted_end = 0;  // ring position after the last record written
  std::vector<iovec> iov;
  std::vector<DrainRecord> recs;
  std::string buf;
  static const char kNewline = '\n';
  std::string stopped_by;

  // Everything written so far becomes durable (per --fsync) and the cursor moves past it.
  auto commit = [&](bool sync) -> absl::Status {
    if (sync) {
      if (absl::Status s = writer->Sync(); !s.ok()) return s;
      last_sync = Clock::now();
    }
    if (absl::Status s = reader.Commit(); !s.ok()) return s;
    pending = false;
    uncommitted = 0;
    return absl::OkStatus();
  };
  auto fail_uncommitted = [&](const absl::Status& s) {
    Fail(s);
    std::cerr << "shmctl: drain: " << uncommitted << " records left uncommitted (the next drain of group '" << group
              << "' writes them again)\n";
    return kExitFail;
  };
  auto stop_requested = [&]() {
    signalfd_siginfo si;
    if (read(stop_fd, &si, sizeof si) == ssize_t(sizeof si)) {
      stopped_by = si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM";
    }
    return !stopped_by.empty();
  };

  while (!stop_requested() && drained < max) {
    const size_t want = size_t(std::min<uint64_t>(batch_max, max - drained));
    auto b = reader.Poll(want);
    if (!b.ok()) return fail_uncommitted(b.status());
    if (b->empty()) {
      const auto now = Clock::now();
      if (pending && now - last_sync >= kFsyncInterval) {
        if (absl::Status s = commit(true); !s.ok()) return fail_uncommitted(s);
      }
      const double idle_s = std::chrono::duration<double>(now - last_record).count();
      if (idle_exit >= 0 && idle_s >= idle_exit) break;
      double timeout_ms = kIdleSliceMs;
      if (pending) {
        timeout_ms = std::min(timeout_ms,
                              std::chrono::duration<double, std::milli>(last_sync + kFsyncInterval - now).count());
      }
      if (idle_exit >= 0) timeout_ms = std::min(timeout_ms, (idle_exit - idle_s) * 1000);
      const int wait_ms = std::max(1, int(timeout_ms + 0.999));
      if (bell_fd >= 0) {
        if (absl::Status s = writer->Wait(bell_fd, stop_fd, wait_ms); !s.ok()) return fail_uncommitted(s);
        continue;
      }
      b = reader.Wait(want, std::chrono::milliseconds(wait_ms));
      if (!b.ok()) return fail_uncommitted(b.status());
      if (b->empty()) continue;
    }

    // Format. raw/lines point into the delivered payloads, which stay valid until the next
    // Poll or Commit -- both come only after the write completed.
    const std::span<const shmring::RecordView> batch = *b;
    iov.clear();
    buf.clear();
    if (format == Format::kRaw || format == Format::kLines) {
      for (const shmring::RecordView& r : batch) {
        iov.push_back({const_cast<std::byte*>(r.payload.data()), r.payload.size()});
        if (format == Format::kLines) iov.push_back({const_cast<char*>(&kNewline), 1});
      }
    } else {
      recs.clear();
      for (const shmring::RecordView& r : batch) recs.push_back({r.position, r.type, r.flags, r.producer, r.payload});
      const uint64_t now_ns = RealtimeNs();
      if (format == Format::kJson) {
        AppendDrainJson(&buf, meta, now_ns, recs);
      } else {
        AppendOtlpJson(&buf, meta, now_ns, recs);
      }
      iov.push_back({buf.data(), buf.size()});
    }
    uncommitted += batch.size();
    const shmring::RecordView& last = batch.back();
    uncommitted_end = last.position + ((32 + last.payload.size() + 7) & ~size_t{7});

    if (absl::Status s = writer->WriteAll(iov); !s.ok()) return fail_uncommitted(s);
    drained += batch.size();
    last_record = Clock::now();

    // Durability, then the cursor.
    absl::Status s;
    switch (fsync_mode) {
      case FsyncMode::kNever:
        s = commit(false);
        break;
      case FsyncMode::kAlways:
        s = commit(true);
        break;
      case FsyncMode::kInterval: {
        pending = true;
        // Also when the uncommitted records hold half the ring: block-policy producers would
        // otherwise wait for the next second.
        const bool pressure = !overwrite && uncommitted_end - reader.committed_position() >= capacity / 2;
        if (Clock::now() - last_sync >= kFsyncInterval || pressure) s = commit(true);
        break;
      }
    }
    if (!s.ok()) return fail_uncommitted(s);

    if (rotate_size > 0 && writer->offset() >= rotate_size) {
      if (pending) {
        if (absl::Status cs = commit(true); !cs.ok()) return fail_uncommitted(cs);
      }
      if (absl::Status rs = out.Rotate(keep, fsync_mode != FsyncMode::kNever); !rs.ok()) return Fail(rs);
    }
  }
  if (pending) {
    if (absl::Status s = commit(true); !s.ok()) return fail_uncommitted(s);
  }
  std::cerr << "shmctl: drain: " << drained << " records from " << meta.ring << " group " << group << " to "
            << out.label() << " via " << writer->name();
  if (out.rotations() > 0) std::cerr << ", " << out.rotations() << " rotations";
  if (!stopped_by.empty()) std::cerr << "; stopped by " << stopped_by;
  std::cerr << "\n";
  close(stop_fd);
  return kExitOk;
}

}  // namespace shmctl
