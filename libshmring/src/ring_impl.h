// Ring::Impl: one mapping of a ring file and typed views of its regions.
// Internal to libshmring.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "layout.h"
#include "shmring/ring.h"

namespace shmring {

struct Ring::Impl {
  std::string path;
  int fd = -1;           // never holds locks: used to test other processes' OFD locks
  uint8_t* base = nullptr;
  uint64_t map_size = 0;
  bool read_only = false;

  // Copied out of the superblock once, after validation (the superblock is never
  // trusted again: a hostile writer could change it under us).
  uint64_t capacity = 0, mask = 0;
  // mask with the low 3 bits cleared: header_at never forms a misaligned header
  // reference, whatever position a hostile writer left in a shared field.
  uint64_t header_mask = 0;
  uint32_t max_record = 0;
  Policy policy = Policy::kBlock;
  bool checksums = false;
  bool batches = false;  // incompat MESSAGE_BATCHES: records may be message batches (spec/LAYOUT.md §6.4)
  uint32_t max_producers = 0, max_groups = 0;
  uint64_t producers_offset = 0, groups_offset = 0, data_offset = 0;
  uint64_t initial_position = 0;
  uint64_t stale_after_ns = 0, evict_after_ns = 0, unblock_after_ns = 0;

  std::mutex groups_mu;  // serializes AddGroup/RemoveGroup within this process

  ~Impl();

  layout::Superblock sb{};  // validated copy, read once at attach; the mapped one is never read again
  const layout::Superblock& super() const { return sb; }
  layout::Control& control() const {
    return *reinterpret_cast<layout::Control*>(base + layout::kControlOffset);
  }
  layout::ProducerSlot& producer(uint32_t i) const {
    return reinterpret_cast<layout::ProducerSlot*>(base + producers_offset)[i];
  }
  layout::GroupSlot& group(uint32_t i) const {
    return reinterpret_cast<layout::GroupSlot*>(base + groups_offset)[i];
  }
  uint8_t* data() const { return base + data_offset; }
  layout::RecordHeader& header_at(uint64_t pos) const {
    return *reinterpret_cast<layout::RecordHeader*>(data() + (pos & header_mask));
  }
  // File offsets of the lock bytes (spec/RECOVERY.md §1): one per slot.
  uint64_t producer_lock_byte(uint32_t i) const { return producers_offset + uint64_t{i} * layout::kProducerSlotSize; }
  // Held by whoever reclaims producer slot i's claim (dead or stale owner): one at a time.
  uint64_t reclaim_lock_byte(uint32_t i) const { return producer_lock_byte(i) + 1; }
  uint64_t group_lock_byte(uint32_t i) const { return groups_offset + uint64_t{i} * layout::kGroupSlotSize; }
};

}  // namespace shmring
