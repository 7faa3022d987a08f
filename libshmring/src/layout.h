// The on-memory layout of a shmring ring, version 1.2.
//
// Every struct here mirrors a table in spec/LAYOUT.md; the static_asserts at
// the bottom cite the section they check. Shared fields are std::atomic so that
// every access is explicit about its ordering; the other process is untrusted,
// so readers load a field once into a local, validate it, then use it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace shmring::layout {

inline constexpr uint64_t kMagic = 0x00474e49524d4853ull;  // "SHMRING\0" little-endian
inline constexpr uint16_t kMajor = 1;
inline constexpr uint16_t kMinor = 2;

// Feature bits (spec/LAYOUT.md §2.2). Unknown incompat bits refuse any attach,
// unknown ro_compat bits refuse a read-write attach, unknown compat bits are ignored.
inline constexpr uint64_t kCompatChecksums = 1u << 0;
inline constexpr uint64_t kKnownCompat = kCompatChecksums;
// Producers never claim bytes of another producer's confirmed claim in flight
// (claim fences, spec/RECOVERY.md §3.7): a library that does not honour them may
// only read, since a stale producer's claim can be reclaimed while it still writes.
inline constexpr uint64_t kRoCompatFences = 1u << 0;
inline constexpr uint64_t kKnownRoCompat = kRoCompatFences;
// Records may be message batches (spec/LAYOUT.md §6.4): a reader that does not know
// the format would hand a whole batch to its application as one opaque record.
inline constexpr uint64_t kIncompatMessageBatches = 1u << 0;
inline constexpr uint64_t kKnownIncompat = kIncompatMessageBatches;

inline constexpr uint64_t kPage = 4096;
inline constexpr uint64_t kSuperblockSize = 4096;
inline constexpr uint64_t kControlOffset = 4096;
inline constexpr uint64_t kControlSize = 4096;
inline constexpr uint64_t kProducerSlotSize = 256;
inline constexpr uint64_t kGroupSlotSize = 256;
inline constexpr uint64_t kMinCapacity = 4096;
inline constexpr uint64_t kMaxCapacity = 1ull << 40;
inline constexpr uint32_t kMaxProducers = 1024;
inline constexpr uint32_t kMaxGroups = 256;
inline constexpr size_t kGroupNameMax = 63;
inline constexpr uint64_t kHeaderChecksumOffset = 160;

// §2 Superblock, at offset 0. Written once by the creator before the file is
// published (link() into place), never modified afterwards.
struct Superblock {
  uint64_t magic;             // 0
  uint16_t major;             // 8
  uint16_t minor;             // 10
  uint32_t superblock_size;   // 12
  uint64_t compat;            // 16
  uint64_t ro_compat;         // 24
  uint64_t incompat;          // 32
  uint64_t capacity;          // 40  data area bytes, power of two
  uint32_t max_record;        // 48  largest payload in bytes
  uint32_t policy;            // 52  1 block, 2 reject, 3 overwrite
  uint32_t max_producers;     // 56
  uint32_t max_groups;        // 60
  uint64_t control_offset;    // 64
  uint64_t producers_offset;  // 72
  uint64_t groups_offset;     // 80
  uint64_t data_offset;       // 88
  uint64_t total_size;        // 96
  uint32_t producer_slot_size;  // 104
  uint32_t group_slot_size;     // 108
  uint64_t initial_position;    // 112
  int32_t creator_pid;          // 120
  uint32_t creator_uid;         // 124
  uint64_t creator_pidns;       // 128
  uint64_t created_realtime_ns;  // 136
  uint32_t stale_after_ms;       // 144
  uint32_t evict_after_ms;       // 148
  uint32_t unblock_after_ms;     // 152
  uint32_t reserved0;            // 156
  uint64_t header_checksum;      // 160  XXH3-64 of bytes [0,160), seed 0
  uint8_t reserved[kSuperblockSize - 168];  // 168 zero
};

