// shmctl verify (walk and check every record and slot, read-only) and shmctl recover
// (settle dead producers' claims now, then verify).
#include <iostream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "shmctl.h"
#include "shmring/ring.h"

namespace shmctl {

using nlohmann::ordered_json;

namespace {

ordered_json VerifyJson(const std::string& ring_path, const shmring::VerifyReport& v) {
  ordered_json problems = ordered_json::array();
  for (const std::string& p : v.problems) problems.push_back(p);
  return {
      {"ring", RingLabel(ring_path)},
      {"path", ring_path},
      {"ok", v.ok()},
      {"from", v.from},
      {"to", v.to},
      {"walked_bytes", v.to - v.from},
      {"records", v.records},
      {"messages", v.messages},
      {"bytes", v.bytes},
      {"padding", v.padding},
      {"skipped", v.skipped},
      {"abandoned", v.abandoned},
      {"in_flight", v.in_flight},
      {"problems", problems},
  };
}

std::string Plural(uint64_t n, std::string_view one, std::string_view many) {
  return absl::StrCat(n, " ", AV(n == 1 ? one : many));
}

}  // namespace

void RenderVerifyText(const std::string& ring_path, const shmring::VerifyReport& v, std::ostream& out) {
  out << "ring       " << RingLabel(ring_path) << " (" << ring_path << ")\n"
      << "walked     positions " << v.from << " .. " << v.to << " (" << (v.to - v.from) << " bytes)\n"
      << "records    " << v.records << " (" << v.bytes << " payload bytes"
      << (v.messages > 0 ? absl::StrCat("; ", v.messages, " messages in batch records") : std::string()) << ")\n"
      << "padding    " << v.padding << "\n"
      << "skipped    " << v.skipped << "\n"
      << "abandoned  " << v.abandoned << "\n"
      << "in flight  " << v.in_flight << "\n";
  if (v.ok()) {
    out << "result     ok\n";
    return;
  }
  out << "result     " << Plural(v.problems.size(), "problem", "problems") << ":\n";
  for (const std::string& p : v.problems) out << "  " << p << "\n";
}

std::string RenderVerifyJson(const std::string& ring_path, const shmring::VerifyReport& v) {
  ordered_json j = {{"schema", "shmring.verify/1"}};
  j.update(VerifyJson(ring_path, v));
  return j.dump(2, ' ', false, ordered_json::error_handler_t::replace);
}

int RunVerify(const std::vector<std::string>& argv) {
  const Args a = Args::Parse("verify", argv, {{"json", false}});
  a.ExpectPositional(1, 1, "RING");
  auto r = shmring::Ring::Open(a.positional()[0], {.read_only = true});
  if (!r.ok()) return Fail(r.status());
  const shmring::VerifyReport v = (*r)->Verify();
  if (a.Has("json")) {
    std::cout << RenderVerifyJson((*r)->path(), v) << "\n";
  } else {
    RenderVerifyText((*r)->path(), v, std::cout);
  }
  if (v.ok()) return kExitOk;
  std::cerr << "shmctl: verify " << (*r)->path() << ": "
            << Plural(v.problems.size(), "problem", "problems") << " found\n";
  return kExitFail;
}

int RunRecover(const std::vector<std::string>& argv) {
  const Args a = Args::Parse("recover", argv, {{"json", false}});
  a.ExpectPositional(1, 1, "RING");
  auto r = shmring::Ring::Open(a.positional()[0]);
  if (!r.ok()) return Fail(r.status());
  auto rec = (*r)->Recover();
  if (!rec.ok()) return Fail(rec.status());
  const shmring::VerifyReport v = (*r)->Verify();
  const shmring::RingStats s = (*r)->Stats();
  if (a.Has("json")) {
    ordered_json j = {
        {"schema", "shmring.recover/1"},
        {"ring", RingLabel((*r)->path())},
        {"path", (*r)->path()},
        {"claims_settled", rec->claims_settled},
        {"records_abandoned", rec->records_abandoned},
        {"slots_freed", rec->slots_freed},
        {"claims_unsettled", rec->claims_unsettled},
        {"groups_evicted", rec->groups_evicted},
        {"state", RingState(s)},
        {"verify", VerifyJson((*r)->path(), v)},
    };
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "recover    " << RingLabel((*r)->path()) << ": ";
    const bool claims = rec->claims_settled || rec->slots_freed || rec->claims_unsettled;
    if (!claims && rec->groups_evicted == 0) {
      std::cout << "nothing to do (no dead producer held a claim or a slot, no dead reader's group to evict)\n";
    } else {
      std::cout << "settled " << Plural(rec->claims_settled, "claim", "claims") << " of dead producers, "
                << Plural(rec->records_abandoned, "record", "records") << " marked abandoned, "
                << Plural(rec->slots_freed, "slot", "slots") << " freed, "
                << Plural(rec->groups_evicted, "group", "groups") << " evicted\n";
      if (rec->claims_unsettled) {
        std::cout << "           " << Plural(rec->claims_unsettled, "claim", "claims")
                  << " left for the reader stuck at them (their first records' bytes were reused)\n";
      }
    }
    std::cout << "state      " << RingState(s) << "\n";
    RenderVerifyText((*r)->path(), v, std::cout);
  }
  if (v.ok()) return kExitOk;
  std::cerr << "shmctl: recover " << (*r)->path() << ": verify still finds "
            << Plural(v.problems.size(), "problem", "problems") << "\n";
  return kExitFail;
}

}  // namespace shmctl
