// Creating, attaching and removing ring files (spec/LAYOUT.md §1–§2, §7).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "groups.h"
#include "ring_impl.h"
#include "shmring/stats.h"
#include "doorbell.h"
#include "util.h"
#include "xxhash.h"

namespace shmring {
static_assert(kLayoutMajor == layout::kMajor && kLayoutMinor == layout::kMinor,
              "the public layout version (ring.h) must match spec/LAYOUT.md §2 (layout.h)");

namespace {

using namespace layout;

struct Geometry {
  uint64_t producers_offset, groups_offset, data_offset, total_size;
};

uint64_t PageUp(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }

Geometry Compute(uint32_t max_producers, uint32_t max_groups, uint64_t capacity) {
  Geometry g;
  g.producers_offset = kControlOffset + kControlSize;
  g.groups_offset = PageUp(g.producers_offset + uint64_t{max_producers} * kProducerSlotSize);
  g.data_offset = PageUp(g.groups_offset + uint64_t{max_groups} * kGroupSlotSize);
  g.total_size = g.data_offset + capacity;
  return g;
}

bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

uint64_t HeaderChecksum(const void* sb) { return XXH3_64bits(sb, kHeaderChecksumOffset); }

// An attach refusal that names the file, the field, and what was expected and found.
absl::Status Mismatch(const std::string& path, const std::string& field, const std::string& expected,
                      const std::string& found,
                      absl::StatusCode code = absl::StatusCode::kFailedPrecondition) {
  return absl::Status(code, absl::StrCat("ring ", path, ": superblock field ", field, ": expected ",
                                         expected, ", found ", found));
}
std::string Hex(uint64_t v) { return absl::StrFormat("0x%x", v); }

}  // namespace

absl::Status ValidateGroupName(std::string_view name) {  // declared in groups.h
  if (name.empty() || name.size() > kGroupNameMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("group name '", std::string(name), "': must be 1 to ", kGroupNameMax, " characters"));
  }
  for (char c : name) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      return absl::InvalidArgumentError(
          absl::StrCat("group name '", std::string(name), "': only letters, digits, '.', '_' and '-' are allowed"));
    }
  }
  return absl::OkStatus();
}

