// Factories of the optional peers whose packages were missing at configure time.
#include "harness/mech.h"

namespace bench {
#ifndef SHMRING_BENCH_HAVE_BOOST
std::unique_ptr<Mech> MakeBoostMq() { return nullptr; }
#endif
#ifndef SHMRING_BENCH_HAVE_GRPC
std::unique_ptr<Mech> MakeGrpcUnary() { return nullptr; }
std::unique_ptr<Mech> MakeGrpcStream() { return nullptr; }
#endif
#ifndef SHMRING_BENCH_HAVE_ICEORYX
std::unique_ptr<Mech> MakeIceoryx() { return nullptr; }
#endif
}  // namespace bench
