// shmctl ls, stat and metrics: look at rings without disturbing them (read-only maps).
#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "shmctl.h"
#include "shmring/ring.h"

namespace shmctl {

absl::StatusOr<shmring::RingStats> ReadStats(const std::string& ring) {
  auto r = shmring::Ring::Open(ring, {.read_only = true});
  if (!r.ok()) return r.status();
  return (*r)->Stats();
}

std::optional<uint64_t> IdleNs(const shmring::RingStats& s) {
  std::optional<uint64_t> idle;
  auto seen = [&](shmring::Liveness l, uint64_t age_ns) {
    if (l == shmring::Liveness::kAlive || l == shmring::Liveness::kStale) return false;
    if (!idle || age_ns < *idle) idle = age_ns;
    return true;
  };
  for (const auto& p : s.producers) {
    if (!seen(p.liveness, p.heartbeat_age_ns)) return std::nullopt;
  }
  for (const auto& g : s.groups) {
    if (!seen(g.liveness, g.heartbeat_age_ns)) return std::nullopt;
  }
  return idle;
}

namespace {

// ls's STATE: RingState, with how long a ring without a live participant has been idle.
std::string LsState(const shmring::RingStats& s) {
  std::string state = RingState(s);
  constexpr std::string_view kIdle = "no live participant";
  if (auto idle = IdleNs(s); idle && state.starts_with(kIdle)) {
    state.insert(kIdle.size(), absl::StrCat(" for ", HumanAge(*idle)));
  }
  return state;
}

uint64_t AliveProducers(const shmring::RingStats& s) {
  return std::count_if(s.producers.begin(), s.producers.end(),
                       [](const auto& p) { return p.liveness == shmring::Liveness::kAlive; });
}

}  // namespace

int RunLs(const std::vector<std::string>& argv) {
  const Args a = Args::Parse("ls", argv, {});
  a.ExpectPositional(0, 1, "DIR");
  const std::string dir = a.positional().empty() ? "/dev/shm" : a.positional()[0];
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return Fail(absl::StrCat("ls ", dir, ": ", strerror(errno)));
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());

  Table t({"NAME", "VERSION", "CAPACITY", "USED", "RECORDS", "PRODUCERS", "GROUPS", "STATE"}, ".rrrrrr.");
  for (const std::string& n : names) {
    const std::string path = absl::StrCat(dir, dir.ends_with('/') ? "" : "/", n);
    // Files without the ring magic (and files we may not read) are not listed; a file
    // with the magic that fails validation (truncated, corrupt) is, with its error.
    auto magic = HasRingMagic(path);
    if (!magic.ok() || !*magic) continue;
    auto s = ReadStats(path);
    if (!s.ok()) {
      t.Add({n, "-", "-", "-", "-", "-", "-", absl::StrCat("error: ", s.status().message())});
      continue;
    }
    t.Add({n, absl::StrCat(s->major, ".", s->minor), HumanBytes(s->capacity), HumanBytes(s->used_bytes),
           absl::StrCat(UsedRecords(*s)), absl::StrCat(AliveProducers(*s)), absl::StrCat(s->groups.size()),
           LsState(*s)});
  }
  if (t.empty()) {
    std::cerr << "shmctl: no shmring rings in " << dir << "\n";
    return kExitOk;
  }
  t.Print(std::cout);
  return kExitOk;
}

int RunStat(const std::vector<std::string>& argv) {
  const Args a = Args::Parse("stat", argv, {{"json", false}});
  a.ExpectPositional(1, 1, "RING");
  auto s = ReadStats(a.positional()[0]);
  if (!s.ok()) return Fail(s.status());
  if (a.Has("json")) {
    std::cout << RenderStatJson(*s) << "\n";
  } else {
    RenderStatText(*s, std::cout);
  }
  return kExitOk;
}

int RunMetrics(const std::vector<std::string>& argv) {
  const Args a = Args::Parse("metrics", argv, {});
  a.ExpectPositional(1, SIZE_MAX, "RING (one or more)");
  std::vector<shmring::RingStats> rings;
  int rc = kExitOk;
  for (const std::string& ring : a.positional()) {
    auto s = ReadStats(ring);
    if (!s.ok()) {
      rc = Fail(s.status());
      continue;
    }
    rings.push_back(std::move(*s));
  }
  std::cout << RenderPrometheus(rings);
  return rc;
}

}  // namespace shmctl