// Validates a superblock copy against the file size; fills the Impl's trusted copy.
absl::Status ValidateSuperblock(const Superblock& sb, uint64_t file_size, bool read_only,
                                Ring::Impl& out) {
  const std::string& p = out.path;
  if (sb.magic != kMagic) {
    return Mismatch(p, "magic", Hex(kMagic) + " (\"SHMRING\")", Hex(sb.magic) + " (not a shmring ring)",
                    absl::StatusCode::kInvalidArgument);
  }
  if (sb.major != kMajor) {
    return Mismatch(p, "major", absl::StrCat(kMajor, ".x (this library reads layout ", kMajor, ".", kMinor, ")"),
                    absl::StrCat(sb.major, ".", sb.minor));
  }
  if (sb.superblock_size != kSuperblockSize) {
    return Mismatch(p, "superblock_size", absl::StrCat(kSuperblockSize), absl::StrCat(sb.superblock_size));
  }
  const uint64_t sum = HeaderChecksum(&sb);
  if (sb.header_checksum != sum) {
    return absl::DataLossError(absl::StrCat("ring ", p, ": superblock field header_checksum: expected ",
                                            Hex(sum), ", found ", Hex(sb.header_checksum),
                                            " (the superblock is corrupt)"));
  }
  if (sb.incompat & ~kKnownIncompat) {
    return Mismatch(p, "incompat", absl::StrCat("no bits outside ", Hex(kKnownIncompat)),
                    Hex(sb.incompat) + " (written by a newer shmring; upgrade this reader)");
  }
  if (!read_only && (sb.ro_compat & ~kKnownRoCompat)) {
    return Mismatch(p, "ro_compat", absl::StrCat("no bits outside ", Hex(kKnownRoCompat), " for a read-write attach"),
                    Hex(sb.ro_compat) + " (attach read-only, or upgrade)");
  }
  if (!IsPowerOfTwo(sb.capacity) || sb.capacity < kMinCapacity || sb.capacity > kMaxCapacity) {
    return Mismatch(p, "capacity", absl::StrCat("a power of two in [", kMinCapacity, ", ", kMaxCapacity, "]"),
                    absl::StrCat(sb.capacity));
  }
  // Up to capacity/2 as 1.0 and 1.1 created them; Create now stops at MaxClaim, and
  // Claim refuses a claim that could never fit (spec/LAYOUT.md §2.3).
  if (sb.max_record == 0 || RecordSize(sb.max_record) > sb.capacity / 2) {
    return Mismatch(p, "max_record", absl::StrCat("1 .. ", sb.capacity / 2 - kRecordHeaderSize),
                    absl::StrCat(sb.max_record));
  }
  if (sb.policy < 1 || sb.policy > 3) {
    return Mismatch(p, "policy", "1 (block), 2 (reject) or 3 (overwrite)", absl::StrCat(sb.policy));
  }
  if (sb.max_producers == 0 || sb.max_producers > kMaxProducers) {
    return Mismatch(p, "max_producers", absl::StrCat("1 .. ", kMaxProducers), absl::StrCat(sb.max_producers));
  }
  if (sb.max_groups == 0 || sb.max_groups > kMaxGroups) {
    return Mismatch(p, "max_groups", absl::StrCat("1 .. ", kMaxGroups), absl::StrCat(sb.max_groups));
  }
  if (sb.producer_slot_size != kProducerSlotSize) {
    return Mismatch(p, "producer_slot_size", absl::StrCat(kProducerSlotSize), absl::StrCat(sb.producer_slot_size));
  }
  if (sb.group_slot_size != kGroupSlotSize) {
    return Mismatch(p, "group_slot_size", absl::StrCat(kGroupSlotSize), absl::StrCat(sb.group_slot_size));
  }
  const Geometry g = Compute(sb.max_producers, sb.max_groups, sb.capacity);
  if (sb.control_offset != kControlOffset) {
    return Mismatch(p, "control_offset", absl::StrCat(kControlOffset), absl::StrCat(sb.control_offset));
  }
  if (sb.producers_offset != g.producers_offset) {
    return Mismatch(p, "producers_offset", absl::StrCat(g.producers_offset), absl::StrCat(sb.producers_offset));
  }
  if (sb.groups_offset != g.groups_offset) {
    return Mismatch(p, "groups_offset", absl::StrCat(g.groups_offset), absl::StrCat(sb.groups_offset));
  }
  if (sb.data_offset != g.data_offset) {
    return Mismatch(p, "data_offset", absl::StrCat(g.data_offset), absl::StrCat(sb.data_offset));
  }
  if (sb.total_size != g.total_size) {
    return Mismatch(p, "total_size", absl::StrCat(g.total_size), absl::StrCat(sb.total_size));
  }
  if (file_size != sb.total_size) {
    return absl::FailedPreconditionError(absl::StrCat("ring ", p, ": file size: expected ", sb.total_size,
                                                      " bytes (superblock total_size), found ", file_size,
                                                      " (truncated or not a complete ring)"));
  }
  if (sb.initial_position % kAlign != 0) {
    return Mismatch(p, "initial_position", "a multiple of 8", absl::StrCat(sb.initial_position));
  }
  if (sb.stale_after_ms == 0 || sb.evict_after_ms == 0 || sb.unblock_after_ms == 0) {
    return Mismatch(p, "stale_after_ms/evict_after_ms/unblock_after_ms", "non-zero timeouts",
                    absl::StrCat(sb.stale_after_ms, "/", sb.evict_after_ms, "/", sb.unblock_after_ms));
  }
  out.sb = sb;
  out.capacity = sb.capacity;
  out.mask = sb.capacity - 1;
  out.header_mask = out.mask & ~uint64_t{kAlign - 1};
  out.max_record = sb.max_record;
  out.policy = static_cast<Policy>(sb.policy);
  out.checksums = (sb.compat & kCompatChecksums) != 0;
  out.batches = (sb.incompat & kIncompatMessageBatches) != 0;
  out.max_producers = sb.max_producers;
  out.max_groups = sb.max_groups;
  out.producers_offset = sb.producers_offset;
  out.groups_offset = sb.groups_offset;
  out.data_offset = sb.data_offset;
  out.initial_position = sb.initial_position;
  out.stale_after_ns = uint64_t{sb.stale_after_ms} * 1000000;
  out.evict_after_ns = uint64_t{sb.evict_after_ms} * 1000000;
  out.unblock_after_ns = uint64_t{sb.unblock_after_ms} * 1000000;
  return absl::OkStatus();
}

