// shmring through its public C++ API: Producer::Reserve/Commit (or ReserveBatch, or
// ReserveMessages: 16 messages in one batch record),
// Reader::Poll (busy), Reader::Wait (futex park) or epoll on Reader::DoorbellFd.
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <string>

#include "common/payload.h"
#include "common/util.h"
#include "harness/mech.h"
#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/ring.h"

namespace bench {
namespace {

using namespace std::chrono_literals;

class ShmringMech : public Mech {
 public:
  std::string Name() const override { return "shmring"; }
  std::string Config(const Params& p) const override {
    return "capacity " + std::to_string(Capacity(p) >> 10) + " KiB, policy " + p.policy + ", checksums " +
           (p.checksums ? "on" : "off") + ", consumer " + p.wait +
           (p.batch    ? ", ReserveBatch(16)"
            : p.messages ? ", ReserveMessages(16): 16 messages per batch record (one claim, checksum, commit; one RecordView each)"
                       : ", Reserve/Commit") +
           ", Poll(max 256)";
  }
  // Messages: 16 of up to 1 KiB fit one record of the same 1 MiB ring.
  bool Supports(const Params& p) const override {
    return p.producers <= kMaxProcs && p.groups <= kMaxProcs && (!p.messages || p.size <= 1024);
  }
  static constexpr size_t kPack = 16;  // messages per ReserveBatch or per batch record

  static uint64_t Capacity(const Params& p) {
    if (p.capacity) return p.capacity;
    return NextPow2(std::max<uint64_t>(1 << 20, 32 * (p.size + 64)));
  }

  std::string Setup(const Params& p) override {
    name_ = "shmring-bench-" + p.tag;
    (void)shmring::Ring::Remove(name_);
    shmring::CreateOptions o;
    o.capacity = Capacity(p);
    o.checksums = p.checksums;
    o.message_batches = p.messages;
    auto pol = shmring::ParsePolicy(p.policy);
    if (!pol.ok()) return std::string(pol.status().message());
    o.policy = *pol;
    for (int g = 0; g < p.groups; ++g) o.groups.push_back("g" + std::to_string(g));
    auto ring = shmring::Ring::Create(name_, o);
    if (!ring.ok()) return std::string(ring.status().message());
    // Pre-fault: allocate every tmpfs page of the file now.
    int fd = open((*ring)->path().c_str(), O_RDWR);
    if (fd >= 0) {
      struct stat st;
      if (fstat(fd, &st) == 0) posix_fallocate(fd, 0, st.st_size);
      close(fd);
    }
    return "";
  }
  void Teardown() override { (void)shmring::Ring::Remove(name_); }

