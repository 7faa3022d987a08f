// POSIX message queues (mq_send / mq_receive, one record per message). The queue
// depth is the number of records the shmring ring holds at this size, capped by
// /proc/sys/fs/mqueue/msg_max (the harness raises it when it runs as root).
#include <fcntl.h>
#include <mqueue.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <vector>

#include "common/payload.h"
#include "common/util.h"
#include "harness/mech.h"

namespace bench {

// Depth in records a peer gets: what a ring of the same capacity holds (record
// header 32 B), unless the run says otherwise.
uint64_t FairDepth(const Params& p) {
  if (p.depth) return p.depth;
  const uint64_t cap = p.capacity ? p.capacity : NextPow2(std::max<uint64_t>(1 << 20, 32 * (p.size + 64)));
  return std::max<uint64_t>(1, cap / ((p.size + 32 + 7) & ~size_t{7}));
}

namespace {

long ReadLong(const char* path) {
  std::ifstream f(path);
  long v = 0;
  f >> v;
  return v;
}

class PosixMqMech : public Mech {
 public:
  std::string Name() const override { return "posix-mq"; }
  std::string Config(const Params& p) const override {
    return "mq_open, mq_maxmsg " + std::to_string(Depth(p)) + " (fair depth " + std::to_string(FairDepth(p)) + ")" + ", mq_msgsize " + std::to_string(p.size) +
           ", blocking mq_send/mq_receive, one record per message";
  }
  // Capped by msg_max and by RLIMIT_MSGQUEUE (the kernel charges about 88 bytes of
  // bookkeeping per message on top of its size; raising the rlimit needs CAP_SYS_RESOURCE).
  static long Depth(const Params& p) {
    long cap = ReadLong("/proc/sys/fs/mqueue/msg_max");
    rlimit rl{};
    if (getrlimit(RLIMIT_MSGQUEUE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
      cap = std::min<long>(cap, long(rl.rlim_cur * 95 / 100 / (p.size + 96)));
    }
    return std::max<long>(1, std::min<long>(long(FairDepth(p)), cap));
  }
  std::string Setup(const Params& p) override {
    // As root: raise the limits so that the queue can be as deep as the ring.
    if (geteuid() == 0) {
      if (ReadLong("/proc/sys/fs/mqueue/msg_max") < 65536) {
        if (FILE* f = fopen("/proc/sys/fs/mqueue/msg_max", "w")) { fputs("65536", f); fclose(f); }
      }
      if (ReadLong("/proc/sys/fs/mqueue/msgsize_max") < (1 << 20)) {
        if (FILE* f = fopen("/proc/sys/fs/mqueue/msgsize_max", "w")) { fputs("1048576", f); fclose(f); }
      }
      rlimit rl{RLIM_INFINITY, RLIM_INFINITY};
      (void)setrlimit(RLIMIT_MSGQUEUE, &rl);  // fails without CAP_SYS_RESOURCE: Depth() then respects it
    }
    name_ = "/shmring-bench-mq-" + p.tag;
    mq_unlink(name_.c_str());
    mq_attr a{};
    a.mq_maxmsg = Depth(p);
    a.mq_msgsize = long(p.size);
    mqd_t q = mq_open(name_.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600, &a);
    if (q == mqd_t(-1)) return "mq_open " + name_ + ": " + std::string(strerror(errno)) + " (maxmsg " + std::to_string(a.mq_maxmsg) + ")";
    mq_close(q);
    return "";
  }
  void Teardown() override { mq_unlink(name_.c_str()); }
  std::string Producer(ProducerCtx& c) override {
    mqd_t q = mq_open(name_.c_str(), O_WRONLY);
    if (q == mqd_t(-1)) return "mq_open";
    const size_t n = c.params().size;
    std::vector<unsigned char> buf(n);
    return c.Run([&](uint64_t key, bool stamp) -> Pub {
      FillPayload(buf.data(), n, key, 0);
      if (stamp) Stamp(buf.data(), NowNs());
      return mq_send(q, reinterpret_cast<const char*>(buf.data()), n, 0) == 0 ? Pub::kOk : Pub::kError;
    });
  }
  std::string Consumer(ConsumerCtx& c) override {
    mqd_t q = mq_open(name_.c_str(), O_RDONLY);
    if (q == mqd_t(-1)) return "mq_open";
    std::vector<unsigned char> buf(c.params().size);
    c.Ready();
    for (;;) {
      ssize_t r = mq_receive(q, reinterpret_cast<char*>(buf.data()), buf.size(), nullptr);
      if (r < 0) return "mq_receive";
      if (!c.OnRecord(buf.data(), size_t(r))) break;
    }
    return "";
  }

 private:
  std::string name_;
};

}  // namespace

std::unique_ptr<Mech> MakePosixMq() { return std::make_unique<PosixMqMech>(); }

}  // namespace bench
