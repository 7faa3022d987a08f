// Worker process of the kill -9 torture test (torture_test.cc). Linked with
// shmring_fi: SHMRING_FAULT_KILL_AT=N [SHMRING_FAULT_POINT=name] in the
// environment makes the N-th hit of a fault point SIGKILL this process there.
//
//   shmring-torture-worker producer RING ID SEQ_START COUNT DONE_FILE
//     Writes records seq = SEQ_START .. SEQ_START+COUNT-1 with self-describing
//     payloads (torture_common.h), mixing Write, Reserve/Commit, ReserveBatch/Commit
//     and (for IsAbortSeq) Reserve/Abort. A claim that fails for lack of room is
//     retried with the same seq. SIGUSR1: stop after the current record, write
//     "NEXT_SEQ\n" to DONE_FILE and exit 0.
//   shmring-torture-worker consumer RING GROUP LOG_FILE
//     Reads with auto_commit=false; appends every received (id, seq) to LOG_FILE
//     (O_APPEND) BEFORE committing the cursor, then a commit marker. SIGUSR1: exit 0.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/stats.h"
#include "torture_common.h"

using namespace std::chrono_literals;
using namespace shmring;
using namespace shmring::torture;

namespace {

volatile sig_atomic_t g_stop = 0;
void OnStop(int) { g_stop = 1; }

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
}

[[noreturn]] void Die(int code, const std::string& what) {
  fprintf(stderr, "torture-worker pid %d: %s\n", getpid(), what.c_str());
  fflush(stderr);
  _exit(code);
}

std::shared_ptr<Ring> OpenRing(const char* name) {
  auto ring = Ring::Open(name);
  if (!ring.ok()) Die(kExitApiError, "open: " + ring.status().ToString());
  return *ring;
}

bool Retryable(const absl::Status& s) { return absl::IsDeadlineExceeded(s) || absl::IsResourceExhausted(s); }

int RunProducer(const char* ring_name, uint32_t id, uint64_t seq, uint64_t count, const char* done_file) {
  auto ring = OpenRing(ring_name);
  std::unique_ptr<Producer> p;
  for (int i = 0; !p; ++i) {
    auto a = Producer::Attach(ring, ProducerOptions{.block_timeout = 1s});
    if (a.ok()) {
      p = std::move(*a);
    } else if (absl::IsResourceExhausted(a.status()) && i < 500) {
      std::this_thread::sleep_for(10ms);
    } else {
      Die(kExitAttach, "producer attach: " + a.status().ToString());
    }
  }
  std::mt19937_64 rng(Mix(id * 7919ull + 1));
  // Repro tests pin the operation: SHMRING_WORKER_OP=batch makes every write a batch,
  // =write every write a copy-in Write of one record.
  const char* only = getenv("SHMRING_WORKER_OP");
  const bool only_batches = only != nullptr && std::string(only) == "batch";
  const bool only_writes = only != nullptr && std::string(only) == "write";
  const uint64_t end = seq + count;
  std::vector<uint32_t> lens;
  while (seq < end && !g_stop) {
    if (IsAbortSeq(id, seq)) {
      const size_t len = PayloadLen(id, seq);
      auto r = p->Reserve(len);
      if (!r.ok()) {
        if (Retryable(r.status())) continue;
        Die(kExitApiError, "reserve (abort): " + r.status().ToString());
      }
      FillPayload(r->data().data(), len / 2, id, seq);  // half written, then aborted
      p->Abort(*r);
      ++seq;
      continue;
    }
    const int op = only_batches ? 7 : only_writes ? 0 : int(rng() % 8);
    if (op < 3) {  // copy-in Write
      std::vector<std::byte> buf(PayloadLen(id, seq));
      FillPayload(buf.data(), buf.size(), id, seq);
      absl::Status s = p->Write(buf);
      if (!s.ok()) {
        if (Retryable(s)) continue;
        Die(absl::IsAborted(s) ? kExitCommitAborted : kExitApiError, "write: " + s.ToString());
      }
      ++seq;
    } else if (op < 6) {  // zero-copy Reserve / Commit
      const size_t len = PayloadLen(id, seq);
      auto r = p->Reserve(len);
      if (!r.ok()) {
        if (Retryable(r.status())) continue;
        Die(kExitApiError, "reserve: " + r.status().ToString());
      }
      FillPayload(r->data().data(), len, id, seq);
      absl::Status s = p->Commit(*r);
      if (!s.ok()) Die(absl::IsAborted(s) ? kExitCommitAborted : kExitApiError, "commit: " + s.ToString());
      ++seq;
    } else {  // a batch of consecutive non-abort seqs
      const size_t want = 2 + rng() % 5;
      lens.clear();
      uint64_t total = 0;
      for (uint64_t s = seq; s < end && lens.size() < want && !IsAbortSeq(id, s); ++s) {
        const size_t len = PayloadLen(id, s);
        if (total + len + 64 > 4096) break;  // stay well below capacity / 2
        lens.push_back(uint32_t(len));
        total += len + 64;
      }
      if (lens.empty()) lens.push_back(uint32_t(PayloadLen(id, seq)));
      auto b = p->ReserveBatch(lens);
      if (!b.ok()) {
        if (Retryable(b.status())) continue;
        Die(kExitApiError, "reserve batch: " + b.status().ToString());
      }
      for (size_t i = 0; i < lens.size(); ++i) FillPayload(b->data(i).data(), lens[i], id, seq + i);
      absl::Status s = p->Commit(*b);
      if (!s.ok()) Die(absl::IsAborted(s) ? kExitCommitAborted : kExitApiError, "batch commit: " + s.ToString());
      seq += lens.size();
    }
  }
  p.reset();  // frees the slot
  FILE* f = fopen(done_file, "w");
  if (f == nullptr) Die(kExitApiError, std::string("cannot write ") + done_file);
  fprintf(f, "%llu\n", static_cast<unsigned long long>(seq));
  fclose(f);
  return 0;
}

