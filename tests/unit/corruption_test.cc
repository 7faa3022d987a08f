// A corrupted ring never crashes a reader; bad records are counted, never delivered.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <vector>
#include <string>

#include "layout.h"
#include "ring_impl.h"
#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/stats.h"
#include "test_ring.h"

namespace shmring {
namespace {

using testing::ScopedRingName;
using testing::Str;

struct Fixture {
  ScopedRingName n;
  std::shared_ptr<Ring> ring;
  std::unique_ptr<Producer> p;
  explicit Fixture(Policy policy = Policy::kBlock) {
    ring = *Ring::Create(*n, {.capacity = 8192, .policy = policy, .groups = {"g"}});
    p = *Producer::Attach(ring);
  }
  uint8_t* data() { return ring->impl().data(); }
};

TEST(Corruption, AFlippedPayloadByteFailsTheChecksumAndTheRecordIsCountedNotDelivered) {
  for (Policy policy : {Policy::kBlock, Policy::kOverwrite}) {
    Fixture f(policy);
    ASSERT_TRUE(f.p->Write("first").ok());
    ASSERT_TRUE(f.p->Write("second").ok());
    ASSERT_TRUE(f.p->Write("third").ok());
    f.data()[layout::RecordSize(5) + layout::kRecordHeaderSize + 2] ^= 0x40;  // inside "second"
    auto rd = *Reader::Attach(f.ring, "g");
    auto b = *rd->Poll();
    ASSERT_EQ(b.size(), 2u);
    EXPECT_EQ(Str(b[0].payload), "first");
    EXPECT_EQ(Str(b[1].payload), "third");
    ASSERT_TRUE(rd->Commit().ok());
    auto st = f.ring->Stats();
    EXPECT_EQ(st.groups[0].corrupt, 1u);
    EXPECT_EQ(st.groups[0].delivered + st.groups[0].corrupt, st.committed) << "nothing lost silently";
  }
}

// A caught-up reader does not load the tail to read records that prove their own
// claim (spec/PROTOCOL.md §5.1); one that cannot is judged against the real tail.
TEST(Corruption, ARecordPastTheTailTheReaderLastLoadedIsJudgedAgainstTheRealTail) {
  {  // checksums on: a record whose checksum fails past the known tail is counted, not delivered
    Fixture f;
    auto rd = *Reader::Attach(f.ring, "g");
    ASSERT_TRUE(rd->Poll()->empty());  // caught up at position 0
    ASSERT_TRUE(f.p->Write("one").ok());
    ASSERT_TRUE(f.p->Write("two").ok());
    ASSERT_TRUE(f.p->Write("three").ok());
    f.data()[layout::RecordSize(3) + layout::kRecordHeaderSize + 1] ^= 0x20;  // inside "two"
    auto b = *rd->Poll();
    ASSERT_EQ(b.size(), 2u);
    EXPECT_EQ(Str(b[0].payload), "one");
    EXPECT_EQ(Str(b[1].payload), "three");
    ASSERT_TRUE(rd->Commit().ok());
    EXPECT_EQ(f.ring->Stats().groups[0].corrupt, 1u);
  }
  {  // checksums off: a length reaching past the real tail is corrupt; the reader resyncs and goes on
    ScopedRingName n;
    auto ring = *Ring::Create(*n, {.capacity = 8192, .checksums = false, .groups = {"g"}});
    auto p = *Producer::Attach(ring);
    auto rd = *Reader::Attach(ring, "g");
    ASSERT_TRUE(rd->Poll()->empty());
    ASSERT_TRUE(p->Write("one").ok());
    ASSERT_TRUE(p->Write("two").ok());
    reinterpret_cast<layout::RecordHeader*>(ring->impl().data() + layout::RecordSize(3))->len = 1000;  // "two"
    auto b = *rd->Poll();
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(Str(b[0].payload), "one");
    ASSERT_TRUE(rd->Commit().ok());
    ASSERT_TRUE(p->Write("three").ok());
    b = *rd->Poll();
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(Str(b[0].payload), "three");
    ASSERT_TRUE(rd->Commit().ok());
    EXPECT_EQ(ring->Stats().groups[0].corrupt, 1u);
  }
}

TEST(Verify, ACleanRingVerifiesAndAFlippedByteIsReportedWithItsPosition) {
  Fixture f;
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(f.p->Write(std::string(i + 1, 'v')).ok());
  VerifyReport rep = f.ring->Verify();
  EXPECT_TRUE(rep.ok()) << rep.problems[0];
  EXPECT_GT(rep.records, 0u);
  EXPECT_GE(rep.padding, 0u);
  const uint64_t pos = rep.from;
  f.data()[(pos & 8191) + layout::kRecordHeaderSize] ^= 1;
  rep = f.ring->Verify();
  ASSERT_FALSE(rep.ok());
  EXPECT_NE(rep.problems[0].find("position " + std::to_string(pos) + ": checksum mismatch"), std::string::npos)
      << rep.problems[0];
}

TEST(Corruption, AFlippedHeaderFieldFailsTheChecksumToo) {
  Fixture f;
  ASSERT_TRUE(f.p->Write("abc", 1).ok());
  reinterpret_cast<layout::RecordHeader*>(f.data())->type = 2;
  auto rd = *Reader::Attach(f.ring, "g");
  EXPECT_TRUE(rd->Poll()->empty());
  ASSERT_TRUE(rd->Commit().ok());
  EXPECT_EQ(f.ring->Stats().groups[0].corrupt, 1u);
}

TEST(Corruption, AnImpossibleLengthIsSkippedByResyncingOnTheNextSelfIdentifyingHeader) {
  Fixture f;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(f.p->Write("record" + std::to_string(i)).ok());
  auto* h = reinterpret_cast<layout::RecordHeader*>(f.data() + layout::RecordSize(7));
  h->len = 0x7fffffff;  // record1
  auto rd = *Reader::Attach(f.ring, "g");
  auto b = *rd->Poll();
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(Str(b[0].payload), "record0");
  EXPECT_EQ(Str(b[1].payload), "record2");
}

TEST(Corruption, RandomGarbageOverTheWholeDataAreaNeverCrashesAReaderOrStats) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 200; ++round) {
    Fixture f(round % 2 ? Policy::kOverwrite : Policy::kBlock);
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(f.p->Write(std::string(rng() % 150, 'x')).ok());
    // Scribble: whole words, lengths, states, positions.
    for (int k = 0; k < 1 + int(rng() % 40); ++k) {
      const size_t off = (rng() % (8192 / 8)) * 8;
      uint64_t v = rng();
      if (rng() % 3 == 0) v = (v & ~uint64_t{7}) | (rng() % 8);
      memcpy(f.data() + off, &v, 8);
    }
    if (round % 5 == 0) f.ring->impl().control().tail.store(rng());
    auto rd = *Reader::Attach(f.ring, "g");
    for (int polls = 0; polls < 50; ++polls) {
      auto b = rd->Poll(16);
      if (!b.ok() || b->empty()) break;
      for (const RecordView& v : *b) ASSERT_LE(v.payload.size(), f.ring->max_record());
    }
    (void)f.ring->Stats();
    (void)f.ring->Verify();
  }
}

