// shmring: a lock-free shared-memory ring for processes and containers on one host.
//
// A Ring is a file under /dev/shm (by NAME) or any tmpfs path (a PATH with a
// '/'), laid out as spec/LAYOUT.md says. Producers (producer.h) claim and
// commit records; readers (reader.h) consume them per named group.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "shmring/export.h"

namespace shmring {

// The ring layout this library reads and writes (spec/LAYOUT.md §2).
inline constexpr uint16_t kLayoutMajor = 1;
inline constexpr uint16_t kLayoutMinor = 2;

// What a producer does when the slowest gating group leaves no room.
enum class Policy : uint32_t {
  kBlock = 1,      // wait for room until the deadline, then DeadlineExceeded (counted as dropped)
  kReject = 2,     // fail at once with ResourceExhausted (counted as dropped)
  kOverwrite = 3,  // move lagging groups past the oldest records (counted per group as overwritten)
};
[[nodiscard]] SHMRING_EXPORT std::string_view PolicyName(Policy p);
[[nodiscard]] SHMRING_EXPORT absl::StatusOr<Policy> ParsePolicy(std::string_view name);

// The max_record a ring of `capacity` gets when CreateOptions::max_record is 0:
// capacity / 4 - 32, but at most 4294967295 (max_record is a u32, spec/LAYOUT.md §2),
// which rings of 32 GiB and more reach.
[[nodiscard]] SHMRING_EXPORT uint32_t DefaultMaxRecord(uint64_t capacity);

struct CreateOptions {
  uint64_t capacity = 1 << 20;  // data-area bytes: a power of two, 4 KiB .. 1 TiB
  uint32_t max_record = 0;      // largest payload; 0 means DefaultMaxRecord(capacity)
  Policy policy = Policy::kBlock;
  uint32_t max_producers = 64;  // 1 .. 1024
  uint32_t max_groups = 16;     // 1 .. 256
  mode_t mode = 0600;           // file mode (0660 to share with a group)
  bool checksums = true;        // XXH3 per record
  // Allows message batches (Producer::WriteMessages: many small messages in one
  // record). Sets an incompat feature bit: libraries older than layout 1.2 refuse the ring.
  bool message_batches = false;
  std::vector<std::string> groups;  // consumer groups created with the ring, starting at initial_position
  uint64_t initial_position = 0;    // first position (a multiple of 8); tests start near 2^64
  uint32_t stale_after_ms = 5000;   // heartbeat older than this: stale
  uint32_t evict_after_ms = 10000;  // a group without a live reader this long stops gating
  uint32_t unblock_after_ms = 30000;  // a live producer that holds a claim this long (stuck reader, no heartbeat) loses it
};

struct OpenOptions {
  bool read_only = false;  // map read-only: tools that only look (stat, ls, verify)
};

struct RingStats;  // stats.h

// What Ring::Verify found walking every record and slot (read-only).
struct VerifyReport {
  uint64_t from = 0, to = 0;  // positions walked: oldest group cursor .. tail
  uint64_t records = 0, bytes = 0, padding = 0, skipped = 0, abandoned = 0, in_flight = 0;
  uint64_t messages = 0;  // messages inside the batch records among `records` (spec/LAYOUT.md §6.4)
  std::vector<std::string> problems;  // each names the position or slot and what was wrong
  [[nodiscard]] bool ok() const { return problems.empty(); }
};

// One record copied by Ring::Peek (one per message of a batch record).
struct PeekedRecord {
  uint64_t position = 0;
  uint16_t type = 0;
  uint32_t producer = 0;
  std::string payload;
};

// What Ring::Recover did.
struct RecoverReport {
  uint64_t claims_settled = 0;     // in-flight claims of dead producers looked at
  uint64_t records_abandoned = 0;  // records turned into abandoned (skip) records
  uint64_t slots_freed = 0;        // slots of dead producers marked FREE (after their claim was settled)
  uint64_t claims_unsettled = 0;   // dead claims left for the reader stuck at them (spec/RECOVERY.md §3.4)
  uint64_t groups_evicted = 0;     // groups without a live reader past evict_after_ms, evicted (spec/RECOVERY.md §4.1)
};

class SHMRING_EXPORT Ring {
 public:
  // Creates a new ring; fails with AlreadyExists if the file exists, and with
  // ResourceExhausted (and advice) if the tmpfs cannot hold it.
  [[nodiscard]] static absl::StatusOr<std::shared_ptr<Ring>> Create(std::string_view ring,
                                                                    const CreateOptions& options);
  // Attaches to an existing ring after validating every superblock field.
  [[nodiscard]] static absl::StatusOr<std::shared_ptr<Ring>> Open(std::string_view ring,
                                                                  const OpenOptions& options = {});
  // Unlinks a ring file (mapped rings keep working in the processes that have them).
  [[nodiscard]] static absl::Status Remove(std::string_view ring);
  // NAME and /NAME (shm_open spelling) -> /dev/shm/NAME; any other argument with a '/' is a path, as is.
  [[nodiscard]] static std::string ResolvePath(std::string_view ring);

  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // Adds a consumer group that starts at the current tail (sees records committed from now on).
  [[nodiscard]] absl::StatusOr<uint32_t> AddGroup(std::string_view name);
  // Removes a group that has no live reader; its slot can be reused.
  [[nodiscard]] absl::Status RemoveGroup(std::string_view name);
  // Index of a named group, or NotFound.
  [[nodiscard]] absl::StatusOr<uint32_t> FindGroup(std::string_view name) const;

  [[nodiscard]] RingStats Stats() const;
  // Walks every record from the oldest group cursor to the tail and every slot,
  // checking headers, bounds and checksums. Safe on a live or hostile ring.
  [[nodiscard]] VerifyReport Verify() const;
  // Settles the in-flight claims of every dead producer (what a stuck reader would
  // do on its own), e.g. after all processes of a ring were killed, and evicts every
  // group whose reader is dead past evict_after_ms (what a blocked producer would do).
  [[nodiscard]] absl::StatusOr<RecoverReport> Recover();
  // Copies up to `max` committed records, oldest first (from the oldest group cursor),
  // without moving any cursor: a non-destructive look for tools. Each copy is checked
  // against its checksum and header after copying; records overwritten meanwhile are
  // left out. Works on read-only rings.
  [[nodiscard]] std::vector<PeekedRecord> Peek(size_t max) const;

  [[nodiscard]] const std::string& path() const;
  [[nodiscard]] uint64_t capacity() const;
  [[nodiscard]] uint32_t max_record() const;
  [[nodiscard]] Policy policy() const;
  [[nodiscard]] bool checksums() const;
  [[nodiscard]] bool message_batches() const;
  [[nodiscard]] bool read_only() const;

  struct SHMRING_LOCAL Impl;  // libshmring/src/ring_impl.h
  Impl& impl() const { return *impl_; }
  explicit Ring(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace shmring

#include "shmring/stats.h"  // RingStats, returned by Ring::Stats()