Ring::Impl::~Impl() {
  if (base != nullptr) munmap(base, map_size);
  if (fd >= 0) close(fd);
}

std::string Ring::ResolvePath(std::string_view ring) {
  // "/NAME" (one leading slash, no other) is shm_open(3)'s spelling of NAME.
  if (ring.size() > 1 && ring[0] == '/' && ring.find('/', 1) == std::string_view::npos) ring.remove_prefix(1);
  if (ring.find('/') != std::string_view::npos) return std::string(ring);
  return absl::StrCat("/dev/shm/", std::string(ring));
}

uint32_t DefaultMaxRecord(uint64_t capacity) {
  // capacity / 4 - 32 keeps RecordSize within MaxClaim (capacity / 2 - 16) for every
  // capacity >= kMinCapacity; the u32 field (spec/LAYOUT.md §2, byte 48) caps it from 32 GiB up.
  static_assert(RecordSize(kMinCapacity / 4 - kRecordHeaderSize) <= MaxClaim(kMinCapacity),
                "spec/LAYOUT.md §2: the default max_record fits MaxClaim");
  return uint32_t(std::min<uint64_t>(capacity / 4 - kRecordHeaderSize, UINT32_MAX));
}

absl::StatusOr<std::shared_ptr<Ring>> Ring::Create(std::string_view ring, const CreateOptions& o) {
  const std::string path = ResolvePath(ring);
  if (ring.empty()) return absl::InvalidArgumentError("ring name is empty");
  if (!IsPowerOfTwo(o.capacity) || o.capacity < kMinCapacity || o.capacity > kMaxCapacity) {
    return absl::InvalidArgumentError(absl::StrCat("capacity ", o.capacity, ": must be a power of two in [",
                                                   kMinCapacity, ", ", kMaxCapacity, "]"));
  }
  const uint64_t max_record = o.max_record ? o.max_record : DefaultMaxRecord(o.capacity);
  if (RecordSize(max_record) > MaxClaim(o.capacity)) {
    return absl::InvalidArgumentError(absl::StrCat("max_record ", max_record, ": must be at most ",
                                                   MaxClaim(o.capacity) - kRecordHeaderSize, " for capacity ",
                                                   o.capacity, " (the largest record must fit with its padding)"));
  }
  if (o.max_producers == 0 || o.max_producers > kMaxProducers) {
    return absl::InvalidArgumentError(absl::StrCat("max_producers ", o.max_producers, ": must be 1 .. ", kMaxProducers));
  }
  if (o.max_groups == 0 || o.max_groups > kMaxGroups) {
    return absl::InvalidArgumentError(absl::StrCat("max_groups ", o.max_groups, ": must be 1 .. ", kMaxGroups));
  }
  if (o.groups.size() > o.max_groups) {
    return absl::InvalidArgumentError(absl::StrCat(o.groups.size(), " groups given, max_groups is ", o.max_groups));
  }
  for (size_t i = 0; i < o.groups.size(); ++i) {
    SHMRING_RETURN_IF_ERROR(ValidateGroupName(o.groups[i]));
    for (size_t j = 0; j < i; ++j) {
      if (o.groups[i] == o.groups[j]) return absl::InvalidArgumentError(absl::StrCat("group '", o.groups[i], "' given twice"));
    }
  }
  if (o.initial_position % kAlign != 0) {
    return absl::InvalidArgumentError(absl::StrCat("initial_position ", o.initial_position, ": must be a multiple of 8"));
  }
  if (o.stale_after_ms == 0 || o.evict_after_ms == 0 || o.unblock_after_ms == 0) {
    return absl::InvalidArgumentError("timeouts must be non-zero");
  }
  if (o.policy != Policy::kBlock && o.policy != Policy::kReject && o.policy != Policy::kOverwrite) {
    return absl::InvalidArgumentError("unknown policy");
  }
  const Geometry g = Compute(o.max_producers, o.max_groups, o.capacity);

  // Build the file under a temporary name in the same directory, then link it
  // into place: link() fails with EEXIST atomically, and no one ever attaches to
  // a half-initialized ring.
  const size_t slash = path.rfind('/');
  std::random_device rd;
  const std::string tmp = absl::StrCat(path.substr(0, slash + 1), ".", path.substr(slash + 1), ".tmp.",
                                       getpid(), ".", rd());
  const int fd = open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, o.mode & 07777);
  if (fd < 0) return ErrnoStatus(errno, "create ring", path);
  auto fail = [&](absl::Status s) {
    unlink(tmp.c_str());
    close(fd);
    return s;
  };
  if (fchmod(fd, o.mode & 07777) != 0) return fail(ErrnoStatus(errno, "chmod ring", path));
  if (int err = posix_fallocate(fd, 0, off_t(g.total_size)); err != 0) {
    if (err == ENOSPC) {
      return fail(absl::ResourceExhaustedError(absl::StrCat(
          "create ring ", path, ": no space for ", g.total_size, " bytes on its tmpfs (ENOSPC). Docker's and a Pod's "
          "default /dev/shm is 64 MiB: raise it (docker --shm-size, or mount an emptyDir {medium: Memory, sizeLimit}) "
          "or choose a smaller capacity")));
    }
    return fail(ErrnoStatus(err, "reserve pages for ring", path));
  }
  void* m = mmap(nullptr, g.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) return fail(ErrnoStatus(errno, "map ring", path));
  auto* base = static_cast<uint8_t*>(m);
  auto* sb = reinterpret_cast<Superblock*>(base);
  // The file is fresh (fallocate zero-fills), so only non-zero fields are set.
  sb->magic = kMagic;
  sb->major = kMajor;
  sb->minor = kMinor;
  sb->superblock_size = kSuperblockSize;
  sb->compat = o.checksums ? kCompatChecksums : 0;
  sb->incompat = o.message_batches ? kIncompatMessageBatches : 0;
  sb->ro_compat = kRoCompatFences;  // producers honour claim fences (spec/RECOVERY.md §3.7)
  sb->capacity = o.capacity;
  sb->max_record = uint32_t(max_record);
  sb->policy = uint32_t(o.policy);
  sb->max_producers = o.max_producers;
  sb->max_groups = o.max_groups;
  sb->control_offset = kControlOffset;
  sb->producers_offset = g.producers_offset;
  sb->groups_offset = g.groups_offset;
  sb->data_offset = g.data_offset;
  sb->total_size = g.total_size;
  sb->producer_slot_size = kProducerSlotSize;
  sb->group_slot_size = kGroupSlotSize;
  sb->initial_position = o.initial_position;
  sb->creator_pid = getpid();
  sb->creator_uid = getuid();
  sb->creator_pidns = SelfPidNamespace();
  sb->created_realtime_ns = RealtimeNs();
  sb->stale_after_ms = o.stale_after_ms;
  sb->evict_after_ms = o.evict_after_ms;
  sb->unblock_after_ms = o.unblock_after_ms;
  sb->header_checksum = HeaderChecksum(sb);
  auto* ctl = reinterpret_cast<Control*>(base + kControlOffset);
  ctl->tail.store(o.initial_position, std::memory_order_relaxed);
  const uint64_t now = MonotonicNs();
  for (size_t i = 0; i < o.groups.size(); ++i) {
    auto& gs = reinterpret_cast<GroupSlot*>(base + g.groups_offset)[i];
    memcpy(gs.name, o.groups[i].data(), o.groups[i].size());
    gs.cursor.store(o.initial_position, std::memory_order_relaxed);
    gs.heartbeat_ns.store(now, std::memory_order_relaxed);  // eviction clock starts at creation
    gs.state.store(kSlotActive, std::memory_order_relaxed);
  }
  ctl->groups_added.store(o.groups.size(), std::memory_order_relaxed);
  munmap(m, g.total_size);
  if (fsync(fd) != 0) { /* tmpfs: nothing to flush; ignore */ }
  if (link(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    if (err == EEXIST) {
      return fail(absl::AlreadyExistsError(absl::StrCat("create ring ", path,
                                                        ": a file of that name exists (shmctl rm it first)")));
    }
    return fail(ErrnoStatus(err, "publish ring", path));
  }
  unlink(tmp.c_str());
  close(fd);
  return Open(path);
}

