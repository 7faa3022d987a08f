// C++ consumer of an installed shmring: create a ring, write a record, read it back.
#include <cstdio>
#include <string_view>

#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/ring.h"

static int Fail(const absl::Status& s) {
  std::fprintf(stderr, "%s\n", s.ToString().c_str());
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  shmring::CreateOptions o;
  o.groups = {"g"};
  auto ring = shmring::Ring::Create(argv[1], o);
  if (!ring.ok()) return Fail(ring.status());
  auto p = shmring::Producer::Attach(*ring);
  if (!p.ok()) return Fail(p.status());
  auto r = shmring::Reader::Attach(*ring, "g");
  if (!r.ok()) return Fail(r.status());
  if (auto s = (*p)->Write("hello from C++", 1); !s.ok()) return Fail(s);
  auto batch = (*r)->Poll(1);
  if (auto s = shmring::Ring::Remove(argv[1]); !s.ok()) return Fail(s);
  if (!batch.ok()) return Fail(batch.status());
  if (batch->size() != 1) return Fail(absl::InternalError("expected one record"));
  const auto& v = (*batch)[0];
  const std::string_view got(reinterpret_cast<const char*>(v.payload.data()), v.payload.size());
  std::printf("C++: %.*s\n", int(got.size()), got.data());
  return got == "hello from C++" ? 0 : 1;
}
