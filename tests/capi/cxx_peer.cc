// A tiny C++ peer for the binding tests: the same records as shmring_c_demo,
// through the C++ API.
//   cxx_peer produce RING COUNT        write "record <i>" (type 2)
//   cxx_peer consume RING GROUP COUNT  print "<type> <payload>" per record
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/ring.h"

static int Die(const absl::Status& s) {
  std::fprintf(stderr, "cxx_peer: %s\n", s.ToString().c_str());
  return 1;
}

int main(int argc, char** argv) {
  const std::string_view mode = argc > 1 ? argv[1] : "";
  if (!((mode == "produce" && argc == 4) || (mode == "consume" && argc == 5))) {
    std::fprintf(stderr, "usage: cxx_peer produce RING COUNT | consume RING GROUP COUNT\n");
    return 2;
  }
  auto ring = shmring::Ring::Open(argv[2]);
  if (!ring.ok()) return Die(ring.status());
  if (mode == "produce") {
    auto p = shmring::Producer::Attach(*ring);
    if (!p.ok()) return Die(p.status());
    for (long i = 0, n = std::atol(argv[3]); i < n; ++i) {
      if (auto s = (*p)->Write("record " + std::to_string(i), 2); !s.ok()) return Die(s);
    }
    return 0;
  }
  auto r = shmring::Reader::Attach(*ring, argv[3]);
  if (!r.ok()) return Die(r.status());
  for (long got = 0, n = std::atol(argv[4]); got < n;) {
    auto batch = (*r)->Wait(64, std::chrono::seconds(10));
    if (!batch.ok()) return Die(batch.status());
    if (batch->empty()) return Die(absl::DeadlineExceededError("no records for 10 s"));
    for (const shmring::RecordView& v : *batch) {
      std::printf("%u %.*s\n", unsigned(v.type), int(v.payload.size()),
                  reinterpret_cast<const char*>(v.payload.data()));
    }
    got += long(batch->size());
  }
  if (auto s = (*r)->Commit(); !s.ok()) return Die(s);
  return 0;
}
