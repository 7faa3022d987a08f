// Writes the seed corpora from real rings: fuzz_make_corpus OUTDIR
//   OUTDIR/attach/*        whole ring files (plus a few broken ones)
//   OUTDIR/{drain,stats_verify,recover}/*   image inputs (fuzz_common.h: control, groups,
//                                           producer slots, data area of the template geometry)
//   OUTDIR/ops/*           op sequences for the structure-aware target
// Every ring has the template geometry (capacity 4096, 4 producer slots, groups a and b).
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <random>
#include <string>

#include "fuzz_common.h"
#include "shmring/producer.h"
#include "shmring/reader.h"

using namespace shmring;
using namespace shmring_fuzz;

namespace {

std::string out_dir;

void Put(const std::string& target, const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string dir = out_dir + "/" + target;
  mkdir(dir.c_str(), 0755);
  const std::string path = dir + "/" + name;
  if (!WriteFile(path, bytes.data(), bytes.size())) {
    fprintf(stderr, "cannot write %s\n", path.c_str());
    exit(1);
  }
}

void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
    exit(1);
  }
}

std::string Payload(uint64_t seq, size_t len) {
  std::string p(len, '\0');
  FillPayload(reinterpret_cast<uint8_t*>(p.data()), len, seq);
  return p;
}

// n message batches of 1..8 messages of `len` bytes (0: varied), one record each.
void WriteBatches(const std::shared_ptr<Ring>& ring, int n, size_t len, uint64_t* seq) {
  auto p = Producer::Attach(ring);
  Check(p.status(), "producer attach");
  for (int i = 0; i < n; ++i) {
    std::vector<std::string> texts;
    std::vector<Message> ms;
    for (int k = 0; k <= (i + *seq) % 8; ++k) texts.push_back(Payload(++*seq, len ? len : 16 + (*seq * 7) % 60));
    for (const std::string& t : texts) ms.push_back({std::as_bytes(std::span(t.data(), t.size())), uint16_t(i)});
    Check((*p)->WriteMessages(ms), "write messages");
  }
}

// A ring scenario: build it, then save it for every target.
struct Scenario {
  std::string name;
  Policy policy = Policy::kBlock;
  bool checksums = true;
  uint64_t initial_position = 0;
};

void Save(const std::string& name, const std::string& path, bool attach_too) {
  const std::vector<uint8_t> file = ReadFile(path);
  if (file.size() != kTotalSize) {
    fprintf(stderr, "%s: unexpected size %zu\n", name.c_str(), file.size());
    exit(1);
  }
  const std::vector<uint8_t> in = ExtractInput(file);
  Put("drain", name, in);
  Put("stats_verify", name, in);
  Put("recover", name, in);
  if (attach_too) Put("attach", name, file);
}

template <typename Fn>
void Build(const Scenario& sc, bool attach_too, Fn&& fn) {
  const std::string path = UniquePath("corpus");
  unlink(path.c_str());
  CreateOptions o = TemplateOptions(sc.policy, sc.checksums);
  o.initial_position = sc.initial_position;
  auto ring = Ring::Create(path, o);
  Check(ring.status(), "create");
  fn(*ring);
  Save(sc.name, path, attach_too);
  ring->reset();
  unlink(path.c_str());
}

void WriteN(const std::shared_ptr<Ring>& ring, int n, size_t len, uint64_t* seq) {
  ProducerOptions po;
  po.block_timeout = std::chrono::milliseconds(1);
  auto p = Producer::Attach(ring, po);
  Check(p.status(), "producer");
  for (int i = 0; i < n; ++i) {
    const size_t l = len ? len : 12 + (*seq * 37) % 200;
    (void)(*p)->Write(Payload(++*seq, l));
  }
}

void ReadAll(const std::shared_ptr<Ring>& ring, const char* group, size_t max_records) {
  auto rd = Reader::Attach(ring, group);
  Check(rd.status(), "reader");
  size_t got = 0;
  while (got < max_records) {
    auto b = (*rd)->Poll(std::min<size_t>(64, max_records - got));
    if (!b.ok() || b->empty()) break;
    got += b->size();
  }
  Check((*rd)->Commit(), "commit");
}