// §3 Control block, at offset 4096. Each hot word sits alone on a 128-byte
// line (two cache lines: the adjacent-line prefetcher pulls pairs).
struct Control {
  std::atomic<uint64_t> tail;  // 0   next position to claim (ever increasing)
  uint8_t pad0[120];
  std::atomic<uint32_t> data_seq;      // 128 futex word: bumped when records become readable
  std::atomic<uint32_t> data_waiters;  // 132 readers parked (or about to park) on data_seq
  std::atomic<uint32_t> bell_waiters;  // 136 doorbell readers armed (spec/PROTOCOL.md §7.2)
  uint8_t pad1[116];
  std::atomic<uint32_t> space_seq;      // 256 futex word: bumped when a cursor moves
  std::atomic<uint32_t> space_waiters;  // 260 producers parked on space_seq
  uint8_t pad2[120];
  std::atomic<uint64_t> high_water;      // 384 largest depth (bytes) a producer saw
  std::atomic<uint64_t> groups_added;    // 392
  std::atomic<uint64_t> groups_removed;  // 400
  std::atomic<uint64_t> evictions;       // 408
  std::atomic<uint64_t> reclaims;        // 416 dead claims turned into skip records
  std::atomic<uint64_t> recoveries;      // 424 Ring::Recover calls that settled at least one claim
  std::atomic<uint64_t> unblocks;        // 432 stale (live) producers' claims reclaimed after unblock_after_ms
  std::atomic<uint64_t> fence_skips;     // 440 skip records producers wrote over a lap of a fenced claim
  uint8_t pad3[kControlSize - 448];
};

// §4 Producer slot (256 bytes each, max_producers of them).
enum SlotState : uint32_t { kSlotFree = 0, kSlotActive = 1, kSlotInit = 2 };

struct ProducerSlot {
  std::atomic<uint32_t> state;       // 0
  std::atomic<uint32_t> generation;  // 4  bumped by every new owner
  std::atomic<int32_t> pid;          // 8
  std::atomic<uint32_t> uid;         // 12
  std::atomic<uint64_t> pidns;       // 16 inode of /proc/self/ns/pid
  std::atomic<uint64_t> start_ns;    // 24 CLOCK_MONOTONIC at attach
  std::atomic<uint64_t> heartbeat_ns;  // 32 CLOCK_MONOTONIC, refreshed every kHeartbeatEvery records
  std::atomic<uint64_t> claim_pos;   // 40 intent: position of the claim in flight
  std::atomic<uint64_t> claim_len;   // 48 intent: bytes of that claim (0: none)
  uint8_t pad0[8];
  // counters, written by the owner only (relaxed), read by anyone
  std::atomic<uint64_t> committed;       // 64 records
  std::atomic<uint64_t> committed_bytes;  // 72 payload bytes
  std::atomic<uint64_t> dropped;         // 80 records refused (reject, block deadline, overwrite stuck)
  std::atomic<uint64_t> aborted;         // 88 records claimed then aborted
  std::atomic<uint64_t> blocked_ns;      // 96 time spent waiting for space
  std::atomic<uint64_t> wakeups;         // 104 futex wakes issued
  std::atomic<uint64_t> abandoned;       // 112 records of this slot reclaimed (owner dead, or stale: unblocked)
  std::atomic<uint64_t> bell_failures;   // 120 doorbells it could not ring (socket unreachable)
  // Counter journals (spec/RECOVERY.md §2.1): before a counted header CAS, its writer
  // saves the counter it is about to bump and the word the CAS will publish; whoever
  // settles the slot after a kill restores the counter if the header shows the CAS
  // did not happen. Two journals with one writer each: the owner's (commit, abort)
  // and the reclaimers' (abandon; they hold the slot's reclaim lock byte).
  std::atomic<uint64_t> pend_committed;  // 128 `committed` before the commit in flight
  std::atomic<uint64_t> pend_bytes;      // 136 `committed_bytes` before it
  std::atomic<uint64_t> pend_aborted;    // 144 `aborted` before the abort in flight
  std::atomic<uint64_t> pend_abandoned;  // 152 `abandoned` before the reclaimer's CAS in flight
  std::atomic<uint64_t> pend_word;       // 160 owner journal: the word its CAS publishes; 0: none
  std::atomic<uint64_t> reclaim_word;    // 168 reclaimer journal: the word its CAS publishes; 0: none
  std::atomic<uint64_t> unblocked;       // 176 of `abandoned`, records taken from a live (stale) owner
  std::atomic<uint64_t> pend_unblocked;  // 184 `unblocked` before the reclaimer's CAS in flight
  // The header word a fence skip overwrote: the only header of a fenced claim that
  // a skip can land on is a record at a lap's start (spec/RECOVERY.md §3.7), and
  // settling a journal needs the word that was there. Written by that skip's producer.
  std::atomic<uint64_t> fence_word;      // 192
  uint8_t pad1[kProducerSlotSize - 200];
};