// A header near the end of the lap whose length reaches past the wrap (spec/LAYOUT.md
// §6.2: a record never crosses it) is corrupt, whatever the tail allows: a committed
// one would put an in-place payload past the data area, a skip one would land the
// reader inside the next lap's records. Counted corrupt, the reader resyncs on the
// first record after the wrap and delivers everything after it.
TEST(Corruption, AHeaderWhoseLengthCrossesTheWrapIsCorruptNeverDeliveredPastTheDataArea) {
  for (uint64_t state : {uint64_t{layout::kCommitted}, uint64_t{layout::kSkip}}) {
    SCOPED_TRACE(state == layout::kCommitted ? "committed" : "skip");
    ScopedRingName n;
    // Checksums off: nothing but the bounds check stands between the length and the reader.
    auto ring = *Ring::Create(*n, {.capacity = 8192, .checksums = false, .groups = {"g"}});
    auto p = *Producer::Attach(ring);
    auto rd = *Reader::Attach(ring, "g");
    for (int i = 0; i < 31; ++i) ASSERT_TRUE(p->Write(std::string(224, 'a')).ok());  // 31 x 256 bytes
    ASSERT_TRUE(p->Write(std::string(160, 'b')).ok());                              // 192 bytes: up to 8128
    ASSERT_EQ(rd->Poll(32)->size(), 32u);
    ASSERT_TRUE(rd->Commit().ok());
    ASSERT_TRUE(p->Write(std::string(32, 'T')).ok());  // at 8128: 64 bytes, ends exactly at the wrap
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(p->Write("after" + std::to_string(i) + std::string(58, 'x')).ok());
    auto& h = ring->impl().header_at(8128);
    ASSERT_EQ(h.word.load(), 8128u | layout::kCommitted);
    h.word.store(8128 | state);
    h.len = 100;  // 136 bytes: 72 past the wrap, well inside what the tail covers (64 + 3 x 96)

    std::vector<std::string> got;
    for (int polls = 0; polls < 4; ++polls) {
      auto b = rd->Poll(16);
      ASSERT_TRUE(b.ok()) << b.status();
      for (const RecordView& v : *b) {
        const auto* at = reinterpret_cast<const uint8_t*>(v.payload.data());
        ASSERT_GE(at, ring->impl().data());
        ASSERT_LE(at + v.payload.size(), ring->impl().data() + 8192) << "payload past the data area, length "
                                                                     << v.payload.size();
        got.push_back(Str(v.payload).substr(0, 6));
      }
    }
    EXPECT_EQ(got, (std::vector<std::string>{"after0", "after1", "after2"}));
    ASSERT_TRUE(rd->Commit().ok());
    const auto st = ring->Stats();
    EXPECT_EQ(st.groups[0].corrupt, 1u);
    EXPECT_EQ(st.groups[0].lag_bytes, 0u) << "the reader resynced past the bad header";
  }
}

