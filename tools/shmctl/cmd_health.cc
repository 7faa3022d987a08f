// Ring health, shared by `shmctl health` (an exit status, for exec probes) and serve's
// /healthz: every group (or the named ones) has a live reader, and the ring verifies.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "shmctl.h"
#include "shmring/ring.h"

namespace shmctl {

std::vector<std::string> HealthProblems(const shmring::RingStats& s, const shmring::VerifyReport* v,
                                        const std::vector<std::string>& groups) {
  std::vector<std::string> out;
  const std::string ring = RingLabel(s.path);
  for (const std::string& want : groups) {
    bool found = false;
    for (const shmring::GroupStats& g : s.groups) found = found || g.name == want;
    if (!found) out.push_back(absl::StrCat("ring ", ring, ": no group ", want));
  }
  for (const shmring::GroupStats& g : s.groups) {
    if (!groups.empty() && std::find(groups.begin(), groups.end(), g.name) == groups.end()) continue;
    std::string why;
    switch (g.liveness) {
      case shmring::Liveness::kAlive: break;
      case shmring::Liveness::kNone: why = "has no reader"; break;
      case shmring::Liveness::kDead: why = absl::StrCat("has no live reader (reader pid ", g.pid, " is dead)"); break;
      case shmring::Liveness::kStale:
        why = absl::StrCat("has a stale reader (pid ", g.pid, ", heartbeat ", HumanAge(g.heartbeat_age_ns), " old)");
        break;
    }
    if (!why.empty()) out.push_back(absl::StrCat("ring ", ring, ": group ", g.name, " ", why, g.evicted ? " (evicted)" : ""));
  }
  if (v != nullptr) {
    for (const std::string& p : v->problems) out.push_back(absl::StrCat("ring ", ring, ": verify: ", p));
  }
  return out;
}

std::vector<std::string> Health(const std::vector<std::string>& rings, const std::vector<std::string>& groups,
                                bool verify) {
  std::vector<std::string> problems;
  for (const std::string& name : rings) {
    auto r = shmring::Ring::Open(name, {.read_only = true});
    if (!r.ok()) {
      problems.push_back(absl::StrCat("ring ", name, ": ", r.status().message()));
      continue;
    }
    const shmring::VerifyReport report = verify ? (*r)->Verify() : shmring::VerifyReport{};
    for (std::string& p : HealthProblems((*r)->Stats(), verify ? &report : nullptr, groups)) {
      problems.push_back(std::move(p));
    }
  }
  return problems;
}

int RunHealth(const std::vector<std::string>& argv) {
  const Args a = Args::Parse("health", argv, {{"group", true}, {"no-verify", false}, {"quiet", false}});
  a.ExpectPositional(1, SIZE_MAX, "RING (one or more)");
  std::vector<std::string> groups;
  for (const std::string& v : a.GetAll("group")) {
    for (absl::string_view g : absl::StrSplit(v, ',', absl::SkipEmpty())) groups.emplace_back(g);
  }
  const std::vector<std::string> problems = Health(a.positional(), groups, !a.Has("no-verify"));
  if (!a.Has("quiet")) {
    if (problems.empty()) std::cout << "ok\n";
    for (const std::string& p : problems) std::cout << p << "\n";
  }
  return problems.empty() ? kExitOk : kExitFail;
}

}  // namespace shmctl
