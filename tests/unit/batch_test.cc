// Message batches (spec/LAYOUT.md §6.4): many messages in one record, one view each.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <thread>
#include <string>
#include <vector>

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

std::span<const std::byte> B(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

struct Fixture {
  ScopedRingName n;
  std::shared_ptr<Ring> ring;
  std::unique_ptr<Producer> p;
  explicit Fixture(Policy policy = Policy::kBlock, bool checksums = true, bool batches = true) {
    ring = *Ring::Create(*n, {.capacity = 8192,
                              .policy = policy,
                              .checksums = checksums,
                              .message_batches = batches,
                              .groups = {"g"}});
    p = *Producer::Attach(ring);
  }
  // Messages "m0".."m{k-1}", types 100+i.
  absl::Status WriteNumbered(int k, int first = 0) {
    std::vector<std::string> text;
    for (int i = 0; i < k; ++i) text.push_back("m" + std::to_string(first + i));
    std::vector<Message> ms;
    for (int i = 0; i < k; ++i) ms.push_back({B(text[i]), uint16_t(100 + first + i)});
    return p->WriteMessages(ms);
  }
};

std::vector<std::string> Payloads(std::span<const RecordView> b) {
  std::vector<std::string> out;
  for (const RecordView& v : b) out.push_back(Str(v.payload));
  return out;
}

TEST(Batch, MessagesWrittenAsOneRecordAreReadBackOneViewPerMessageWithTheirTypes) {
  for (Policy policy : {Policy::kBlock, Policy::kOverwrite}) {
    Fixture f(policy);
    const std::string big(100, 'x');
    const Message ms[] = {{B("a"), 1}, {B(""), 2}, {B(big), 3}, {B("12345678"), 4}};
    ASSERT_TRUE(f.p->WriteMessages(ms).ok());
    const VerifyReport v = f.ring->Verify();  // walks from the oldest cursor: before the read
    EXPECT_TRUE(v.ok()) << v.problems[0];
    EXPECT_EQ(v.records, 1u);
    EXPECT_EQ(v.messages, 4u);
    auto rd = *Reader::Attach(f.ring, "g");
    auto b = *rd->Poll();
    ASSERT_EQ(b.size(), 4u);
    EXPECT_EQ(Payloads(b), (std::vector<std::string>{"a", "", big, "12345678"}));
    for (size_t i = 0; i < 4; ++i) {
      EXPECT_EQ(b[i].type, i + 1);
      EXPECT_EQ(b[i].position, b[0].position) << "the messages of one batch share its position";
      EXPECT_TRUE(b[i].flags & kRecordFlagBatch);
    }
    ASSERT_TRUE(rd->Commit().ok());
    auto st = f.ring->Stats();
    EXPECT_EQ(st.committed, 1u) << "counters count records: the batch is one";
    EXPECT_EQ(st.groups[0].delivered, 1u);
    EXPECT_EQ(st.incompat & layout::kIncompatMessageBatches, layout::kIncompatMessageBatches);
  }
}

// README.md, "Small records at high rates": the snippet, verbatim between the markers.
TEST(Batch, TheReadmeSnippetWritesOneRecordThatReadsAsOneViewPerLine) {
  Fixture f;
  auto& producer = f.p;
  const std::vector<std::string> lines = {"first line", "second line"};
  // --- README snippet ---
  std::vector<shmring::Message> batch;  // e.g. 16 log lines
  for (const std::string& line : lines) batch.push_back({std::as_bytes(std::span(line)), /*type=*/1});
  absl::Status s = producer->WriteMessages(batch);  // one claim, one checksum, one commit
  // --- end ---
  ASSERT_TRUE(s.ok()) << s;
  auto rd = *Reader::Attach(f.ring, "g");
  EXPECT_EQ(Payloads(*rd->Poll()), lines);
  EXPECT_EQ(f.ring->Stats().committed, 1u);
}

TEST(Batch, ARingCreatedWithoutMessageBatchesRefusesThemAndCountsOneDrop) {
  Fixture f(Policy::kBlock, true, /*batches=*/false);
  const Message ms[] = {{B("a"), 1}};
  absl::Status s = f.p->WriteMessages(ms);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("message_batches"), std::string_view::npos) << s;
  const uint32_t lens[] = {1};
  EXPECT_EQ(f.p->ReserveMessages(lens).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(f.ring->Stats().dropped, 2u);
  EXPECT_TRUE(f.p->Write("plain").ok()) << "the producer is still usable";
}

TEST(Batch, ABatchThatDoesNotFitMaxRecordIsRefusedWholeAsOneDrop) {
  ScopedRingName n;
  auto ring = *Ring::Create(*n, {.capacity = 8192, .max_record = 64, .message_batches = true, .groups = {"g"}});
  auto p = *Producer::Attach(ring);
  const std::string m(20, 'x');  // 8 + 20 -> 32 bytes per entry: two fit 64, three do not
  const Message two[] = {{B(m), 0}, {B(m), 0}};
  const Message three[] = {{B(m), 0}, {B(m), 0}, {B(m), 0}};
  EXPECT_TRUE(p->WriteMessages(two).ok());
  absl::Status s = p->WriteMessages(three);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("max_record 64"), std::string_view::npos) << s;
  EXPECT_EQ(p->WriteMessages({}).code(), absl::StatusCode::kInvalidArgument);
  auto st = ring->Stats();
  EXPECT_EQ(st.committed, 1u);
  EXPECT_EQ(st.dropped, 1u);
}

