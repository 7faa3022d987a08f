// Shared between the kill -9 torture supervisor (torture_test.cc) and its worker
// processes (torture_worker.cc): the self-describing payload and the consumer log.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace shmring::torture {

// ---- payload: [magic u32][id u32][seq u64][len u32][check u32] then a pattern ----
constexpr uint32_t kMagic = 0x54525455;  // "UTRT"
constexpr size_t kPayloadHeader = 24;

inline uint64_t Mix(uint64_t x) {  // splitmix64 finalizer
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
inline uint64_t RecordHash(uint32_t id, uint64_t seq) { return Mix((uint64_t{id} << 40) ^ seq ^ 0x5eed); }

// The payload length is a function of (id, seq), so a reader can check it.
// Mostly small records; every 40th is large, so claims hit the wrap padding often.
inline size_t PayloadLen(uint32_t id, uint64_t seq) {
  const uint64_t h = RecordHash(id, seq);
  if (h % 40 == 7) return kPayloadHeader + (h >> 16) % 2000;
  return kPayloadHeader + (h >> 16) % 220;
}

// Records the producer aborts on purpose (Reserve, half-write, Abort): never delivered.
inline bool IsAbortSeq(uint32_t id, uint64_t seq) { return RecordHash(id, seq) % 29 == 3; }

inline void FillPayload(std::byte* p, size_t len, uint32_t id, uint64_t seq) {
  const uint64_t h = RecordHash(id, seq);
  const uint32_t lenfield = uint32_t(len), check = uint32_t(h);
  memcpy(p, &kMagic, 4);
  memcpy(p + 4, &id, 4);
  memcpy(p + 8, &seq, 8);
  memcpy(p + 16, &lenfield, 4);
  memcpy(p + 20, &check, 4);
  for (size_t i = kPayloadHeader; i < len; ++i) p[i] = std::byte(uint8_t(h >> ((i % 8) * 8)) ^ uint8_t(i));
}

// Returns nullptr if the payload is what producer `id` wrote for `seq`, else why not.
inline const char* CheckPayload(const std::byte* p, size_t len, uint32_t* id_out, uint64_t* seq_out) {
  if (len < kPayloadHeader) return "payload shorter than its header";
  uint32_t magic, id, lenfield, check;
  uint64_t seq;
  memcpy(&magic, p, 4);
  memcpy(&id, p + 4, 4);
  memcpy(&seq, p + 8, 8);
  memcpy(&lenfield, p + 16, 4);
  memcpy(&check, p + 20, 4);
  *id_out = id;
  *seq_out = seq;
  if (magic != kMagic) return "bad magic";
  if (lenfield != len) return "length field differs from the record length";
  if (PayloadLen(id, seq) != len) return "length is not the one producer id wrote for seq";
  const uint64_t h = RecordHash(id, seq);
  if (check != uint32_t(h)) return "bad check word";
  for (size_t i = kPayloadHeader; i < len; ++i) {
    if (p[i] != std::byte(uint8_t(h >> ((i % 8) * 8)) ^ uint8_t(i))) return "pattern mismatch";
  }
  if (IsAbortSeq(id, seq)) return "an aborted record was delivered";
  return nullptr;
}

// ---- consumer log: fixed 16-byte entries, appended with O_APPEND ----
enum EntryKind : uint32_t {
  kRec = 1,      // a delivered record: id, seq   (written BEFORE the cursor commit)
  kInc = 2,      // a consumer incarnation starts: id = pid, seq = resumed_at position
  kCommit = 3,   // the cursor commit after the preceding records succeeded: seq = position
  kGap = 4,      // longest wait so far with records pending: seq = ns
  kCorrupt = 5,  // a record failed the payload check: id, seq (the consumer then exits 3)
  kLost = 6,     // AttachReport::lost_while_away at attach: seq = count
};
struct Entry {
  uint32_t kind;
  uint32_t id;
  uint64_t seq;
};
static_assert(sizeof(Entry) == 16);

// Worker exit codes other than 0 (and death by SIGKILL) are failures.
enum ExitCode : int {
  kExitUsage = 2,
  kExitCorrupt = 3,         // consumer received a record that fails the payload check
  kExitCommitAborted = 4,   // a live producer's claim was reclaimed (commit got ABORTED)
  kExitApiError = 5,        // unexpected error from the API
  kExitFenced = 6,          // a live, sole reader was fenced
  kExitAttach = 7,          // could not attach for a long time
};

}  // namespace shmring::torture