// §5 Group slot (256 bytes each, max_groups of them).
struct GroupSlot {
  std::atomic<uint64_t> cursor;  // 0  position | kCursorEvicted? | (reader generation & 3)
  // Commit journal (spec/RECOVERY.md §4.5): written by the reader before each cursor
  // CAS, so that a reader killed between the CAS and its counter stores is settled
  // exactly by the next reader. Counters are absolute values (idempotent to apply).
  std::atomic<uint32_t> journal_state;    // 8  0 empty, 1 a commit is in flight
  std::atomic<uint32_t> journal_outcome;  // 12 set by the first producer that moves the cursor meanwhile
  std::atomic<uint64_t> journal_from;     // 16 cursor word before the CAS
  std::atomic<uint64_t> journal_to;       // 24 cursor word after the CAS
  std::atomic<uint64_t> journal_delivered;  // 32 `delivered` once the CAS succeeded
  std::atomic<uint64_t> journal_bytes;      // 40 `delivered_bytes` once the CAS succeeded
  std::atomic<uint64_t> journal_corrupt;    // 48 `corrupt` once the CAS succeeded
  std::atomic<uint64_t> journal_abandoned;  // 56 `abandoned` once the CAS succeeded
  std::atomic<uint32_t> state;       // 64 kSlotFree / kSlotInit / kSlotActive
  std::atomic<uint32_t> generation;  // 68 reader lease, bumped by every new reader
  std::atomic<int32_t> pid;          // 72 reader pid (0: none)
  std::atomic<uint32_t> uid;         // 76
  std::atomic<uint64_t> pidns;       // 80
  std::atomic<uint64_t> heartbeat_ns;  // 88
  std::atomic<uint64_t> start_ns;      // 96
  std::atomic<uint64_t> delivered;     // 104 records (reader-written)
  std::atomic<uint64_t> delivered_bytes;  // 112
  std::atomic<uint64_t> corrupt;       // 120 records skipped as corrupt (reader-written)
  std::atomic<uint64_t> overwritten;   // 128 records skipped by overwriting producers
  std::atomic<uint64_t> evictions;     // 136 times this group stopped gating (no live reader for evict_after_ms)
  std::atomic<uint64_t> seen_overwritten;  // 144 `overwritten` as the last reader saw it (lost-while-away report)
  std::atomic<uint64_t> abandoned;     // 152 abandoned (dead producer) records this group's readers passed
  char name[kGroupNameMax + 1];        // 160 NUL-terminated
  std::atomic<uint32_t> reader_waiting;  // 224 doorbell: 0 idle, 1 armed (reader waits), 2 rung
  std::atomic<uint32_t> doorbell_gen;    // 228 generation of the reader serving a doorbell socket, 0: none
  std::atomic<uint64_t> stuck_pos;       // 232 where the group's head last got stuck (not ready, tail past it)
  std::atomic<uint64_t> stuck_since_ns;  // 240 CLOCK_MONOTONIC since then, kept across reader restarts
  uint8_t pad1[kGroupSlotSize - 248];
};

