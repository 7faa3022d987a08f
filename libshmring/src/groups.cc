// Adding, finding and removing consumer groups (spec/PROTOCOL.md §8).
#include "groups.h"
#include "doorbell.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "liveness.h"
#include "ring_impl.h"
#include "util.h"
#include "wakeup.h"

namespace shmring {

using namespace layout;

std::string GroupName(const GroupSlot& gs) {
  char copy[kGroupNameMax + 1];
  memcpy(copy, gs.name, sizeof copy);  // one read of the shared bytes
  std::string name(copy, strnlen(copy, kGroupNameMax));
  // Valid names are [A-Za-z0-9._-] (ValidateGroupName); anything else came from a
  // corrupt or hostile ring and is shown as '?', so every renderer gets clean text.
  for (char& c : name) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '?';
  }
  return name;
}

namespace {

// Serializes group table changes across processes: a blocking OFD lock on a byte
// of the control block (spec/LAYOUT.md §3.1), held only while the table changes.
class TableLock {
 public:
  explicit TableLock(const Ring::Impl& r) {
    const std::string self = "/proc/self/fd/" + std::to_string(r.fd);  // the mapped file, not the path
    fd_ = open(self.c_str(), O_RDWR | O_CLOEXEC);
    if (fd_ < 0) return;
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = off_t(kControlOffset + 512);
    fl.l_len = 1;
    int rc;
    while ((rc = fcntl(fd_, F_OFD_SETLKW, &fl)) != 0 && errno == EINTR) {
    }
    if (rc != 0) {
      const int err = errno;
      close(fd_);
      fd_ = -1;
      errno = err;
    }
  }
  ~TableLock() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace

absl::StatusOr<uint32_t> Ring::FindGroup(std::string_view name) const {
  const Impl& r = *impl_;
  std::vector<std::string> names;
  for (uint32_t g = 0; g < r.max_groups; ++g) {
    // Acquire pairs with AddGroup's release store of the state.
    if (r.group(g).state.load(std::memory_order_acquire) != kSlotActive) continue;
    std::string n = GroupName(r.group(g));
    if (n == name) return g;
    names.push_back(std::move(n));
  }
  return absl::NotFoundError(absl::StrCat("group '", std::string(name), "' not found in ring ", r.path, " (groups: ",
                                          names.empty() ? "none" : absl::StrJoin(names, ", "), ")"));
}

absl::StatusOr<uint32_t> Ring::AddGroup(std::string_view name) {
  Impl& r = *impl_;
  if (r.read_only) return absl::FailedPreconditionError(absl::StrCat("ring ", r.path, " is open read-only"));
  SHMRING_RETURN_IF_ERROR(ValidateGroupName(name));
  std::lock_guard<std::mutex> local(r.groups_mu);
  TableLock table(r);
  if (!table.ok()) return ErrnoStatus(errno, "lock group table of", r.path);
  if (FindGroup(name).ok()) {
    return absl::AlreadyExistsError(absl::StrCat("group '", std::string(name), "' already exists in ring ", r.path));
  }
  for (uint32_t g = 0; g < r.max_groups; ++g) {
    GroupSlot& gs = r.group(g);
    // Acquire pairs with RemoveGroup's release store of FREE: its last writes are done.
    if (gs.state.load(std::memory_order_acquire) != kSlotFree) continue;
    gs.state.store(kSlotInit, std::memory_order_relaxed);
    memset(gs.name, 0, sizeof gs.name);
    memcpy(gs.name, name.data(), name.size());
    for (auto* c : {&gs.delivered, &gs.delivered_bytes, &gs.corrupt, &gs.overwritten, &gs.evictions,
                    &gs.seen_overwritten, &gs.abandoned}) {
      c->store(0, std::memory_order_relaxed);
    }
    gs.pid.store(0, std::memory_order_relaxed);
    gs.heartbeat_ns.store(MonotonicNs(), std::memory_order_relaxed);
    // Start at the tail: the group sees records claimed from now on. Acquire pairs
    // with Claim's release CAS.
    const uint64_t tail = r.control().tail.load(std::memory_order_acquire);
    gs.cursor.store(tail | (gs.generation.load(std::memory_order_relaxed) & kCursorGenMask),
                    std::memory_order_relaxed);
    // Release pairs with the acquire state loads of producers (GatingHead) and FindGroup.
    gs.state.store(kSlotActive, std::memory_order_release);
    r.control().groups_added.fetch_add(1, std::memory_order_relaxed);
    return g;
  }
  return absl::ResourceExhaustedError(absl::StrCat("ring ", r.path, ": all ", r.max_groups,
                                                   " group slots are in use (remove an idle group first)"));
}

absl::Status Ring::RemoveGroup(std::string_view name) {
  Impl& r = *impl_;
  if (r.read_only) return absl::FailedPreconditionError(absl::StrCat("ring ", r.path, " is open read-only"));
  std::lock_guard<std::mutex> local(r.groups_mu);
  TableLock table(r);
  if (!table.ok()) return ErrnoStatus(errno, "lock group table of", r.path);
  auto g = FindGroup(name);
  if (!g.ok()) return g.status();
  GroupSlot& gs = r.group(*g);
  // Hold the reader lock while freeing the slot so no reader attaches meanwhile.
  auto reader = SlotLock::TryAcquire(r.fd, r.path, r.group_lock_byte(*g));
  if (!reader.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("group '", std::string(name), "' of ring ", r.path,
                                                      " has a live reader (pid ", gs.pid.load(std::memory_order_relaxed),
                                                      "); stop it first"));
  }
  // Release pairs with GatingHead's acquire: the group stops gating.
  gs.state.store(kSlotFree, std::memory_order_release);
  r.control().groups_removed.fetch_add(1, std::memory_order_relaxed);
  // A doorbell socket its last reader left (spec/PROTOCOL.md §7.2): no reader serves it now.
  (void)unlink(DoorbellPath(r.path, std::string(name)).c_str());
  // Producers blocked on this group re-check.
  r.control().space_seq.fetch_add(1, std::memory_order_seq_cst);
  FutexWakeAll(r.control().space_seq);
  return absl::OkStatus();
}

}  // namespace shmring