// The payloads `polls` polls return, in order.
std::vector<std::string> PollPayloads(Reader& rd, int polls) {
  std::vector<std::string> got;
  for (int i = 0; i < polls; ++i) {
    auto b = rd.Poll(16);
    if (!b.ok()) {
      ADD_FAILURE() << b.status();
      break;
    }
    for (const RecordView& v : *b) got.push_back(Str(v.payload));
  }
  return got;
}

// spec/PROTOCOL.md §5.5: a committed record whose length a hostile writer changed to
// another valid-looking one fails its checksum; the reader counts it corrupt and
// resyncs on the next header that names its own position, never on the length it
// read. Enlarged over the next two records: those two are delivered, not skipped
// uncounted, and committed = delivered + corrupt (+ overwritten + lag) closes.
TEST(Corruption, ALengthEnlargedOverTheNextRecordsIsCountedCorruptAndTheRecordsAfterItAreDelivered) {
  for (Policy policy : {Policy::kBlock, Policy::kOverwrite}) {
    SCOPED_TRACE(policy == Policy::kBlock ? "block" : "overwrite");
    Fixture f(policy);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(f.p->Write("record" + std::to_string(i) + "x").ok());  // 40 bytes each
    auto* h = reinterpret_cast<layout::RecordHeader*>(f.data() + layout::RecordSize(8));  // record1
    ASSERT_EQ(h->len, 8u);
    h->len = 8 + 2 * layout::RecordSize(8);  // exactly over record2 and record3: a plausible length
    auto rd = *Reader::Attach(f.ring, "g");
    EXPECT_EQ(PollPayloads(*rd, 4), (std::vector<std::string>{"record0x", "record2x", "record3x", "record4x"}));
    ASSERT_TRUE(rd->Commit().ok());
    const auto st = f.ring->Stats();
    EXPECT_EQ(st.groups[0].corrupt, 1u);
    EXPECT_EQ(st.groups[0].lag_records, 0u);
    EXPECT_EQ(st.groups[0].delivered + st.groups[0].overwritten + st.groups[0].corrupt + st.groups[0].lag_records,
              st.committed)
        << "every committed record is delivered or counted";
  }
}

// Shrunk: the length read would land the reader inside record1's payload, where no
// header names its position (it would wait there forever). Counted corrupt, the
// reader steps over the rest of the payload to record2 and keeps reading.
TEST(Corruption, ALengthShrunkIntoItsOwnPayloadIsCountedCorruptAndTheReaderDoesNotStall) {
  for (Policy policy : {Policy::kBlock, Policy::kOverwrite}) {
    SCOPED_TRACE(policy == Policy::kBlock ? "block" : "overwrite");
    Fixture f(policy);
    ASSERT_TRUE(f.p->Write("record0x").ok());
    ASSERT_TRUE(f.p->Write(std::string(200, 'p')).ok());  // record1: 232 bytes
    ASSERT_TRUE(f.p->Write("record2x").ok());
    auto* h = reinterpret_cast<layout::RecordHeader*>(f.data() + layout::RecordSize(8));
    ASSERT_EQ(h->len, 200u);
    h->len = 16;  // 48 bytes: inside its own payload
    auto rd = *Reader::Attach(f.ring, "g");
    EXPECT_EQ(PollPayloads(*rd, 3), (std::vector<std::string>{"record0x", "record2x"}));
    ASSERT_TRUE(f.p->Write("record3x").ok());  // the reader goes on with new records
    EXPECT_EQ(PollPayloads(*rd, 1), (std::vector<std::string>{"record3x"}));
    ASSERT_TRUE(rd->Commit().ok());
    const auto st = f.ring->Stats();
    EXPECT_EQ(st.groups[0].corrupt, 1u);
    EXPECT_EQ(st.groups[0].lag_bytes, 0u) << "the reader is at the tail, not inside a payload";
    EXPECT_EQ(st.groups[0].delivered + st.groups[0].overwritten + st.groups[0].corrupt + st.groups[0].lag_records,
              st.committed);
  }
}