// A producer in a child process that reserves and dies without committing.
void DieMidWrite(const std::string& path, size_t len, int committed_first) {
  const pid_t pid = fork();
  if (pid == 0) {
    auto ring = Ring::Open(path);
    if (!ring.ok()) _exit(1);
    auto p = Producer::Attach(*ring);
    if (!p.ok()) _exit(1);
    uint64_t seq = 1000;
    for (int i = 0; i < committed_first; ++i) (void)(*p)->Write(Payload(++seq, 40));
    auto r = (*p)->Reserve(len);
    if (!r.ok()) _exit(1);
    memset(r->data().data(), 0xab, len / 2);  // half-written
    _exit(0);  // no commit, no abort: the claim stays in flight
  }
  int st = 0;
  waitpid(pid, &st, 0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }
  out_dir = argv[1];
  mkdir(out_dir.c_str(), 0755);
  uint64_t seq = 0;

  Build({"empty"}, true, [](auto&) {});
  Build({"few_records"}, true, [&](auto& r) { WriteN(r, 5, 0, &seq); });
  Build({"few_records_nosum", Policy::kReject, false}, true, [&](auto& r) { WriteN(r, 5, 0, &seq); });
  Build({"partly_read"}, false, [&](auto& r) {
    WriteN(r, 12, 0, &seq);
    ReadAll(r, "a", 7);
  });
  // Wrapped: several laps, explicit padding records at the wrap, groups at different places.
  Build({"wrapped", Policy::kReject}, true, [&](auto& r) {
    for (int lap = 0; lap < 5; ++lap) {
      WriteN(r, 9, 100 + lap * 8, &seq);
      ReadAll(r, "a", 100);
      ReadAll(r, "b", 100);
    }
    WriteN(r, 4, 150, &seq);
    ReadAll(r, "a", 2);
  });
  // Implicit padding: a record ending less than a header before the wrap.
  Build({"implicit_padding", Policy::kReject}, false, [&](auto& r) {
    WriteN(r, 3, 992, &seq);  // 3 x 1024 bytes
    ReadAll(r, "a", 100);
    ReadAll(r, "b", 100);
    WriteN(r, 1, 968, &seq);  // 1000 bytes: 24 left before the wrap, less than a header
    ReadAll(r, "a", 100);
    ReadAll(r, "b", 100);
    WriteN(r, 3, 200, &seq);
  });
  Build({"aborted_and_batch", Policy::kReject}, true, [&](auto& r) {
    auto p = Producer::Attach(r);
    Check(p.status(), "producer");
    (void)(*p)->Write(Payload(++seq, 30));
    auto res = (*p)->Reserve(64);
    if (res.ok()) (*p)->Abort(*res);
    const uint32_t lens[] = {20, 50, 12};
    auto b = (*p)->ReserveBatch(lens);
    if (b.ok()) {
      for (size_t i = 0; i < b->size(); ++i) {
        FillPayload(reinterpret_cast<uint8_t*>(b->data(i).data()), b->data(i).size(), ++seq);
      }
      Check((*p)->Commit(*b), "batch commit");
    }
    auto b2 = (*p)->ReserveBatch(lens);
    if (b2.ok()) (*p)->Abort(*b2);
    (void)(*p)->Write(Payload(++seq, 90));
  });
  Build({"overwritten", Policy::kOverwrite, true}, true, [&](auto& r) {
    WriteN(r, 40, 0, &seq);  // several laps over groups that never read
    ReadAll(r, "b", 3);
  });
  Build({"positions_near_2_64", Policy::kReject, true, uint64_t{0} - 4096 - 64}, true, [&](auto& r) {
    WriteN(r, 10, 120, &seq);
    ReadAll(r, "a", 100);
    WriteN(r, 10, 120, &seq);
  });
  // Dead producers with claims in flight (what Recover and a stuck reader settle).
  Build({"dead_producer_claim", Policy::kReject}, true, [&](auto& r) {
    WriteN(r, 3, 60, &seq);
    DieMidWrite(r->path(), 100, 2);
    WriteN(r, 2, 60, &seq);  // committed behind the dead claim
  });
  Build({"dead_producer_wrap", Policy::kReject}, false, [&](auto& r) {
    for (int i = 0; i < 3; ++i) {
      WriteN(r, 5, 150, &seq);
      ReadAll(r, "a", 100);
      ReadAll(r, "b", 100);
    }
    DieMidWrite(r->path(), 700, 0);  // the claim includes a padding to the wrap
  });
  Build({"recovered", Policy::kReject}, true, [&](auto& r) {
    WriteN(r, 3, 60, &seq);
    DieMidWrite(r->path(), 100, 1);
    (void)r->Recover();
    WriteN(r, 1, 60, &seq);
  });
  Build({"group_removed_readded", Policy::kReject}, false, [&](auto& r) {
    WriteN(r, 4, 80, &seq);
    Check(r->RemoveGroup("b"), "remove group");
    WriteN(r, 2, 80, &seq);
    (void)r->AddGroup("c-1.x");
    WriteN(r, 2, 80, &seq);
  });

  // Message batches (spec/LAYOUT.md §6.4), mixed with plain records, over the wrap.
  Build({"message_batches"}, true, [&](auto& r) {
    WriteBatches(r, 6, 0, &seq);
    WriteN(r, 2, 40, &seq);
    WriteBatches(r, 2, 24, &seq);
  });
  Build({"message_batches_laps", Policy::kOverwrite}, false, [&](auto& r) {
    for (int lap = 0; lap < 3; ++lap) WriteBatches(r, 8, 0, &seq);
  });
  Build({"message_batches_nosum", Policy::kReject, false}, false, [&](auto& r) { WriteBatches(r, 5, 0, &seq); });

  // attach: broken files.
  Put("attach", "tiny", std::vector<uint8_t>(16, 0x5a));
  {
    const std::vector<uint8_t>& t = Template(Policy::kBlock, true);
    Put("attach", "superblock_only", std::vector<uint8_t>(t.begin(), t.begin() + 4096));
    Put("attach", "truncated", std::vector<uint8_t>(t.begin(), t.end() - 4096));
  }

  // ops: a few structured sequences and some pseudo-random ones.
  {
    // cfg, then (op, args...) with FuzzedDataProviderLite's encoding (fuzz_common.h).
    auto ops = [](uint8_t cfg, int rounds) {
      std::vector<uint8_t> v{cfg};
      for (int i = 0; i < rounds; ++i) {
        v.insert(v.end(), {0, 0, uint8_t(40 + i * 13)});  // write: len 12 + ..
        v.insert(v.end(), {0, 0, uint8_t(200 - i * 7)});
        v.insert(v.end(), {1, 0, 30});                    // reserve and hold
        v.insert(v.end(), {4, 2, 0, 20, 0, 40, 0, 60, 1});  // batch of 3, commit
        v.insert(v.end(), {2});                           // commit held
        v.insert(v.end(), {5, 63});                       // poll
        if (i % 3 == 2) v.insert(v.end(), {7, 4, 0, 16, 7, 0, 0xff});  // corrupt a data byte
        if (i % 4 == 3) v.insert(v.end(), {9});           // stats + verify
        v.insert(v.end(), {11, 3, 20, 40, 60, 80, 1});    // message batch of 4, commit
      }
      v.insert(v.end(), {6, 8, 10, 5, 63});
      return v;
    };
    Put("ops", "reject_laps", ops(0, 12));
    Put("ops", "overwrite_laps", ops(1, 12));
    Put("ops", "block_laps_manual_commit", ops(2, 12));
    std::mt19937_64 rng(7);
    for (int i = 0; i < 6; ++i) {
      std::vector<uint8_t> v(64 + rng() % 400);
      for (auto& b : v) b = uint8_t(rng());
      Put("ops", "random" + std::to_string(i), v);
    }
  }
  printf("corpus written to %s\n", out_dir.c_str());
  return 0;
}