TEST(Batch, ABatchLargerThanMaxIsSplitAcrossPollsAndTheCursorPassesItOnlyWhole) {
  for (Policy policy : {Policy::kBlock, Policy::kOverwrite}) {
    SCOPED_TRACE(PolicyName(policy));
    Fixture f(policy);
    ASSERT_TRUE(f.p->Write("before").ok());
    ASSERT_TRUE(f.WriteNumbered(10).ok());
    ASSERT_TRUE(f.p->Write("after").ok());
    auto rd = *Reader::Attach(f.ring, "g");
    const uint64_t batch_pos = layout::RecordSize(6);
    // A batch that does not fit the room left waits for a poll of its own.
    EXPECT_EQ(Payloads(*rd->Poll(4)), (std::vector<std::string>{"before"}));
    EXPECT_EQ(Payloads(*rd->Poll(4)), (std::vector<std::string>{"m0", "m1", "m2", "m3"}));
    EXPECT_EQ(rd->committed_position(), batch_pos) << "auto-commit stops before a batch not yet delivered whole";
    EXPECT_EQ(Payloads(*rd->Poll(4)), (std::vector<std::string>{"m4", "m5", "m6", "m7"}));
    EXPECT_EQ(rd->committed_position(), batch_pos);
    EXPECT_EQ(Payloads(*rd->Poll(4)), (std::vector<std::string>{"m8", "m9", "after"}));
    ASSERT_TRUE(rd->Poll(4)->empty());
    auto st = f.ring->Stats();
    EXPECT_EQ(st.groups[0].delivered, 3u);
    EXPECT_EQ(st.groups[0].lag_bytes, 0u);
  }
}

TEST(Batch, AReaderRestartedInTheMiddleOfASplitBatchGetsTheWholeBatchAgain) {
  Fixture f;
  ASSERT_TRUE(f.WriteNumbered(6).ok());
  {
    auto rd = *Reader::Attach(f.ring, "g");
    EXPECT_EQ(Payloads(*rd->Poll(4)), (std::vector<std::string>{"m0", "m1", "m2", "m3"}));
  }  // closes (auto-commit): the cursor cannot pass half a batch
  auto rd = *Reader::Attach(f.ring, "g");
  EXPECT_EQ(rd->attach_report().resumed_at, 0u);
  EXPECT_EQ(rd->Poll(64)->size(), 6u);
}

TEST(Batch, ReserveMessagesWritesInPlaceAndAnAbortedBatchDeliversNothing) {
  Fixture f;
  const uint32_t lens[] = {3, 0, 9};
  {
    auto b = f.p->ReserveMessages(lens, 7);
    ASSERT_TRUE(b.ok()) << b.status();
    ASSERT_EQ(b->size(), 3u);
    memcpy(b->data(0).data(), "abc", 3);
    EXPECT_EQ(b->data(1).size(), 0u);
    memcpy(b->data(2).data(), "123456789", 9);
    ASSERT_TRUE(f.p->Commit(*b).ok());
  }
  {
    auto b = f.p->ReserveMessages(lens, 7);
    ASSERT_TRUE(b.ok()) << b.status();
    f.p->Abort(*b);
  }
  ASSERT_TRUE(f.p->Write("last").ok());
  auto rd = *Reader::Attach(f.ring, "g");
  auto b = *rd->Poll();
  EXPECT_EQ(Payloads(b), (std::vector<std::string>{"abc", "", "123456789", "last"}));
  EXPECT_EQ(b[0].type, 7);
  auto st = f.ring->Stats();
  EXPECT_EQ(st.committed, 2u);
  EXPECT_EQ(st.aborted, 1u);
}

