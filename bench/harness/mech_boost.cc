// Boost.Interprocess message_queue: a shared-memory queue guarded by a
// process-shared mutex and condition variables. Same depth as posix-mq / the ring.
#include <boost/interprocess/ipc/message_queue.hpp>
#include <vector>

#include "common/payload.h"
#include "common/util.h"
#include "harness/mech.h"

namespace bench {

uint64_t FairDepth(const Params& p);

namespace {

namespace bip = boost::interprocess;

class BoostMqMech : public Mech {
 public:
  std::string Name() const override { return "boost-mq"; }
  std::string Config(const Params& p) const override {
    return "boost::interprocess::message_queue, max_num_msg " + std::to_string(FairDepth(p)) + ", max_msg_size " +
           std::to_string(p.size) + ", blocking send/receive";
  }
  std::string Setup(const Params& p) override {
    name_ = "shmring-bench-bmq-" + p.tag;
    bip::message_queue::remove(name_.c_str());
    try {
      bip::message_queue q(bip::create_only, name_.c_str(), FairDepth(p), p.size);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  }
  void Teardown() override { bip::message_queue::remove(name_.c_str()); }
  std::string Producer(ProducerCtx& c) override {
    try {
      bip::message_queue q(bip::open_only, name_.c_str());
      const size_t n = c.params().size;
      std::vector<unsigned char> buf(n);
      return c.Run([&](uint64_t key, bool stamp) -> Pub {
        FillPayload(buf.data(), n, key, 0);
        if (stamp) Stamp(buf.data(), NowNs());
        q.send(buf.data(), n, 0);
        return Pub::kOk;
      });
    } catch (const std::exception& e) {
      return e.what();
    }
  }
  std::string Consumer(ConsumerCtx& c) override {
    try {
      bip::message_queue q(bip::open_only, name_.c_str());
      std::vector<unsigned char> buf(c.params().size);
      c.Ready();
      for (;;) {
        size_t got = 0;
        unsigned prio = 0;
        q.receive(buf.data(), buf.size(), got, prio);
        if (!c.OnRecord(buf.data(), got)) break;
      }
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  }

 private:
  std::string name_;
};

}  // namespace

std::unique_ptr<Mech> MakeBoostMq() { return std::make_unique<BoostMqMech>(); }

}  // namespace bench