// §6 Record header, 32 bytes, 8-aligned, at every record position.
enum RecordState : uint64_t {
  kBusy = 1,       // claimed, being written
  kCommitted = 2,  // data record, readable
  kPadding = 3,    // fills the rest of the lap, no payload
  kSkip = 4,       // aborted claim: length valid, no payload to deliver
  kAbandoned = 5,  // claim of a dead producer, reclaimed: length valid, counted as abandoned
};
// Cursor word (spec/LAYOUT.md §5.1): the position is 8-aligned, so the low bits carry
// the reader lease generation (fencing zombies) and the evicted flag.
inline constexpr uint64_t kCursorGenMask = 3;
inline constexpr uint64_t kCursorEvicted = 4;
inline constexpr uint64_t kCursorTagMask = 7;
// journal_outcome values (spec/RECOVERY.md §4.5).
inline constexpr uint32_t kJournalUnknown = 0;
inline constexpr uint32_t kJournalHappened = 1;     // a producer moved the cursor from journal_to
inline constexpr uint32_t kJournalNotHappened = 2;  // a producer moved the cursor from journal_from
// Producer intent (spec/RECOVERY.md §2): claim_len's top bit says the tail CAS succeeded.
inline constexpr uint64_t kIntentConfirmed = 1ull << 63;
inline constexpr uint64_t kStateMask = 7;
inline constexpr uint64_t kRecordHeaderSize = 32;
inline constexpr uint64_t kAlign = 8;

struct RecordHeader {
  std::atomic<uint64_t> word;  // 0  (position & ~7) | state
  uint64_t checksum;           // 8  XXH3-64 of bytes [16, 32+len), seed = position
  uint32_t len;                // 16 payload bytes
  uint16_t type;               // 20
  uint16_t flags;              // 22
  uint32_t producer;           // 24 slot index | (slot generation & 0xffff) << 16
  uint32_t messages;           // 28 batch records: number of messages (§6.4); otherwise 0
};
// Record header flags (spec/LAYOUT.md §6).
inline constexpr uint16_t kFlagBatch = 1;  // the payload is a message batch (§6.4)

// §6.4 Message entry: the payload of a batch record is a sequence of these, each
// followed by its message's bytes and padded to 8.
struct MessageHeader {
  uint32_t len;    // 0 message bytes
  uint16_t type;   // 4
  uint16_t flags;  // 6 0 in version 1.2
};
inline constexpr uint64_t kMessageHeaderSize = 8;

constexpr uint64_t AlignUp(uint64_t v) { return (v + kAlign - 1) & ~(kAlign - 1); }
constexpr uint64_t RecordSize(uint64_t len) { return AlignUp(kRecordHeaderSize + len); }
constexpr uint64_t MessageSize(uint64_t len) { return AlignUp(kMessageHeaderSize + len); }
// The largest claim (a record, or a ReserveBatch) that always fits an empty ring
// wherever the tail stands (spec/PROTOCOL.md §3): its padding to the wrap is at most
// size - 8, and a claim stays a header (32 bytes) short of a lap, so
// 2·size - 8 + 32 <= capacity, i.e. size <= capacity/2 - 12, rounded down to 8.
constexpr uint64_t MaxClaim(uint64_t capacity) { return capacity / 2 - 16; }