// A batch whose entries do not fill its payload exactly (a hostile or buggy writer)
// is one corrupt record: counted, not delivered, and the reader goes on.
TEST(Batch, AMalformedBatchIsCountedCorruptAndTheRecordsAfterItAreDelivered) {
  for (Policy policy : {Policy::kBlock, Policy::kOverwrite}) {
    SCOPED_TRACE(PolicyName(policy));
    Fixture f(policy, /*checksums=*/false);
    ASSERT_TRUE(f.WriteNumbered(3).ok());
    ASSERT_TRUE(f.p->Write("after").ok());
    uint8_t* entry = f.ring->impl().data() + layout::kRecordHeaderSize + layout::MessageSize(2);
    const uint32_t bad_len = 200;  // message 1 claims more bytes than the batch holds
    memcpy(entry, &bad_len, 4);
    const VerifyReport v = f.ring->Verify();
    ASSERT_FALSE(v.ok());
    EXPECT_NE(v.problems[0].find("malformed message batch"), std::string::npos) << v.problems[0];
    auto rd = *Reader::Attach(f.ring, "g");
    EXPECT_EQ(Payloads(*rd->Poll()), (std::vector<std::string>{"after"}));
    ASSERT_TRUE(rd->Commit().ok());
    auto st = f.ring->Stats();
    EXPECT_EQ(st.groups[0].corrupt, 1u);
    EXPECT_EQ(st.groups[0].delivered, 1u);
  }
}

TEST(Batch, AMessageCountThatDisagreesWithTheEntriesIsMalformed) {
  Fixture f(Policy::kBlock, /*checksums=*/false);
  ASSERT_TRUE(f.WriteNumbered(3).ok());
  auto& h = *reinterpret_cast<layout::RecordHeader*>(f.ring->impl().data());
  for (uint32_t count : {0u, 2u, 4u, 0xffffffffu}) {
    h.messages = count;
    auto rd = *Reader::Attach(f.ring, "g", {.auto_commit = false});
    EXPECT_TRUE(rd->Poll()->empty()) << count;
    EXPECT_FALSE(f.ring->Verify().ok()) << count;
  }
}

TEST(Batch, PeekShowsEachMessageOfABatch) {
  Fixture f;
  ASSERT_TRUE(f.WriteNumbered(3).ok());
  auto peeked = f.ring->Peek(10);
  ASSERT_EQ(peeked.size(), 3u);
  EXPECT_EQ(peeked[2].payload, "m2");
  EXPECT_EQ(peeked[2].type, 102);
}

// Producers on two threads write batches of 1..20 messages (each message carries its
// producer and sequence number) into a small ring that wraps many times; the reader
// polls with random `max`, so batches are split, and must see every message exactly once,
// in order per producer. Both policies that never lose records.
TEST(Batch, ConcurrentProducersBatchesArriveWholeInOrderThroughManyWraps) {
  for (Policy policy : {Policy::kBlock, Policy::kReject}) {
    SCOPED_TRACE(PolicyName(policy));
    ScopedRingName n;
    auto ring = *Ring::Create(*n, {.capacity = 4096, .policy = policy, .message_batches = true, .groups = {"g"}});
    auto rd = *Reader::Attach(ring, "g");
    constexpr int kProducers = 2;
    constexpr uint64_t kPerProducer = 20000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kProducers; ++t) {
      threads.emplace_back([&, t] {
        auto p = *Producer::Attach(ring);
        std::mt19937 rng(t);
        uint64_t seq = 0;
        while (seq < kPerProducer) {
          const uint64_t k = std::min<uint64_t>(1 + rng() % 20, kPerProducer - seq);
          std::vector<uint64_t> words(2 * k);
          std::vector<Message> ms(k);
          for (uint64_t i = 0; i < k; ++i) {
            words[2 * i] = uint64_t(t);
            words[2 * i + 1] = seq + i;
            ms[i] = {std::as_bytes(std::span(&words[2 * i], 2)), uint16_t(t)};
          }
          absl::Status s = p->WriteMessages(ms);
          if (s.ok()) {
            seq += k;
          } else {
            ASSERT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;  // reject: full, try again
            std::this_thread::yield();
          }
        }
      });
    }
    std::vector<uint64_t> next(kProducers, 0);
    std::mt19937 rng(99);
    uint64_t got = 0;
    while (got < kProducers * kPerProducer) {
      auto b = rd->Poll(1 + rng() % 40);
      ASSERT_TRUE(b.ok()) << b.status();
      for (const RecordView& v : *b) {
        ASSERT_EQ(v.payload.size(), 16u);
        uint64_t w[2];
        memcpy(w, v.payload.data(), 16);
        ASSERT_LT(w[0], uint64_t(kProducers));
        ASSERT_EQ(v.type, w[0]);
        ASSERT_EQ(w[1], next[w[0]]) << "producer " << w[0];
        ++next[w[0]];
        ++got;
      }
      if (b->empty()) std::this_thread::yield();
    }
    for (auto& th : threads) th.join();
    ASSERT_TRUE(rd->Commit().ok());
    auto st = ring->Stats();
    EXPECT_EQ(st.groups[0].delivered, st.committed);
    EXPECT_GT(st.committed, 2 * kPerProducer / 20) << "batches, not single messages";
    EXPECT_GT(st.groups[0].delivered_bytes, 4 * 4096u) << "the ring wrapped";
    EXPECT_EQ(st.groups[0].corrupt, 0u);
  }
}

}  // namespace
}  // namespace shmring