absl::StatusOr<std::shared_ptr<Ring>> Ring::Open(std::string_view ring, const OpenOptions& o) {
  auto impl = std::make_unique<Impl>();
  impl->path = ResolvePath(ring);
  impl->read_only = o.read_only;
  const std::string& path = impl->path;
  // O_NONBLOCK: a FIFO planted at the name must not block the open (it is then refused
  // as not a regular file); on a regular file the flag changes nothing.
  impl->fd = open(path.c_str(), (o.read_only ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (impl->fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      return absl::NotFoundError(absl::StrCat("open ring ", path, ": the file is gone (never created, removed "
                                              "with shmctl rm, or deleted by systemd RemoveIPC=yes at logout)"));
    }
    if (err == EACCES) {
      return absl::PermissionDeniedError(absl::StrCat("open ring ", path, ": permission denied (EACCES): the ring's "
                                                      "mode does not let this uid/gid ",
                                                      o.read_only ? "read" : "read and write", " it"));
    }
    return ErrnoStatus(err, "open ring", path);
  }
  struct stat st;
  if (fstat(impl->fd, &st) != 0) return ErrnoStatus(errno, "stat ring", path);
  if (!S_ISREG(st.st_mode)) return absl::InvalidArgumentError(absl::StrCat("ring ", path, ": not a regular file"));
  if (uint64_t(st.st_size) < kSuperblockSize) {
    return absl::FailedPreconditionError(absl::StrCat("ring ", path, ": file size: expected at least ",
                                                      kSuperblockSize, " bytes (a superblock), found ", st.st_size));
  }
  // Read the superblock once into a local copy; everything is validated on the copy.
  Superblock sb;
  if (pread(impl->fd, &sb, sizeof sb, 0) != ssize_t(sizeof sb)) return ErrnoStatus(errno, "read superblock of", path);
  SHMRING_RETURN_IF_ERROR(ValidateSuperblock(sb, uint64_t(st.st_size), o.read_only, *impl));
  const int prot = o.read_only ? PROT_READ : PROT_READ | PROT_WRITE;
  void* m = mmap(nullptr, sb.total_size, prot, MAP_SHARED, impl->fd, 0);
  if (m == MAP_FAILED) return ErrnoStatus(errno, "map ring", path);
  impl->base = static_cast<uint8_t*>(m);
  impl->map_size = sb.total_size;
  return std::make_shared<Ring>(std::move(impl));
}

absl::Status Ring::Remove(std::string_view ring) {
  const std::string path = ResolvePath(ring);
  // The groups' doorbell sockets (RING.GROUP.bell, spec/PROTOCOL.md §7.2) go with the
  // ring; their names come from the ring itself (a group name may contain dots, so a
  // directory scan could match another ring's sockets).
  std::vector<std::string> bells;
  if (auto r = Open(path, {.read_only = true}); r.ok()) {
    for (const GroupStats& g : (*r)->Stats().groups) bells.push_back(DoorbellPath(path, g.name));
  }
  if (unlink(path.c_str()) != 0) {
    const int err = errno;
    if (err == EPERM || err == EACCES) {
      return absl::PermissionDeniedError(absl::StrCat(
          "remove ring ", path, ": ", strerror(err), " (the directory has the sticky bit, as /dev/shm does: only "
          "the ring's owner or root may remove it)"));
    }
    if (err == ENOENT) return absl::NotFoundError(absl::StrCat("remove ring ", path, ": no such ring"));
    return ErrnoStatus(err, "remove ring", path);
  }
  for (const std::string& b : bells) (void)unlink(b.c_str());  // absent unless a doorbell reader ran
  return absl::OkStatus();
}

Ring::Ring(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ring::~Ring() = default;
const std::string& Ring::path() const { return impl_->path; }
uint64_t Ring::capacity() const { return impl_->capacity; }
uint32_t Ring::max_record() const { return impl_->max_record; }
Policy Ring::policy() const { return impl_->policy; }
bool Ring::checksums() const { return impl_->checksums; }
bool Ring::message_batches() const { return impl_->batches; }
bool Ring::read_only() const { return impl_->read_only; }

std::string_view PolicyName(Policy p) {
  switch (p) {
    case Policy::kBlock: return "block";
    case Policy::kReject: return "reject";
    case Policy::kOverwrite: return "overwrite";
  }
  return "unknown";
}

absl::StatusOr<Policy> ParsePolicy(std::string_view name) {
  if (name == "block") return Policy::kBlock;
  if (name == "reject") return Policy::kReject;
  if (name == "overwrite") return Policy::kOverwrite;
  return absl::InvalidArgumentError(absl::StrCat("policy '", std::string(name), "': expected block, reject or overwrite"));
}

}  // namespace shmring
