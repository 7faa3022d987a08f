// Producer::Impl, shared by producer.cc (hot path) and producer_room.cc (space).
#pragma once

#include <chrono>
#include <memory>

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
  bool outstanding = false;
  DoorbellClients bells;  // one reservation at a time: the slot has one intent

  Impl(std::shared_ptr<Ring> rg, uint32_t idx, SlotLock l, ProducerOptions o);

  // Claims `size` bytes (plus padding if they would cross the wrap). Returns the
  // record position. Counts a failure as `dropped`.
  absl::StatusOr<uint64_t> Claim(uint64_t size, std::chrono::nanoseconds timeout);
  // Writes a busy header for a record of `len` bytes at `pos`.
  void WriteBusy(uint64_t pos, uint32_t len, uint16_t type);
  absl::Status CommitOne(uint64_t pos, uint32_t len);
  void AbortOne(uint64_t pos);
  void ClearIntent();
  void MaybeWake();
  void RingBells();

  // producer_room.cc
  // Smallest cursor among gating groups, relative to `tail`.
  uint64_t GatingHead(uint64_t tail);
  // Makes room so that a claim ending at `end` fits (policy-specific).
  absl::Status MakeRoom(uint64_t end, uint64_t deadline_ns);
  // Moves group `g`'s cursor to at least `target` over readable records; false if blocked.
  bool AdvanceGroup(uint32_t g, uint64_t target, bool only_if_evicted, uint64_t* stuck_at);
  void TryEvict(uint32_t g, uint64_t now);
  bool HasRoom(uint64_t end);
};

}  // namespace shmring