class Log {
 public:
  explicit Log(const char* path) {
    fd_ = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd_ < 0) Die(kExitApiError, std::string("cannot open log ") + path);
  }
  void Add(uint32_t kind, uint32_t id, uint64_t seq) { buf_.push_back(Entry{kind, id, seq}); }
  void Flush() {
    if (buf_.empty()) return;
    const char* p = reinterpret_cast<const char*>(buf_.data());
    size_t left = buf_.size() * sizeof(Entry);
    while (left > 0) {
      const ssize_t n = write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) Die(kExitApiError, "log write failed");
      p += n;
      left -= size_t(n);
    }
    buf_.clear();
  }

 private:
  int fd_ = -1;
  std::vector<Entry> buf_;
};

int RunConsumer(const char* ring_name, const char* group, const char* log_path) {
  auto ring = OpenRing(ring_name);
  Log log(log_path);
  std::unique_ptr<Reader> rd;
  for (int i = 0; !rd; ++i) {
    auto a = Reader::Attach(ring, group, ReaderOptions{.auto_commit = false, .spin = 50});
    if (a.ok()) {
      rd = std::move(*a);
    } else if (absl::IsFailedPrecondition(a.status()) && i < 1000) {  // the previous reader is still dying
      std::this_thread::sleep_for(5ms);
    } else {
      Die(kExitAttach, "reader attach: " + a.status().ToString());
    }
  }
  log.Add(kInc, uint32_t(getpid()), rd->attach_report().resumed_at);
  if (rd->attach_report().lost_while_away) log.Add(kLost, 0, rd->attach_report().lost_while_away);
  log.Flush();
  std::map<uint32_t, uint32_t> ring_producer;  // payload id -> RecordView::producer
  uint64_t pending_since = 0, max_gap = 0, logged_gap = 0;
  while (!g_stop) {
    auto b = rd->Wait(64, 50ms);
    if (!b.ok()) Die(kExitApiError, "wait: " + b.status().ToString());
    const uint64_t now = NowNs();
    if (b->empty()) {
      // Records pending (committed or claimed past our cursor) but none came?
      const RingStats st = ring->Stats();
      const bool pending = st.tail != rd->committed_position();
      if (pending && pending_since == 0) pending_since = now;
      if (!pending) pending_since = 0;
      if (pending_since != 0 && now - pending_since > max_gap) max_gap = now - pending_since;
      continue;
    }
    if (pending_since != 0 && now - pending_since > max_gap) max_gap = now - pending_since;
    pending_since = 0;
    for (const RecordView& v : *b) {
      uint32_t id = 0;
      uint64_t seq = 0;
      const char* why = CheckPayload(v.payload.data(), v.payload.size(), &id, &seq);
      if (why == nullptr) {
        auto [it, fresh] = ring_producer.emplace(id, v.producer);
        if (!fresh && it->second != v.producer) why = "records of one payload id came from two producer slots";
      }
      if (why != nullptr) {
        log.Add(kCorrupt, id, seq);
        log.Flush();
        Die(kExitCorrupt, std::string("corrupt record at position ") + std::to_string(v.position) + " (id " +
                              std::to_string(id) + " seq " + std::to_string(seq) + " len " +
                              std::to_string(v.payload.size()) + "): " + why);
      }
      log.Add(kRec, id, seq);
    }
    log.Flush();  // the log is a superset of what the cursor commit below covers
    absl::Status s = rd->Commit();
    if (!s.ok()) Die(absl::IsAborted(s) ? kExitFenced : kExitApiError, "commit: " + s.ToString());
    log.Add(kCommit, 0, rd->committed_position());
    if (max_gap > logged_gap + 50'000'000) {
      log.Add(kGap, 0, max_gap);
      logged_gap = max_gap;
    }
    log.Flush();
  }
  if (max_gap > logged_gap) log.Add(kGap, 0, max_gap);
  log.Flush();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return kExitUsage;  // the supervisor is already gone
  struct sigaction sa {};
  sa.sa_handler = OnStop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, nullptr);
  sigset_t usr1;  // the supervisor spawns us with SIGUSR1 blocked (it may stop us at once)
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_UNBLOCK, &usr1, nullptr);
  if (argc == 7 && std::string(argv[1]) == "producer") {
    return RunProducer(argv[2], uint32_t(strtoul(argv[3], nullptr, 10)), strtoull(argv[4], nullptr, 10),
                       strtoull(argv[5], nullptr, 10), argv[6]);
  }
  if (argc == 5 && std::string(argv[1]) == "consumer") return RunConsumer(argv[2], argv[3], argv[4]);
  fprintf(stderr,
          "usage: %s producer RING ID SEQ_START COUNT DONE_FILE\n"
          "       %s consumer RING GROUP LOG_FILE\n",
          argv[0], argv[0]);
  return kExitUsage;
}
