// shmctl create: make a new ring file with its consumer groups.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "shmctl.h"
#include "shmring/ring.h"

namespace shmctl {

int RunCreate(const std::vector<std::string>& argv) {
  const Args a = Args::Parse("create", argv,
                             {{"capacity", true},
                              {"policy", true},
                              {"max-record", true},
                              {"mode", true},
                              {"group", true},
                              {"no-checksums", false},
                              {"batches", false},
                              {"max-producers", true},
                              {"max-groups", true},
                              {"stale-after", true},
                              {"evict-after", true},
                              {"unblock-after", true}});
  a.ExpectPositional(1, 1, "RING (a name under /dev/shm, or a path containing '/')");
  const std::string& ring = a.positional()[0];

  shmring::CreateOptions o;
  auto capacity = a.Get("capacity");
  if (!capacity) throw UsageError("missing --capacity SIZE (a power of two such as 64K or 1M)");
  o.capacity = ParseSize("capacity", *capacity);
  if (auto v = a.Get("policy")) {
    auto p = shmring::ParsePolicy(*v);
    if (!p.ok()) throw UsageError(std::string(SV(p.status().message())));
    o.policy = *p;
  }
  if (auto v = a.Get("max-record")) {
    const uint64_t n = ParseSize("max-record", *v);
    if (n == 0 || n > UINT32_MAX) throw UsageError(absl::StrCat("--max-record '", *v, "': expected 1 .. 4G-1 bytes"));
    o.max_record = uint32_t(n);
  }
  if (auto v = a.Get("mode")) o.mode = ParseMode("mode", *v);
  for (const std::string& g : a.GetAll("group")) {
    for (absl::string_view name : absl::StrSplit(g, ',', absl::SkipEmpty())) o.groups.emplace_back(name);
  }
  o.checksums = !a.Has("no-checksums");
  o.message_batches = a.Has("batches");
  if (auto v = a.Get("max-producers")) o.max_producers = uint32_t(ParseUint("max-producers", *v, UINT32_MAX));
  if (auto v = a.Get("max-groups")) o.max_groups = uint32_t(ParseUint("max-groups", *v, UINT32_MAX));
  if (auto v = a.Get("stale-after")) o.stale_after_ms = uint32_t(ParseUint("stale-after", *v, UINT32_MAX));
  if (auto v = a.Get("evict-after")) o.evict_after_ms = uint32_t(ParseUint("evict-after", *v, UINT32_MAX));
  if (auto v = a.Get("unblock-after")) o.unblock_after_ms = uint32_t(ParseUint("unblock-after", *v, UINT32_MAX));

  auto r = shmring::Ring::Create(ring, o);
  if (!r.ok()) return Fail(r.status());
  std::cout << "created ring " << (*r)->path() << ": capacity " << HumanBytes((*r)->capacity()) << ", max record "
            << (*r)->max_record() << " bytes, policy " << shmring::PolicyName((*r)->policy()) << ", groups "
            << (o.groups.empty() ? "(none)" : absl::StrJoin(o.groups, ","))
            << (o.message_batches ? ", message batches allowed" : "") << "\n";
  return kExitOk;
}

}  // namespace shmctl
