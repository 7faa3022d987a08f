// shmctl rm and shmctl group add|rm: remove rings, add and remove consumer groups.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "shmctl.h"
#include "shmring/ring.h"

namespace shmctl {

int RunRm(const std::vector<std::string>& argv) {
  const Args a = Args::Parse("rm", argv, {{"force", false}});
  a.ExpectPositional(1, SIZE_MAX, "RING (one or more)");
  int rc = kExitOk;
  for (const std::string& ring : a.positional()) {
    const std::string path = shmring::Ring::ResolvePath(ring);
    // Only rings are removed: anything else (a typo'd path, /etc/passwd) is kept.
    auto magic = HasRingMagic(path);
    if (absl::IsNotFound(magic.status())) {
      rc = Fail(absl::StrCat("rm ", path, ": no such ring"));
      continue;
    }
    if (!magic.ok()) {
      rc = Fail(absl::StrCat("rm ", magic.status().message(), "; nothing removed"));
      continue;
    }
    if (!*magic) {
      rc = Fail(absl::StrCat("rm ", path, ": not a shmring ring (not a regular file starting with the magic "
                             "\"SHMRING\"); file kept"));
      continue;
    }
    if (auto r = shmring::Ring::Open(path, {.read_only = true}); !r.ok()) {
      if (!a.Has("force")) {
        rc = Fail(absl::StrCat("rm ", path, ": has the ring magic but fails validation (", r.status().message(),
                               "); file kept: use rm --force to remove a broken ring"));
        continue;
      }
    }
    if (absl::Status s = shmring::Ring::Remove(path); !s.ok()) {
      rc = Fail(s);
    } else {
      std::cout << "removed " << path << "\n";
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
