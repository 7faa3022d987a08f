// Producer::Impl, shared by producer.cc (hot path) and producer_room.cc (space).
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "doorbell.h"
#include "liveness.h"
#include "ring_impl.h"
#include "shmring/producer.h"

namespace shmring {

struct Producer::Impl {
  std::shared_ptr<Ring> ring;
  Ring::Impl& r;
  uint32_t index;
  layout::ProducerSlot& slot;
  uint32_t producer_id;  // index | (generation & 0xffff) << 16, stamped in headers
  SlotLock lock;
  ProducerOptions options;
  uint64_t limit;  // cached smallest gating cursor (only ever too low: conservative)
  uint32_t since_heartbeat = 0;
  uint64_t stuck_pos = ~uint64_t{0}, stuck_since = 0;  // where MakeRoom last met an unfinished record, since when
  bool outstanding = false;
  DoorbellClients bells;  // one reservation at a time: the slot has one intent
  // The parts vector of the last settled BatchReservation, reused by the next one
  // (no allocation per batch once it has grown).
  std::vector<BatchReservation::Part> spare_parts;

  Impl(std::shared_ptr<Ring> rg, uint32_t idx, SlotLock l, ProducerOptions o);

  // Claims `size` bytes (plus padding if they would cross the wrap). Returns the
  // record position. Counts a failure as `dropped`.
  absl::StatusOr<uint64_t> Claim(uint64_t size, std::chrono::nanoseconds timeout);
  // Writes a busy header for a record of `len` bytes at `pos` (a batch record: flags
  // kFlagBatch and its message count).
  void WriteBusy(uint64_t pos, uint32_t len, uint16_t type, uint16_t flags = 0, uint32_t messages = 0);
  // Checks and claims a batch record of `payload` bytes holding `count` messages;
  // returns its position with the busy header written.
  absl::StatusOr<uint64_t> ClaimMessages(uint64_t payload, size_t count, uint16_t type);
  absl::Status CommitOne(uint64_t pos, uint32_t len);
  void AbortOne(uint64_t pos);
  void ClearIntent();
  void MaybeWake();
  void RingBells();

  // producer_room.cc
  // Smallest cursor among gating groups, relative to `tail`.
  uint64_t GatingHead(uint64_t tail);
  void NoteDepth(uint64_t end);
  // The nearest lap of another producer's confirmed claim in flight at or after `t`
  // (claim fences, spec/RECOVERY.md §3.7).
  struct Fence {
    bool any = false;     // some confirmed claim of another slot is in flight
    bool inside = false;  // t lies inside a lap of it: skip to `end`
    uint64_t gate = 0;    // acts like a cursor: claims end a header short of a lap past it (inside: t - capacity)
    uint64_t end = 0;     // end of the fenced bytes after gate + capacity (or of the lap t is in)
    uint32_t slot = 0;
  };
  Fence NextFence(uint64_t t);
  // The cached limit: the older of the gating head and the nearest fence's gate.
  // Also returns the head and the fence, for the claim's slow path.
  uint64_t Limit(uint64_t t, uint64_t* head = nullptr, Fence* fence = nullptr);
  // The padding header of a claim at `pos` that pads `pad` bytes to the wrap
  // (spec/LAYOUT.md §6.2; nothing for fewer than a header's bytes).
  void WritePadding(uint64_t pos, uint64_t pad);
  // Claims [t, f.end) as skip records (padding at the wrap) over a fence lap:
  // 1 done, 0 look again (another producer moved the tail first: *t reloaded; or
  // the fence's owner was dead and its claim is now settled), -1 cannot
  // (a fence no honest producer leaves, or one over 1 GiB).
  int BurnFence(uint64_t* t, const Fence& f);
  // Makes room so that a claim ending at `end` fits (policy-specific).
  absl::Status MakeRoom(uint64_t end, uint64_t deadline_ns);
  // Moves group `g`'s cursor to at least `target` over readable records; false if blocked.
  bool AdvanceGroup(uint32_t g, uint64_t target, bool only_if_evicted, uint64_t* stuck_at);
  bool HasRoom(uint64_t end);
};

}  // namespace shmring
