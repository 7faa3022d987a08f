// shmctl rm and shmctl group add|rm: remove rings, add and remove consumer groups.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "shmctl.h"
#include "shmring/ring.h"

namespace shmctl {

int RunRm(const std::vector<std::string>& argv) {
  const Args a = Args::Parse("rm", argv, {});
  a.ExpectPositional(1, SIZE_MAX, "RING (one or more)");
  int rc = kExitOk;
  for (const std::string& ring : a.positional()) {
    if (absl::Status s = shmring::Ring::Remove(ring); !s.ok()) {
      rc = Fail(s);
    } else {
      std::cout << "removed " << shmring::Ring::ResolvePath(ring) << "\n";
    }
  }
  return rc;
}

int RunGroup(const std::vector<std::string>& argv) {
  if (argv.empty()) throw UsageError("missing action: add or rm");
  const std::string& action = argv[0];
  if (action != "add" && action != "rm") throw UsageError(absl::StrCat("unknown action '", action, "': expected add or rm"));
  const Args a = Args::Parse("group", std::vector<std::string>(argv.begin() + 1, argv.end()), {});
  a.ExpectPositional(2, 2, "RING and NAME");
  const std::string& ring = a.positional()[0];
  const std::string& name = a.positional()[1];
  auto r = shmring::Ring::Open(ring);
  if (!r.ok()) return Fail(r.status());
  if (action == "add") {
    auto slot = (*r)->AddGroup(name);
    if (!slot.ok()) return Fail(slot.status());
    std::cout << "added group '" << name << "' to " << (*r)->path() << " (slot " << *slot
              << "); it sees records committed from now on\n";
  } else {
    if (absl::Status s = (*r)->RemoveGroup(name); !s.ok()) return Fail(s);
    std::cout << "removed group '" << name << "' from " << (*r)->path() << "\n";
  }
  return kExitOk;
}

}  // namespace shmctl