// Verify walks like the reader: a checksum mismatch is one problem, and the walk goes
// on at the next self-identifying header, not at the length it read.
TEST(Verify, AChangedLengthIsOneChecksumProblemAndTheWalkGoesOnAtTheNextRecord) {
  for (uint32_t bad_len : {uint32_t{8 + 2 * layout::RecordSize(8)}, uint32_t{0}}) {
    SCOPED_TRACE(bad_len);
    Fixture f;
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(f.p->Write("record" + std::to_string(i) + "x").ok());
    reinterpret_cast<layout::RecordHeader*>(f.data() + layout::RecordSize(8))->len = bad_len;
    const VerifyReport rep = f.ring->Verify();
    ASSERT_EQ(rep.problems.size(), 1u) << rep.problems.back();
    EXPECT_NE(rep.problems[0].find("position " + std::to_string(layout::RecordSize(8)) + ": checksum mismatch"),
              std::string::npos)
        << rep.problems[0];
    EXPECT_EQ(rep.records, 5u) << "the four good records and the bad one";
  }
}

// Recovery never takes a misaligned position for a claim boundary (no claim ends
// there), whatever a hostile writer left in the producer slots: two dead unconfirmed
// intents name 0 with lengths 64 and 68, and a third slot names 68. Were 68 a
// boundary, slot 0's intent would be dropped as the loser of position 0 (and its
// header read at a misaligned address); it is kept, undecided, instead.
TEST(Corruption, RecoveryNeverTakesAMisalignedRivalEndForAClaimBoundary) {
  Fixture f;
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(f.p->Write(std::string(96, 'r')).ok());  // 128 bytes each
  f.p.reset();
  auto& r = f.ring->impl();
  ASSERT_GE(r.max_producers, 3u);
  r.producer(0).claim_pos.store(0);
  r.producer(0).claim_len.store(64);
  r.producer(1).claim_pos.store(0);
  r.producer(1).claim_len.store(68);
  r.producer(2).claim_pos.store(68);
  r.producer(2).claim_len.store(8);
  auto rep = f.ring->Recover();
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_EQ(r.producer(0).claim_len.load(), 64u) << "slot 0's intent dropped on the word of a misaligned rival end";
  auto rd = *Reader::Attach(f.ring, "g");
  EXPECT_EQ(rd->Poll()->size(), 2u) << "the committed records are untouched";
}

// spec/PROTOCOL.md §10 item 5: a file whose size is not the superblock's total_size
// (shrunk by someone with write permission, or grown) is refused at attach with
// both sizes; a process that has it mapped is not touched by the refusal.
TEST(Corruption, AShrunkOrGrownRingFileIsRefusedAtAttachWithExpectedAndFoundSize) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 8192, .groups = {"g"}});
  const uint64_t total = ring->impl().map_size;
  const std::string path = Ring::ResolvePath(*n);
  for (uint64_t size : {total - 4096, total - 1, uint64_t{4096}, total + 4096}) {
    SCOPED_TRACE(size);
    ASSERT_EQ(truncate(path.c_str(), off_t(size)), 0);
    for (bool ro : {true, false}) {
      auto again = Ring::Open(*n, {.read_only = ro});
      ASSERT_FALSE(again.ok());
      EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition) << again.status();
      const std::string msg(again.status().message());
      EXPECT_NE(msg.find("file size: expected " + std::to_string(total) + " bytes"), std::string::npos) << msg;
      EXPECT_NE(msg.find("found " + std::to_string(size)), std::string::npos) << msg;
    }
  }
  ASSERT_EQ(truncate(path.c_str(), off_t(total)), 0);  // restored: the mapping we hold is whole again
  EXPECT_TRUE(Ring::Open(*n).ok());
}

}  // namespace
}  // namespace shmring
