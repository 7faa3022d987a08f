// gRPC over a Unix socket (grpc++ sync API, Debian's libgrpc++): unary (one RPC
// per record, the client waits for each Ack) and client-streaming (one stream,
// one Write per record). The server runs in the consumer process.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "bench.grpc.pb.h"
#include "common/payload.h"
#include "common/util.h"
#include "harness/mech.h"

namespace bench {
namespace {

class SinkImpl final : public shmringbench::Sink::Service {
 public:
  explicit SinkImpl(ConsumerCtx& c) : c_(c) {}
  grpc::Status Put(grpc::ServerContext*, const shmringbench::Record* r, shmringbench::Ack*) override {
    if (!done_.load() && !c_.OnRecord(r->data().data(), r->data().size())) done_.store(true);
    return grpc::Status::OK;
  }
  grpc::Status Stream(grpc::ServerContext*, grpc::ServerReader<shmringbench::Record>* rd,
                      shmringbench::Ack* ack) override {
    shmringbench::Record r;
    uint64_t n = 0;
    while (rd->Read(&r)) {
      ++n;
      if (!c_.OnRecord(r.data().data(), r.data().size())) {
        done_.store(true);
        break;
      }
    }
    ack->set_count(n);
    return grpc::Status::OK;
  }
  std::atomic<bool> done_{false};

 private:
  ConsumerCtx& c_;
};

class GrpcMech : public Mech {
 public:
  explicit GrpcMech(bool streaming) : streaming_(streaming) {}
  std::string Name() const override { return streaming_ ? "grpc-stream" : "grpc-unary"; }
  std::string Config(const Params&) const override {
    return std::string("grpc++ ") + grpc::Version() + " sync API over unix:, insecure credentials, " +
           (streaming_ ? "one client-streaming RPC, one Write() per record"
                       : "one unary RPC per record (the client waits for each reply)") +
           ", max message 64 MiB";
  }
  std::string Setup(const Params& p) override {
    path_ = "/tmp/shmring-bench-grpc-" + p.tag + ".sock";
    unlink(path_.c_str());
    return "";
  }
  void Teardown() override { unlink(path_.c_str()); }

  std::string Consumer(ConsumerCtx& c) override {
    SinkImpl svc(c);
    grpc::ServerBuilder b;
    b.AddListeningPort("unix:" + path_, grpc::InsecureServerCredentials());
    b.RegisterService(&svc);
    b.SetMaxReceiveMessageSize(64 << 20);
    std::unique_ptr<grpc::Server> server = b.BuildAndStart();
    if (!server) return "grpc server did not start";
    c.Ready();
    while (!svc.done_.load() && !c.Idle()) usleep(1000);
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    return "";
  }

  std::string Producer(ProducerCtx& c) override {
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(64 << 20);
    auto ch = grpc::CreateCustomChannel("unix:" + path_, grpc::InsecureChannelCredentials(), args);
    auto stub = shmringbench::Sink::NewStub(ch);
    const size_t n = c.params().size;
    shmringbench::Record rec;
    rec.mutable_data()->resize(n);
    auto fill = [&](uint64_t key, bool stamp) {
      unsigned char* d = reinterpret_cast<unsigned char*>(&(*rec.mutable_data())[0]);
      FillPayload(d, n, key, 0);
      if (stamp) Stamp(d, NowNs());
    };
    if (!streaming_) {
      return c.Run([&](uint64_t key, bool stamp) -> Pub {
        fill(key, stamp);
        grpc::ClientContext ctx;
        shmringbench::Ack ack;
        return stub->Put(&ctx, rec, &ack).ok() ? Pub::kOk : Pub::kError;
      });
    }
    grpc::ClientContext ctx;
    shmringbench::Ack ack;
    std::unique_ptr<grpc::ClientWriter<shmringbench::Record>> w;
    std::string e = c.Run([&](uint64_t key, bool stamp) -> Pub {
      if (!w) w = stub->Stream(&ctx, &ack);
      fill(key, stamp);
      return w->Write(rec) ? Pub::kOk : Pub::kError;
    });
    if (w) {
      w->WritesDone();
      (void)w->Finish();
    }
    return e;
  }

 private:
  bool streaming_;
  std::string path_;
};

}  // namespace

std::unique_ptr<Mech> MakeGrpcUnary() { return std::make_unique<GrpcMech>(false); }
std::unique_ptr<Mech> MakeGrpcStream() { return std::make_unique<GrpcMech>(true); }

}  // namespace bench
