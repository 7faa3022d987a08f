// shmctl write (a producer) and shmctl read (a consumer of one group).
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "shmctl.h"
#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/ring.h"

namespace shmctl {

namespace {

using Clock = std::chrono::steady_clock;

// What a write run did, reported on stderr at the end.
struct WriteTally {
  uint64_t written = 0, bytes = 0, failed = 0, batches = 0;
  absl::Status first_error;

  void Record(const absl::Status& s, size_t len, uint64_t n = 1) {
    if (s.ok()) {
      written += n;
      bytes += len;
      return;
    }
    if (failed == 0) first_error = s;
    failed += n;
  }
};

// --batch N: records are collected and written N at a time as one message batch
// (Producer::WriteMessages, spec/LAYOUT.md §6.4).
class Batcher {
 public:
  Batcher(shmring::Producer& p, WriteTally& t, size_t n, uint16_t type) : p_(p), t_(t), n_(n), type_(type) {}
  void Add(std::string payload) {
    if (n_ <= 1) {
      t_.Record(p_.Write(payload, type_), payload.size());
      return;
    }
    texts_.push_back(std::move(payload));
    if (texts_.size() == n_) Flush();
  }
  void Flush() {
    if (texts_.empty()) return;
    std::vector<shmring::Message> ms;
    size_t bytes = 0;
    for (const std::string& s : texts_) {
      ms.push_back({std::as_bytes(std::span(s.data(), s.size())), type_});
      bytes += s.size();
    }
    const absl::Status st = p_.WriteMessages(ms);
    t_.Record(st, bytes, texts_.size());
    if (st.ok()) ++t_.batches;
    texts_.clear();
  }

 private:
  shmring::Producer& p_;
  WriteTally& t_;
  size_t n_;
  uint16_t type_;
  std::vector<std::string> texts_;
};

// Synthetic payload i of `size` bytes: "record <i> " then filler, cut to size.
std::string Synthetic(uint64_t i, size_t size) {
  std::string s = absl::StrCat("record ", i, " ");
  s.resize(size, 'x');
  return s;
}

std::atomic<bool> g_stop{false};
extern "C" void OnStopSignal(int) { g_stop.store(true); }

void InstallStopHandlers() {
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

std::string Hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) absl::StrAppendFormat(&out, "%02x", c);
  return out;
}

}  // namespace

int RunWrite(const std::vector<std::string>& argv) {
  const Args a = Args::Parse(
      "write", argv, {{"count", true}, {"size", true}, {"rate", true}, {"type", true}, {"timeout", true}, {"batch", true}});
  a.ExpectPositional(1, 1, "RING");
  const bool synthetic = a.Has("count") || a.Has("size");
  if (synthetic && !(a.Has("count") && a.Has("size"))) {
    throw UsageError("--count and --size go together (synthetic records); give both, or neither to read stdin");
  }
  const uint64_t count = synthetic ? ParseUint("count", *a.Get("count")) : 0;
  const uint64_t size = synthetic ? ParseSize("size", *a.Get("size")) : 0;
  const double rate = a.Has("rate") ? ParseRate("rate", *a.Get("rate")) : 0;
  const uint16_t type = a.Has("type") ? uint16_t(ParseUint("type", *a.Get("type"), UINT16_MAX)) : 0;
  const size_t batch = a.Has("batch") ? size_t(ParseUint("batch", *a.Get("batch"), 1 << 20)) : 1;
  if (batch == 0) throw UsageError("--batch 0: expected 1 or more records per batch");
  shmring::ProducerOptions po;
  if (auto v = a.Get("timeout")) {
    po.block_timeout = std::chrono::nanoseconds(int64_t(ParseSeconds("timeout", *v) * 1e9));
  }

  auto ring = shmring::Ring::Open(a.positional()[0]);
  if (!ring.ok()) return Fail(ring.status());
  auto producer = shmring::Producer::Attach(*ring, po);
  if (!producer.ok()) return Fail(producer.status());

  WriteTally t;
  const auto start = Clock::now();
  auto pace = [&](uint64_t i) {
    if (rate > 0) std::this_thread::sleep_until(start + std::chrono::duration<double>(double(i) / rate));
  };
  if (batch > 1 && !(*ring)->message_batches()) {
    return Fail(absl::StrCat("write --batch: ring ", (*ring)->path(),
                             " does not allow message batches (create it with shmctl create --batches)"));
  }
  InstallStopHandlers();
  Batcher out(**producer, t, batch, type);
  if (synthetic) {
    for (uint64_t i = 0; i < count && !g_stop.load(); ++i) {
      pace(i);
      out.Add(Synthetic(i, size));
    }
  } else {
    std::string line;
    for (uint64_t i = 0; !g_stop.load() && std::getline(std::cin, line); ++i) {
      pace(i);
      out.Add(std::move(line));
    }
  }
  out.Flush();
  std::cerr << "shmctl: wrote " << t.written << " records (" << t.bytes << " bytes";
  if (batch > 1) std::cerr << ", as messages of " << t.batches << " batch records";
  std::cerr << ") to " << (*ring)->path() << ", dropped " << t.failed << "\n";
  if (t.failed > 0) {
    std::cerr << "shmctl: first failure: " << t.first_error.message() << "\n";
    return kExitFail;
  }
  return kExitOk;
}

// One record in `read`'s --format (text, raw, hex or json).
static void AppendRecord(std::string* out, const std::string& format, uint64_t position, uint16_t type, uint32_t producer,
                  std::string_view p) {
  if (format == "text") {
    absl::StrAppend(out, AV(p), "\n");
  } else if (format == "raw") {
    absl::StrAppend(out, AV(p));
  } else if (format == "hex") {
    absl::StrAppendFormat(out, "%d type=%d producer=%d len=%d %s\n", position, type, producer, p.size(), Hex(p));
  } else {
    absl::StrAppend(out, RenderRecordJson(position, type, producer, p), "\n");
  }
}

