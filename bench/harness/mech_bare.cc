// The bare minimal SPSC ring (common/bare_ring.h) over a /dev/shm file: the
// physical reference for what moving bytes between the two CPUs costs.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/bare_ring.h"
#include "common/payload.h"
#include "common/util.h"
#include "harness/mech.h"

namespace bench {
namespace {

class BareMech : public Mech {
 public:
  std::string Name() const override { return "bare-ring"; }
  std::string Config(const Params& p) const override {
    return "SPSC byte ring, capacity " + std::to_string(Capacity(p) >> 10) +
           " KiB, no checksum, consumer batches (one tail load and one head store per batch), busy-poll";
  }
  static uint64_t Capacity(const Params& p) {
    if (p.capacity) return p.capacity;
    return NextPow2(std::max<uint64_t>(1 << 20, 32 * (p.size + 64)));
  }
  std::string Setup(const Params& p) override {
    path_ = "/dev/shm/shmring-bench-bare-" + p.tag;
    int fd = open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return "open " + path_;
    bytes_ = BareRing::BytesFor(Capacity(p));
    if (ftruncate(fd, bytes_) != 0 || posix_fallocate(fd, 0, bytes_) != 0) return "ftruncate";
    void* m = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return "mmap";
    BareRing::Init(m, Capacity(p));
    munmap(m, bytes_);
    return "";
  }
  void Teardown() override { unlink(path_.c_str()); }

  void* Map() {
    int fd = open(path_.c_str(), O_RDWR);
    if (fd < 0) return nullptr;
    void* m = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    close(fd);
    return m == MAP_FAILED ? nullptr : m;
  }

  std::string Producer(ProducerCtx& c) override {
    void* m = Map();
    if (!m) return "map";
    BareRing ring(m);
    const size_t n = c.params().size;
    return c.Run([&](uint64_t key, bool stamp) -> Pub {
      unsigned char* d;
      while ((d = ring.Reserve(n)) == nullptr) CpuRelax();
      FillPayload(d, n, key, 0);
      if (stamp) Stamp(d, NowNs());
      ring.Commit();
      return Pub::kOk;
    });
  }

  std::string Consumer(ConsumerCtx& c) override {
    void* m = Map();
    if (!m) return "map";
    BareRing ring(m);
    c.Ready();
    bool more = true;
    while (more) {
      const size_t got = ring.Drain(
          [&](const unsigned char* d, size_t len) {
            if (more) more = c.OnRecord(d, len);
          },
          256);
      if (got == 0 && c.Idle()) break;
      IdleAfterPoll(got, 256);
    }
    return "";
  }

 private:
  std::string path_;
  size_t bytes_ = 0;
};

}  // namespace

std::unique_ptr<Mech> MakeBareRing() { return std::make_unique<BareMech>(); }

}  // namespace bench