  std::string Producer(ProducerCtx& c) override {
    auto ring = shmring::Ring::Open(name_);
    if (!ring.ok()) return std::string(ring.status().message());
    shmring::ProducerOptions po;
    po.block_timeout = 60s;
    auto prod = shmring::Producer::Attach(*ring, po);
    if (!prod.ok()) return std::string(prod.status().message());
    shmring::Producer& pr = **prod;
    const Params& p = c.params();
    const size_t n = p.size;
    const bool timed_block = p.series;
    if (!p.batch && !p.messages) {
      return c.Run([&](uint64_t key, bool stamp) -> Pub {
        const uint64_t t0 = timed_block ? NowNs() : 0;
        auto r = pr.Reserve(n);
        if (timed_block) {
          const uint64_t dt = NowNs() - t0;
          if (dt > 2000) c.AddBlocked(dt);
        }
        if (!r.ok()) return absl::IsResourceExhausted(r.status()) || absl::IsDeadlineExceeded(r.status()) ? Pub::kDropped : Pub::kError;
        std::byte* d = r->data().data();
        FillPayload(d, n, key, 0);
        if (stamp) Stamp(d, NowNs());
        return pr.Commit(*r).ok() ? Pub::kOk : Pub::kError;
      });
    }
    // 16 messages per step: ReserveBatch (16 records claimed at once, committed
    // together) or ReserveMessages (one batch record of 16 messages). The harness
    // loop calls us once per message; we buffer the keys.
    std::array<uint32_t, kPack> lens;
    lens.fill(uint32_t(n));
    std::array<uint64_t, kPack> keys;
    std::array<bool, kPack> stamps;
    size_t k = 0;
    // Fills message i at at(i), then stamps the stamped ones, just before the commit.
    auto fill = [&](size_t cnt, auto at) {
      for (size_t i = 0; i < cnt; ++i) FillPayload(at(i), n, keys[i], 0);
      const uint64_t now = NowNs();
      for (size_t i = 0; i < cnt; ++i)
        if (stamps[i]) Stamp(at(i), now);
    };
    auto flush = [&](size_t cnt) -> Pub {
      const std::span<const uint32_t> these(lens.data(), cnt);
      auto b = p.messages ? pr.ReserveMessages(these) : pr.ReserveBatch(these);
      if (!b.ok()) return Pub::kError;
      fill(cnt, [&](size_t i) { return b->data(i).data(); });
      return pr.Commit(*b).ok() ? Pub::kOk : Pub::kError;
    };
    return c.Run([&](uint64_t key, bool stamp) -> Pub {
      keys[k] = key;
      stamps[k] = stamp;
      ++k;
      if (k < kPack && !(key & kEndFlag)) return Pub::kOk;
      const size_t cnt = k;
      k = 0;
      return flush(cnt);
    });
  }

  std::string Consumer(ConsumerCtx& c) override {
    const Params& p = c.params();
    auto ring = shmring::Ring::Open(name_);
    if (!ring.ok()) return std::string(ring.status().message());
    auto rd = shmring::Reader::Attach(*ring, "g" + std::to_string(c.index()));
    if (!rd.ok()) return std::string(rd.status().message());
    shmring::Reader& reader = **rd;
    int ep = -1;
    if (p.wait == "bell") {
      auto fd = reader.DoorbellFd();
      if (!fd.ok()) return std::string(fd.status().message());
      ep = epoll_create1(0);
      epoll_event ev{};
      ev.events = EPOLLIN;
      epoll_ctl(ep, EPOLL_CTL_ADD, *fd, &ev);
    }
    const bool shared_cpu = p.groups > 1;
    if (p.series) {
      // Overwritten records as the ring counts them (when producers pass the cursor),
      // not only when the reader notices the gap.
      shmring::Ring* rp = ring->get();
      const std::string gname = "g" + std::to_string(c.index());
      c.SetOverwrittenProbe([rp, gname] {
        for (const auto& g : rp->Stats().groups)
          if (g.name == gname) return g.overwritten;
        return uint64_t{0};
      });
    }
    c.Ready();
    for (;;) {
      absl::StatusOr<std::span<const shmring::RecordView>> b =
          p.wait == "wait" ? reader.Wait(256, 100ms) : reader.Poll(256);
      if (!b.ok()) return std::string(b.status().message());
      if (b->empty()) {
        if (c.Idle()) break;
        if (ep >= 0) {
          epoll_event ev;
          epoll_wait(ep, &ev, 1, 100);
        } else if (shared_cpu) {
          sched_yield();
        } else if (p.wait == "poll") {
          IdleAfterPoll(0, 256);
        }
        continue;
      }
      bool more = true;
      for (const auto& rec : *b) {  // a batch record arrives as one view per message
        if (!c.OnRecord(rec.payload.data(), rec.payload.size())) {
          more = false;
          break;
        }
      }
      if (!more) break;
      if (p.wait == "poll" && !shared_cpu) IdleAfterPoll(b->size(), 256);
    }
    (void)reader.Commit();
    if (ep >= 0) close(ep);
    return "";
  }

 private:
  std::string name_;
};

}  // namespace

std::unique_ptr<Mech> MakeShmring() { return std::make_unique<ShmringMech>(); }

}  // namespace bench