static_assert(sizeof(Superblock) == kSuperblockSize, "spec/LAYOUT.md §2: superblock is 4096 bytes");
static_assert(offsetof(Superblock, header_checksum) == kHeaderChecksumOffset, "spec/LAYOUT.md §2");
static_assert(sizeof(Control) == kControlSize, "spec/LAYOUT.md §3: control block is 4096 bytes");
static_assert(sizeof(ProducerSlot) == kProducerSlotSize, "spec/LAYOUT.md §4: producer slot is 256 bytes");
static_assert(sizeof(GroupSlot) == kGroupSlotSize, "spec/LAYOUT.md §5: group slot is 256 bytes");
static_assert(sizeof(RecordHeader) == kRecordHeaderSize, "spec/LAYOUT.md §6: record header is 32 bytes");
static_assert(sizeof(MessageHeader) == kMessageHeaderSize && offsetof(MessageHeader, type) == 4,
              "spec/LAYOUT.md §6.4: message entry header is 8 bytes");
// Every field at the offset its spec table gives (one line per struct, by section;
// tests/spec/layout_offsets_check.py checks these against spec/LAYOUT.md's tables).
#define SHMRING_AT(S, f, off) static_assert(offsetof(S, f) == (off), "spec/LAYOUT.md: " #S "." #f " at " #off)
// spec/LAYOUT.md §2
SHMRING_AT(Superblock, magic, 0); SHMRING_AT(Superblock, major, 8); SHMRING_AT(Superblock, minor, 10);
SHMRING_AT(Superblock, superblock_size, 12); SHMRING_AT(Superblock, compat, 16);
SHMRING_AT(Superblock, ro_compat, 24); SHMRING_AT(Superblock, incompat, 32); SHMRING_AT(Superblock, capacity, 40);
SHMRING_AT(Superblock, max_record, 48); SHMRING_AT(Superblock, policy, 52);
SHMRING_AT(Superblock, max_producers, 56); SHMRING_AT(Superblock, max_groups, 60);
SHMRING_AT(Superblock, control_offset, 64); SHMRING_AT(Superblock, producers_offset, 72);
SHMRING_AT(Superblock, groups_offset, 80); SHMRING_AT(Superblock, data_offset, 88);
SHMRING_AT(Superblock, total_size, 96); SHMRING_AT(Superblock, producer_slot_size, 104);
SHMRING_AT(Superblock, group_slot_size, 108); SHMRING_AT(Superblock, initial_position, 112);
SHMRING_AT(Superblock, creator_pid, 120); SHMRING_AT(Superblock, creator_uid, 124);
SHMRING_AT(Superblock, creator_pidns, 128); SHMRING_AT(Superblock, created_realtime_ns, 136);
SHMRING_AT(Superblock, stale_after_ms, 144); SHMRING_AT(Superblock, evict_after_ms, 148);
SHMRING_AT(Superblock, unblock_after_ms, 152); SHMRING_AT(Superblock, reserved0, 156);
SHMRING_AT(Superblock, header_checksum, 160); SHMRING_AT(Superblock, reserved, 168);
// spec/LAYOUT.md §3
SHMRING_AT(Control, tail, 0); SHMRING_AT(Control, data_seq, 128); SHMRING_AT(Control, data_waiters, 132);
SHMRING_AT(Control, bell_waiters, 136); SHMRING_AT(Control, space_seq, 256); SHMRING_AT(Control, space_waiters, 260);
SHMRING_AT(Control, high_water, 384); SHMRING_AT(Control, groups_added, 392);
SHMRING_AT(Control, groups_removed, 400); SHMRING_AT(Control, evictions, 408); SHMRING_AT(Control, reclaims, 416);
SHMRING_AT(Control, recoveries, 424); SHMRING_AT(Control, unblocks, 432); SHMRING_AT(Control, fence_skips, 440);
// spec/LAYOUT.md §4
SHMRING_AT(ProducerSlot, state, 0); SHMRING_AT(ProducerSlot, generation, 4); SHMRING_AT(ProducerSlot, pid, 8);
SHMRING_AT(ProducerSlot, uid, 12); SHMRING_AT(ProducerSlot, pidns, 16); SHMRING_AT(ProducerSlot, start_ns, 24);
SHMRING_AT(ProducerSlot, heartbeat_ns, 32); SHMRING_AT(ProducerSlot, claim_pos, 40);
SHMRING_AT(ProducerSlot, claim_len, 48); SHMRING_AT(ProducerSlot, committed, 64);
SHMRING_AT(ProducerSlot, committed_bytes, 72); SHMRING_AT(ProducerSlot, dropped, 80);
SHMRING_AT(ProducerSlot, aborted, 88); SHMRING_AT(ProducerSlot, blocked_ns, 96);
SHMRING_AT(ProducerSlot, wakeups, 104); SHMRING_AT(ProducerSlot, abandoned, 112);
SHMRING_AT(ProducerSlot, bell_failures, 120); SHMRING_AT(ProducerSlot, pend_committed, 128);
SHMRING_AT(ProducerSlot, pend_bytes, 136); SHMRING_AT(ProducerSlot, pend_aborted, 144);
SHMRING_AT(ProducerSlot, pend_abandoned, 152); SHMRING_AT(ProducerSlot, pend_word, 160);
SHMRING_AT(ProducerSlot, reclaim_word, 168); SHMRING_AT(ProducerSlot, unblocked, 176);
SHMRING_AT(ProducerSlot, pend_unblocked, 184); SHMRING_AT(ProducerSlot, fence_word, 192);
// spec/LAYOUT.md §5
SHMRING_AT(GroupSlot, cursor, 0); SHMRING_AT(GroupSlot, journal_state, 8);
SHMRING_AT(GroupSlot, journal_outcome, 12); SHMRING_AT(GroupSlot, journal_from, 16);
SHMRING_AT(GroupSlot, journal_to, 24); SHMRING_AT(GroupSlot, journal_delivered, 32);
SHMRING_AT(GroupSlot, journal_bytes, 40); SHMRING_AT(GroupSlot, journal_corrupt, 48);
SHMRING_AT(GroupSlot, journal_abandoned, 56); SHMRING_AT(GroupSlot, state, 64);
SHMRING_AT(GroupSlot, generation, 68); SHMRING_AT(GroupSlot, pid, 72); SHMRING_AT(GroupSlot, uid, 76);
SHMRING_AT(GroupSlot, pidns, 80); SHMRING_AT(GroupSlot, heartbeat_ns, 88); SHMRING_AT(GroupSlot, start_ns, 96);
SHMRING_AT(GroupSlot, delivered, 104); SHMRING_AT(GroupSlot, delivered_bytes, 112);
SHMRING_AT(GroupSlot, corrupt, 120); SHMRING_AT(GroupSlot, overwritten, 128); SHMRING_AT(GroupSlot, evictions, 136);
SHMRING_AT(GroupSlot, seen_overwritten, 144); SHMRING_AT(GroupSlot, abandoned, 152);
SHMRING_AT(GroupSlot, name, 160); SHMRING_AT(GroupSlot, reader_waiting, 224);
SHMRING_AT(GroupSlot, doorbell_gen, 228); SHMRING_AT(GroupSlot, stuck_pos, 232);
SHMRING_AT(GroupSlot, stuck_since_ns, 240);
// spec/LAYOUT.md §6
SHMRING_AT(RecordHeader, word, 0); SHMRING_AT(RecordHeader, checksum, 8); SHMRING_AT(RecordHeader, len, 16);
SHMRING_AT(RecordHeader, type, 20); SHMRING_AT(RecordHeader, flags, 22); SHMRING_AT(RecordHeader, producer, 24);
SHMRING_AT(RecordHeader, messages, 28);
#undef SHMRING_AT
static_assert(std::atomic<uint64_t>::is_always_lock_free && std::atomic<uint32_t>::is_always_lock_free,
              "spec/LAYOUT.md §1: shared atomics must be lock-free (address-free)");

}  // namespace shmring::layout
