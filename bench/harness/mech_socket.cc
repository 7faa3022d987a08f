// Kernel byte and message channels: UDS SOCK_STREAM, UDS SOCK_SEQPACKET and a
// pipe. One record per write()/send() (what an application naturally does); the
// stream consumers read up to 1 MiB per read() and split records themselves.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "common/payload.h"
#include "common/util.h"
#include "harness/mech.h"

namespace bench {
namespace {

enum class Kind { kStream, kSeqpacket, kPipe };

bool WriteAll(int fd, const unsigned char* p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= size_t(w);
  }
  return true;
}

class SocketMech : public Mech {
 public:
  explicit SocketMech(Kind k) : kind_(k) {}
  std::string Name() const override {
    return kind_ == Kind::kStream ? "uds-stream" : kind_ == Kind::kSeqpacket ? "uds-seqpacket" : "pipe";
  }
  std::string Config(const Params&) const override {
    if (kind_ == Kind::kPipe) return "pipe2, F_SETPIPE_SZ 1 MiB, one write() per record, blocking read() of up to 1 MiB";
    if (kind_ == Kind::kStream)
      return "socketpair SOCK_STREAM, SO_SNDBUF/SO_RCVBUF 4 MiB, one write() per record, blocking read() of up to 1 MiB";
    return "socketpair SOCK_SEQPACKET, SO_SNDBUF/SO_RCVBUF 4 MiB, one send() and one recv() per record";
  }
  std::string Setup(const Params& p) override {
    int fds[2];
    if (kind_ == Kind::kPipe) {
      if (pipe2(fds, O_CLOEXEC) != 0) return "pipe2";
      fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
      rd_ = fds[0];
      wr_ = fds[1];
    } else {
      if (socketpair(AF_UNIX, (kind_ == Kind::kStream ? SOCK_STREAM : SOCK_SEQPACKET) | SOCK_CLOEXEC, 0, fds) != 0)
        return "socketpair";
      int sz = p.depth ? int(p.depth * (p.size + 64)) : (4 << 20);
      for (int fd : fds) {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
      }
      rd_ = fds[0];
      wr_ = fds[1];
    }
    return "";
  }
  void Teardown() override {
    close(rd_);
    close(wr_);
  }
  std::string Producer(ProducerCtx& c) override {
    close(rd_);
    const size_t n = c.params().size;
    std::vector<unsigned char> buf(n);
    std::string e = c.Run([&](uint64_t key, bool stamp) -> Pub {
      FillPayload(buf.data(), n, key, 0);
      if (stamp) Stamp(buf.data(), NowNs());
      const uint64_t t0 = c.params().series ? NowNs() : 0;
      bool ok = kind_ == Kind::kSeqpacket ? send(wr_, buf.data(), n, 0) == ssize_t(n) : WriteAll(wr_, buf.data(), n);
      if (t0) {
        const uint64_t dt = NowNs() - t0;
        if (dt > 20000) c.AddBlocked(dt);
      }
      return ok ? Pub::kOk : Pub::kError;
    });
    close(wr_);
    return e;
  }
  std::string Consumer(ConsumerCtx& c) override {
    close(wr_);
    const size_t n = c.params().size;
    c.Ready();
    if (kind_ == Kind::kSeqpacket) {
      std::vector<unsigned char> buf(n + 64);
      for (;;) {
        ssize_t r = recv(rd_, buf.data(), buf.size(), 0);
        if (r <= 0) return r == 0 ? "" : "recv";
        if (!c.OnRecord(buf.data(), size_t(r))) break;
      }
      return "";
    }
    std::vector<unsigned char> buf((1 << 20) + n);
    size_t have = 0;
    for (;;) {
      ssize_t r = read(rd_, buf.data() + have, (1 << 20));
      if (r <= 0) return r == 0 ? "" : "read";
      have += size_t(r);
      size_t off = 0;
      while (have - off >= n) {
        if (!c.OnRecord(buf.data() + off, n)) return "";
        off += n;
      }
      memmove(buf.data(), buf.data() + off, have - off);
      have -= off;
    }
  }

 private:
  Kind kind_;
  int rd_ = -1, wr_ = -1;
};

}  // namespace

std::unique_ptr<Mech> MakeUdsStream() { return std::make_unique<SocketMech>(Kind::kStream); }
std::unique_ptr<Mech> MakeUdsSeqpacket() { return std::make_unique<SocketMech>(Kind::kSeqpacket); }
std::unique_ptr<Mech> MakePipe() { return std::make_unique<SocketMech>(Kind::kPipe); }

}  // namespace bench
