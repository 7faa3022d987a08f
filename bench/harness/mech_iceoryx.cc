// iceoryx 2.0 (Debian's) zero-copy pub/sub: UntypedPublisher::loan/publish and
// UntypedSubscriber::take/release, lossless (WAIT_FOR_CONSUMER + BLOCK_PRODUCER),
// subscriber queue 256 (iceoryx's maximum), busy-polling subscriber. RouDi is
// started by the harness (see roudi.cc) before and stopped after.
#include <unistd.h>

#include <chrono>
#include <thread>

#include "common/payload.h"
#include "common/util.h"
#include "harness/mech.h"
#include "iceoryx_hoofs/log/logmanager.hpp"
#include "iceoryx_posh/mepoo/chunk_header.hpp"
#include "iceoryx_posh/popo/untyped_publisher.hpp"
#include "iceoryx_posh/popo/untyped_subscriber.hpp"
#include "iceoryx_posh/runtime/posh_runtime.hpp"

namespace bench {
namespace {

void Quiet() { iox::log::LogManager::GetLogManager().SetDefaultLogLevel(iox::log::LogLevel::kWarn, iox::log::LogLevelOutput::kHideLogLevel); }

class IceoryxMech : public Mech {
 public:
  std::string Name() const override { return "iceoryx"; }
  std::string Config(const Params&) const override {
    return "iceoryx 2.0.3 UntypedPublisher/UntypedSubscriber, WAIT_FOR_CONSUMER + BLOCK_PRODUCER, queueCapacity 256, "
           "busy-poll take(), RouDi default mempools";
  }
  std::string Setup(const Params& p) override {
    tag_ = p.tag;
    return "";
  }
  std::string Producer(ProducerCtx& c) override {
    Quiet();
    std::string app = "bp" + tag_;
    iox::runtime::PoshRuntime::initRuntime(iox::RuntimeName_t(iox::cxx::TruncateToCapacity, app.c_str()));
    iox::popo::PublisherOptions po;
    po.subscriberTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
    iox::popo::UntypedPublisher pub({"shmring", "bench", iox::capro::IdString_t(iox::cxx::TruncateToCapacity, tag_.c_str())}, po);
    const uint64_t t0 = NowNs();
    while (!pub.hasSubscribers()) {
      if (NowNs() - t0 > 10'000'000'000ull) return "iceoryx: no subscriber";
      usleep(1000);
    }
    const uint32_t n = uint32_t(c.params().size);
    std::string e = c.Run([&](uint64_t key, bool stamp) -> Pub {
      for (;;) {
        auto l = pub.loan(n);
        if (l.has_error()) {  // out of chunks: the subscriber holds them; wait
          CpuRelax();
          continue;
        }
        void* d = l.value();
        FillPayload(d, n, key, 0);
        if (stamp) Stamp(d, NowNs());
        pub.publish(d);
        return Pub::kOk;
      }
    });
    // Let the subscriber drain before the publisher goes away.
    usleep(200000);
    return e;
  }
  std::string Consumer(ConsumerCtx& c) override {
    Quiet();
    std::string app = "bc" + tag_;
    iox::runtime::PoshRuntime::initRuntime(iox::RuntimeName_t(iox::cxx::TruncateToCapacity, app.c_str()));
    iox::popo::SubscriberOptions so;
    so.queueCapacity = 256;
    so.queueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;
    iox::popo::UntypedSubscriber sub({"shmring", "bench", iox::capro::IdString_t(iox::cxx::TruncateToCapacity, tag_.c_str())}, so);
    c.Ready();  // the publisher offers after this and waits for our subscription
    bool more = true, had = false;
    while (more) {
      auto t = sub.take();
      if (t.has_error()) {
        if (c.Idle()) break;
        if (had) {
          Settle();  // caught up (the common idle strategy, common/util.h)
        } else {
          CpuRelax();
        }
        had = false;
        continue;
      }
      had = true;
      const void* d = t.value();
      more = c.OnRecord(d, iox::mepoo::ChunkHeader::fromUserPayload(d)->userPayloadSize());
      sub.release(d);
    }
    return "";
  }

 private:
  std::string tag_;
};

}  // namespace

std::unique_ptr<Mech> MakeIceoryx() { return std::make_unique<IceoryxMech>(); }

}  // namespace bench