int RunRead(const std::vector<std::string>& argv) {
  const Args a = Args::Parse("read", argv,
                             {{"group", true}, {"follow", false}, {"max", true}, {"timeout", true}, {"format", true}});
  a.ExpectPositional(1, 1, "RING");
  const std::string format = a.Get("format").value_or("text");
  if (format != "text" && format != "hex" && format != "json" && format != "raw") {
    throw UsageError(absl::StrCat("--format '", format, "': expected text, hex, json or raw"));
  }
  const bool follow = a.Has("follow");
  if (!a.Has("group")) {  // a peek: copies records, moves no cursor
    if (follow) throw UsageError("--follow needs --group (a peek moves no cursor, so it cannot follow)");
    auto ring = shmring::Ring::Open(a.positional()[0], {.read_only = true});
    if (!ring.ok()) return Fail(ring.status());
    const uint64_t pmax = a.Has("max") ? ParseUint("max", *a.Get("max")) : 100;
    const size_t want = size_t(std::min<uint64_t>(pmax, 1u << 20));
    const std::vector<shmring::PeekedRecord> recs = (*ring)->Peek(want);
    std::string out;
    for (const shmring::PeekedRecord& rec : recs) {
      AppendRecord(&out, format, rec.position, rec.type, rec.producer, rec.payload);
    }
    if (fwrite(out.data(), 1, out.size(), stdout) != out.size() || fflush(stdout) != 0) {
      return Fail(absl::StrCat("read: writing to stdout failed"));
    }
    // The peek leaves damaged records out: say which, as verify finds them.
    const std::vector<std::string> bad =
        PeekProblems(**ring, recs.empty() ? 0 : recs.back().position, recs.size() < want);
    if (!bad.empty()) {
      std::cerr << "shmctl: note: the peek left out damaged records (verify: " << bad.size()
                << (bad.size() == 1 ? " problem" : " problems") << "):\n";
      for (const std::string& p : bad) std::cerr << "shmctl:   " << p << "\n";
    }
    return kExitOk;
  }
  const uint64_t max = a.Has("max") ? ParseUint("max", *a.Get("max")) : UINT64_MAX;
  // Idle timeout: stop after this long without a record. Default: 0 (drain and stop),
  // or forever with --follow.
  const double timeout_s = a.Has("timeout") ? ParseSeconds("timeout", *a.Get("timeout")) : (follow ? -1 : 0);

  auto ring = shmring::Ring::Open(a.positional()[0]);
  if (!ring.ok()) return Fail(ring.status());
  auto reader = shmring::Reader::Attach(*ring, *a.Get("group"), {.auto_commit = false});
  if (!reader.ok()) return Fail(reader.status());
  const shmring::AttachReport& rep = (*reader)->attach_report();
  if (rep.lost_while_away > 0) {
    std::cerr << "shmctl: note: " << rep.lost_while_away << " records were overwritten while group '"
              << *a.Get("group") << "' had no reader\n";
  }
  InstallStopHandlers();

  // Records the group loses during the read (skipped as corrupt, overwritten) are
  // reported from its counters (ahead of the next records printed) at most once a
  // second, and at the end.
  const std::string group = *a.Get("group");  // a copy: Get returns the value by value
  GroupLoss reported = GroupLossCounters(**ring, (*reader)->group());
  auto last_loss_check = Clock::now();
  auto report_loss = [&](std::string* into) {
    const GroupLoss now = GroupLossCounters(**ring, (*reader)->group());
    ReportLoss(now - reported, group, format, into);
    reported = now;
    last_loss_check = Clock::now();
  };
  uint64_t got = 0;
  auto last = Clock::now();
  std::string out;
  while (got < max && !g_stop.load()) {
    const size_t want = size_t(std::min<uint64_t>(max - got, 256));
    auto batch = timeout_s == 0 ? (*reader)->Poll(want) : (*reader)->Wait(want, std::chrono::milliseconds(100));
    if (!batch.ok()) return Fail(batch.status());
    out.clear();
    if (Clock::now() - last_loss_check >= std::chrono::seconds(1)) report_loss(&out);
    if (batch->empty()) {
      if (fwrite(out.data(), 1, out.size(), stdout) != out.size() || fflush(stdout) != 0) {
        return Fail("read: writing to stdout failed");
      }
      const double idle = std::chrono::duration<double>(Clock::now() - last).count();
      if (timeout_s >= 0 && idle >= timeout_s) break;
      continue;
    }
    for (const shmring::RecordView& rv : *batch) {
      AppendRecord(&out, format, rv.position, rv.type, rv.producer,
                   std::string_view(reinterpret_cast<const char*>(rv.payload.data()), rv.payload.size()));
    }
    got += batch->size();
    last = Clock::now();
    // Output first, then commit: a record is consumed only once it reached stdout.
    if (fwrite(out.data(), 1, out.size(), stdout) != out.size() || fflush(stdout) != 0) {
      return Fail(absl::StrCat("read: writing to stdout failed; ", batch->size(), " records left uncommitted"));
    }
    if (absl::Status s = (*reader)->Commit(); !s.ok()) return Fail(s);
  }
  out.clear();
  report_loss(&out);
  if (fwrite(out.data(), 1, out.size(), stdout) != out.size() || fflush(stdout) != 0) {
    return Fail("read: writing to stdout failed");
  }
  return kExitOk;
}

}  // namespace shmctl
