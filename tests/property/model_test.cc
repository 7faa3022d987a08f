// Model-based property test: random single-threaded sequences of producer and
// reader operations on a small ring, for each full policy, checked step by step
// against a plain in-memory model of the ring (records by position, one cursor
// per group, one "next" per attached reader, the policy's full rule).
//
// The model is exact: it predicts which writes fail, which records each Poll
// returns (position, payload, type, producer), where every cursor stands and
// every counter that Ring::Stats reports. At the end of each sequence everything
// is drained and the policy's end-to-end property is checked:
//   block/reject: every committed record is delivered exactly once per group, in
//                 each producer's commit order; failed writes are counted as dropped.
//   overwrite:    delivered records are a subsequence of the committed ones, never
//                 torn, and per group delivered + overwritten + lag == committed.
// Run more cases with e.g. RC_PARAMS="max_success=2000 max_size=200".
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "shmring/producer.h"
#include "shmring/reader.h"
#include "shmring/stats.h"
#include "test_ring.h"

namespace shmring {
namespace {

using testing::ScopedRingName;

constexpr uint64_t kHeader = 32;
uint64_t RecordSize(uint64_t len) { return (kHeader + len + 7) & ~uint64_t{7}; }

// The bytes of record `id` (payloads are a function of the id and length only).
std::byte PayloadByte(uint64_t id, uint32_t len, uint32_t i) {
  return std::byte((id * 131 + uint64_t{i} * 7 + len) & 0xff);
}
void FillPayload(std::span<std::byte> out, uint64_t id) {
  for (uint32_t i = 0; i < out.size(); ++i) out[i] = PayloadByte(id, uint32_t(out.size()), i);
}
bool PayloadMatches(std::span<const std::byte> got, uint64_t id, uint32_t len) {
  if (got.size() != len) return false;
  for (uint32_t i = 0; i < len; ++i) {
    if (got[i] != PayloadByte(id, len, i)) return false;
  }
  return true;
}

enum class OpKind { kWrite, kReserve, kCommitOpen, kAbortOpen, kBatch, kPoll, kCommitCursor, kDetach, kAttach };

struct Op {
  OpKind kind;
  uint32_t who;   // producer or group index (modulo the count)
  uint32_t a;     // size code / poll max code
  uint32_t b;     // variant bits
  std::vector<uint32_t> lens;  // batch size codes
};

const char* KindName(OpKind k) {
  switch (k) {
    case OpKind::kWrite: return "Write";
    case OpKind::kReserve: return "Reserve";
    case OpKind::kCommitOpen: return "CommitOpen";
    case OpKind::kAbortOpen: return "AbortOpen";
    case OpKind::kBatch: return "Batch";
    case OpKind::kPoll: return "Poll";
    case OpKind::kCommitCursor: return "CommitCursor";
    case OpKind::kDetach: return "Detach";
    case OpKind::kAttach: return "Attach";
  }
  return "?";
}

void showValue(const Op& op, std::ostream& os) {
  os << KindName(op.kind) << "(who=" << op.who << ", a=" << op.a << ", b=" << op.b;
  if (op.kind == OpKind::kBatch) {
    os << ", lens=[";
    for (uint32_t l : op.lens) os << l << " ";
    os << "]";
  }
  os << ")";
}

// `read_weight` small: producers outrun the readers, the ring fills up.
rc::Gen<OpKind> GenKind(int read_weight) {
  return rc::gen::weightedElement<OpKind>({{18, OpKind::kWrite},
                                           {8, OpKind::kReserve},
                                           {6, OpKind::kCommitOpen},
                                           {3, OpKind::kAbortOpen},
                                           {6, OpKind::kBatch},
                                           {read_weight, OpKind::kPoll},
                                           {read_weight / 2 + 1, OpKind::kCommitCursor},
                                           {3, OpKind::kDetach},
                                           {4, OpKind::kAttach}});
}

rc::Gen<Op> GenOp(int read_weight) {
  return rc::gen::apply(
      [](OpKind k, uint32_t who, uint32_t a, uint32_t b, std::vector<uint32_t> lens) {
        return Op{k, who, a, b, std::move(lens)};
      },
      GenKind(read_weight), rc::gen::inRange<uint32_t>(0, 3), rc::gen::arbitrary<uint32_t>(), rc::gen::arbitrary<uint32_t>(),
      rc::gen::resize(6, rc::gen::container<std::vector<uint32_t>>(rc::gen::arbitrary<uint32_t>())));
}

// A payload length from a size code: 0, max_record, max_record + 1 (refused),
// small, or anything up to max_record.
uint32_t SizeFrom(uint32_t code, uint32_t max_record, bool batch) {
  const uint32_t r = code >> 4;
  switch (code % 16) {
    case 0: return 0;
    case 1: return batch ? r % 24 : max_record;
    case 2: return (r % 8 == 0) ? max_record + 1 : r % 24;
    case 3: case 4: case 5: case 6: case 7: case 8: return r % 48;
    default: return batch ? r % 200 : r % (max_record + 1);
  }
}

size_t PollMaxFrom(uint32_t code) {
  static constexpr size_t kMax[] = {0, 1, 1, 2, 3, 5, 8, 64, 64, 1000};
  return kMax[code % 10];
}

// ---- the model ----

enum class Kind { kData, kBusy, kSkip, kPad };

struct MRec {
  uint64_t pos = 0, size = 0;
  Kind kind = Kind::kPad;
  uint64_t id = 0;  // reservation id (data/busy/skip)
  uint32_t len = 0;
  uint16_t type = 0;
  uint32_t slot = 0;    // producer slot
  int producer = -1;    // producer index in the test
};

struct MGroup {
  size_t cursor = 0;             // index into recs of the committed cursor
  bool attached = false;
  bool auto_commit = false;
  size_t next = 0;               // reader's next index (== cursor unless polled uncommitted)
  uint64_t delivered = 0, overwritten = 0;
  std::vector<uint64_t> passed;  // ids of data records the cursor passed by a commit (delivered)
};

struct Open {
  std::vector<size_t> idx;  // model record indices of the open claim
  bool batch = false;
};

class Model {
 public:
  Model(Policy policy, uint64_t cap, uint32_t max_record, uint64_t initial, int groups)
      : policy_(policy), cap_(cap), max_record_(max_record), tail_(initial), groups_(groups) {}

  Policy policy_;
  uint64_t cap_;
  uint32_t max_record_;
  uint64_t tail_;
  std::vector<MRec> recs;
  std::vector<MGroup> groups_;
  uint64_t committed = 0, dropped = 0, aborted = 0;
  std::vector<uint64_t> commit_order;                 // ids in commit order
  std::map<uint64_t, int> producer_of;                // id -> producer index
  uint64_t next_id = 1;

  uint64_t PosOf(size_t idx) const { return idx < recs.size() ? recs[idx].pos : tail_; }

  // Outcome of claiming `size` bytes: ok, or the error code the ring must return.
  absl::StatusCode Claim(uint64_t size, uint64_t* pos_out) {
    const uint64_t t = tail_;
    const uint64_t rem = cap_ - (t % cap_);
    const uint64_t pad = rem < size ? rem : 0;
    const uint64_t end = t + pad + size;
    uint64_t oldest = 0;
    for (auto& g : groups_) oldest = std::max(oldest, t - PosOf(g.cursor));
    // A claim ends at least 32 bytes short of a full lap (spec/PROTOCOL.md §3).
    if (end + 32 - (t - oldest) > cap_) {
      if (policy_ == Policy::kBlock) return absl::StatusCode::kDeadlineExceeded;
      if (policy_ == Policy::kReject) return absl::StatusCode::kResourceExhausted;
      // Overwrite: move every lagging group past the oldest records, unless a
      // record in the way is still being written (then that group stays).
      const uint64_t target = end + 32 - cap_;
      bool stuck = false;
      for (auto& g : groups_) {
        uint64_t p = PosOf(g.cursor);
        if (int64_t(target - p) <= 0) continue;
        size_t i = g.cursor;
        uint64_t data = 0;
        bool blocked = false;
        while (int64_t(target - PosOf(i)) > 0) {
          const MRec& r = recs.at(i);
          if (r.kind == Kind::kBusy) {
            blocked = true;
            break;
          }
          if (r.kind == Kind::kData) ++data;
          ++i;
        }
        if (blocked) {
          stuck = true;
          continue;
        }
        g.cursor = i;
        g.next = std::max(g.next, i);  // overwrite readers always read from the cursor
        g.overwritten += data;
      }
      if (stuck) return absl::StatusCode::kResourceExhausted;
    }
    if (pad > 0) recs.push_back(MRec{.pos = t, .size = pad, .kind = Kind::kPad});
    tail_ = end;
    *pos_out = t + pad;
    return absl::StatusCode::kOk;
  }

  // Data records the cursor passes when moving from `from` to `to`.
  void Pass(MGroup& g, size_t to) {
    for (size_t i = g.cursor; i < to; ++i) {
      if (recs[i].kind == Kind::kData) {
        ++g.delivered;
        g.passed.push_back(recs[i].id);
      }
    }
    g.cursor = to;
  }

  // What a Poll(max) returns from `from`; sets *end to the reader's new next.
  std::vector<size_t> Scan(size_t from, size_t max, size_t* end) const {
    std::vector<size_t> out;
    size_t i = from;
    while (out.size() < max && i < recs.size()) {
      const MRec& r = recs[i];
      if (r.kind == Kind::kBusy) break;
      if (r.kind == Kind::kData) out.push_back(i);
      ++i;
    }
    *end = i;
    return out;
  }

  uint64_t Lag(const MGroup& g) const {
    uint64_t n = 0;
    for (size_t i = g.cursor; i < recs.size(); ++i) n += recs[i].kind == Kind::kData || recs[i].kind == Kind::kBusy;
    return n;
  }
};

// ---- the system under test, driven in lockstep with the model ----

struct Config {
  Policy policy;
  uint64_t capacity;
  uint32_t max_record;  // 0: the ring's default
  uint64_t initial;
  int groups;
  int producers;
};

void CheckStats(const Ring& ring, const Model& m, const char* when) {
  const RingStats st = ring.Stats();
  RC_ASSERT(st.tail == m.tail_);
  RC_ASSERT(st.committed == m.committed);
  RC_ASSERT(st.dropped == m.dropped);
  RC_ASSERT(st.aborted == m.aborted);
  RC_ASSERT(st.groups.size() == m.groups_.size());
  for (size_t g = 0; g < m.groups_.size(); ++g) {
    const GroupStats& gs = st.groups[g];
    const MGroup& mg = m.groups_[g];
    RC_ASSERT(gs.name == "g" + std::to_string(g));
    if (gs.cursor != m.PosOf(mg.cursor) || gs.delivered != mg.delivered || gs.overwritten != mg.overwritten ||
        gs.lag_records != m.Lag(mg) || gs.corrupt != 0 || gs.abandoned != 0 || gs.evicted) {
      RC_FAIL("group g" + std::to_string(g) + " after " + when + ": cursor " + std::to_string(gs.cursor) + " (model " +
              std::to_string(m.PosOf(mg.cursor)) + "), delivered " + std::to_string(gs.delivered) + " (model " +
              std::to_string(mg.delivered) + "), overwritten " + std::to_string(gs.overwritten) + " (model " +
              std::to_string(mg.overwritten) + "), lag " + std::to_string(gs.lag_records) + " (model " +
              std::to_string(m.Lag(mg)) + "), corrupt " + std::to_string(gs.corrupt) + ", evicted " +
              std::to_string(gs.evicted));
    }
  }
}

void RunSequence(const Config& cfg, const std::vector<Op>& ops) {
  ScopedRingName name;
  CreateOptions o;
  o.capacity = cfg.capacity;
  o.max_record = cfg.max_record;
  o.policy = cfg.policy;
  o.initial_position = cfg.initial;
  o.evict_after_ms = 3'600'000;  // no eviction of detached groups during a sequence
  o.unblock_after_ms = 3'600'000;
  o.stale_after_ms = 3'600'000;
  for (int g = 0; g < cfg.groups; ++g) o.groups.push_back("g" + std::to_string(g));
  auto created = Ring::Create(*name, o);
  RC_ASSERT(created.ok());
  std::shared_ptr<Ring> ring = *created;
  const uint32_t max_record = ring->max_record();
  Model m(cfg.policy, cfg.capacity, max_record, cfg.initial, cfg.groups);

  // Zero timeout: a full ring under block fails at once with DeadlineExceeded.
  ProducerOptions po;
  po.block_timeout = std::chrono::nanoseconds(0);
  std::vector<std::unique_ptr<Producer>> producers;
  std::vector<uint32_t> slots;
  for (int p = 0; p < cfg.producers; ++p) {
    auto pr = Producer::Attach(ring, po);
    RC_ASSERT(pr.ok());
    slots.push_back((*pr)->slot());
    producers.push_back(std::move(*pr));
  }
  std::vector<std::optional<Reservation>> open_res(cfg.producers);
  std::vector<std::optional<BatchReservation>> open_batch(cfg.producers);
  std::vector<std::optional<Open>> open_model(cfg.producers);
  std::vector<std::unique_ptr<Reader>> readers(cfg.groups);
  std::vector<std::vector<uint64_t>> observed(cfg.groups);  // ids returned by Poll, in order (with redeliveries)

  auto attach = [&](int g, bool auto_commit) {
    auto rd = Reader::Attach(ring, "g" + std::to_string(g), ReaderOptions{.auto_commit = auto_commit, .spin = 0});
    RC_ASSERT(rd.ok());
    RC_ASSERT((*rd)->attach_report().resumed_at == m.PosOf(m.groups_[g].cursor));
    readers[g] = std::move(*rd);
    m.groups_[g].attached = true;
    m.groups_[g].auto_commit = auto_commit;
    m.groups_[g].next = m.groups_[g].cursor;  // uncommitted records are delivered again
  };
  for (int g = 0; g < cfg.groups; ++g) attach(g, false);

  // Registers new records for a successful claim at `pos`.
  auto add_records = [&](int p, uint64_t pos, const std::vector<uint32_t>& lens, uint16_t type, Kind kind,
                         std::vector<uint64_t>* ids) {
    Open op;
    for (uint32_t len : lens) {
      MRec r{.pos = pos, .size = RecordSize(len), .kind = kind, .id = m.next_id++, .len = len, .type = type,
             .slot = slots[p], .producer = p};
      m.producer_of[r.id] = p;
      ids->push_back(r.id);
      op.idx.push_back(m.recs.size());
      m.recs.push_back(r);
      pos += RecordSize(len);
    }
    return op;
  };
  auto commit_model = [&](const Open& op) {
    for (size_t i : op.idx) {
      m.recs[i].kind = Kind::kData;
      ++m.committed;
      m.commit_order.push_back(m.recs[i].id);
    }
  };
  auto abort_model = [&](const Open& op) {
    for (size_t i : op.idx) {
      m.recs[i].kind = Kind::kSkip;
      ++m.aborted;
    }
  };

  auto do_poll = [&](int g, size_t max) {
    MGroup& mg = m.groups_[g];
    auto got = readers[g]->Poll(max);
    RC_ASSERT(got.ok());
    std::vector<size_t> want;
    if (max > 0) {
      if (cfg.policy == Policy::kOverwrite) {
        size_t end;
        want = m.Scan(mg.cursor, max, &end);
        m.Pass(mg, end);
        mg.next = end;
      } else {
        if (mg.auto_commit) m.Pass(mg, mg.next);
        size_t end;
        want = m.Scan(mg.next, max, &end);
        mg.next = end;
      }
    }
    if (got->size() != want.size()) {
      RC_FAIL("Poll(" + std::to_string(max) + ") on g" + std::to_string(g) + " returned " +
              std::to_string(got->size()) + " records, the model expects " + std::to_string(want.size()));
    }
    for (size_t k = 0; k < want.size(); ++k) {
      const MRec& r = m.recs[want[k]];
      const RecordView& v = (*got)[k];
      RC_ASSERT(v.position == r.pos);
      RC_ASSERT(v.type == r.type);
      RC_ASSERT((v.producer & 0xffff) == r.slot);
      RC_ASSERT(PayloadMatches(v.payload, r.id, r.len));
      observed[g].push_back(r.id);
    }
  };

  auto commit_cursor = [&](int g) {
    MGroup& mg = m.groups_[g];
    RC_ASSERT(readers[g]->Commit().ok());
    if (cfg.policy != Policy::kOverwrite) m.Pass(mg, mg.next);
  };

  auto detach = [&](int g) {
    MGroup& mg = m.groups_[g];
    readers[g].reset();
    if (mg.auto_commit && cfg.policy != Policy::kOverwrite) m.Pass(mg, mg.next);
    mg.attached = false;
    mg.next = mg.cursor;
  };

  auto finish_open = [&](int p, bool commit) {
    if (!open_model[p]) return;
    if (open_res[p]) {
      if (commit) {
        RC_ASSERT(producers[p]->Commit(*open_res[p]).ok());
      } else {
        producers[p]->Abort(*open_res[p]);
      }
      open_res[p].reset();
    } else {
      if (commit) {
        RC_ASSERT(producers[p]->Commit(*open_batch[p]).ok());
      } else {
        producers[p]->Abort(*open_batch[p]);
      }
      open_batch[p].reset();
    }
    if (commit) {
      commit_model(*open_model[p]);
    } else {
      abort_model(*open_model[p]);
    }
    open_model[p].reset();
  };

  size_t step = 0;
  for (const Op& op : ops) {
    ++step;
    const int p = int(op.who % uint32_t(cfg.producers));
    const int g = int(op.who % uint32_t(cfg.groups));
    switch (op.kind) {
      case OpKind::kWrite:
      case OpKind::kReserve: {
        const uint32_t len = SizeFrom(op.a, max_record, false);
        const uint16_t type = uint16_t(op.b);
        std::vector<std::byte> payload(len);
        const uint64_t id_if_ok = m.next_id;
        FillPayload(payload, id_if_ok);
        absl::StatusCode want;
        uint64_t pos = 0;
        if (open_model[p]) {
          want = absl::StatusCode::kFailedPrecondition;
        } else if (len > max_record) {
          want = absl::StatusCode::kInvalidArgument;
          ++m.dropped;
        } else {
          want = m.Claim(RecordSize(len), &pos);
          if (want != absl::StatusCode::kOk) ++m.dropped;
        }
        if (op.kind == OpKind::kWrite) {
          absl::Status s = producers[p]->Write(payload, type);
          if (s.code() != want) {
            RC_FAIL("step " + std::to_string(step) + " Write(" + std::to_string(len) + "): " + s.ToString() +
                    ", the model expects " + absl::StatusCodeToString(want));
          }
          if (want == absl::StatusCode::kOk) {
            std::vector<uint64_t> ids;
            commit_model(add_records(p, pos, {len}, type, Kind::kBusy, &ids));
          }
        } else {
          auto r = producers[p]->Reserve(len, type);
          if (r.status().code() != want) {
            RC_FAIL("step " + std::to_string(step) + " Reserve(" + std::to_string(len) + "): " +
                    r.status().ToString() + ", the model expects " + absl::StatusCodeToString(want));
          }
          if (want == absl::StatusCode::kOk) {
            RC_ASSERT(r->position() == pos);
            RC_ASSERT(r->data().size() == len);
            std::vector<uint64_t> ids;
            open_model[p] = add_records(p, pos, {len}, type, Kind::kBusy, &ids);
            FillPayload(r->data(), ids[0]);
            open_res[p] = std::move(*r);
          }
        }
        break;
      }
      case OpKind::kCommitOpen:
        finish_open(p, true);
        break;
      case OpKind::kAbortOpen:
        if (open_model[p] && (op.b & 1)) {
          // Destroying an uncommitted reservation aborts it.
          open_res[p].reset();
          open_batch[p].reset();
          abort_model(*open_model[p]);
          open_model[p].reset();
        } else {
          finish_open(p, false);
        }
        break;
      case OpKind::kBatch: {
        std::vector<uint32_t> lens;
        uint64_t total = 0;
        bool oversize = false;
        for (uint32_t c : op.lens) {
          lens.push_back(SizeFrom(c, max_record, true));
          oversize |= lens.back() > max_record;
          total += RecordSize(lens.back());
        }
        const uint16_t type = uint16_t(op.b >> 8);
        absl::StatusCode want;
        uint64_t pos = 0;
        if (open_model[p]) {
          want = absl::StatusCode::kFailedPrecondition;
        } else if (oversize) {
          want = absl::StatusCode::kInvalidArgument;
          m.dropped += lens.size();
        } else if (lens.empty()) {
          want = absl::StatusCode::kInvalidArgument;
        } else if (total > cfg.capacity / 2 - 16) {  // layout::MaxClaim
          want = absl::StatusCode::kInvalidArgument;
          m.dropped += lens.size();
        } else {
          want = m.Claim(total, &pos);
          if (want != absl::StatusCode::kOk) m.dropped += lens.size();
        }
        auto b = producers[p]->ReserveBatch(lens, type);
        if (b.status().code() != want) {
          RC_FAIL("step " + std::to_string(step) + " ReserveBatch of " + std::to_string(lens.size()) + " (" +
                  std::to_string(total) + " bytes): " + b.status().ToString() + ", the model expects " +
                  absl::StatusCodeToString(want));
        }
        if (want != absl::StatusCode::kOk) break;
        RC_ASSERT(b->size() == lens.size());
        std::vector<uint64_t> ids;
        open_model[p] = add_records(p, pos, lens, type, Kind::kBusy, &ids);
        for (size_t i = 0; i < lens.size(); ++i) FillPayload(b->data(i), ids[i]);
        open_batch[p] = std::move(*b);
        switch (op.b % 4) {
          case 0: case 1: finish_open(p, true); break;
          case 2: break;  // stays open for a later CommitOpen / AbortOpen
          case 3: finish_open(p, false); break;
        }
        break;
      }
      case OpKind::kPoll:
        if (readers[g]) do_poll(g, PollMaxFrom(op.a));
        break;
      case OpKind::kCommitCursor:
        if (readers[g]) commit_cursor(g);
        break;
      case OpKind::kDetach:
        if (readers[g]) detach(g);
        break;
      case OpKind::kAttach:
        if (readers[g]) {
          // One reader per group: a second one is refused.
          auto second = Reader::Attach(ring, "g" + std::to_string(g));
          RC_ASSERT(second.status().code() == absl::StatusCode::kFailedPrecondition);
        } else {
          attach(g, (op.b & 1) != 0);
        }
        break;
    }
    CheckStats(*ring, m, KindName(op.kind));
  }

  // Drain: finish the open claims, give every group a reader, read everything.
  for (int p = 0; p < cfg.producers; ++p) finish_open(p, true);
  for (int g = 0; g < cfg.groups; ++g) {
    if (!readers[g]) attach(g, false);
    for (int rounds = 0;; ++rounds) {
      RC_ASSERT(rounds < 100000);
      const size_t before = observed[g].size();
      do_poll(g, 64);
      commit_cursor(g);
      if (observed[g].size() == before && m.groups_[g].cursor == m.recs.size()) break;
    }
  }
  CheckStats(*ring, m, "drain");

  // The end-to-end properties, stated on the model's books (which the ring matched
  // at every step) and on what the readers actually returned.
  const RingStats st = ring->Stats();
  for (int g = 0; g < cfg.groups; ++g) {
    const MGroup& mg = m.groups_[g];
    const GroupStats& gs = st.groups[g];
    if (cfg.policy != Policy::kOverwrite) {
      // Exactly once per group, each producer's records in commit order.
      std::vector<uint64_t> a = mg.passed, b = m.commit_order;
      RC_ASSERT(std::set<uint64_t>(a.begin(), a.end()).size() == a.size());
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      RC_ASSERT(a == b);
      for (int p = 0; p < cfg.producers; ++p) {
        std::vector<uint64_t> delivered_p, committed_p;
        for (uint64_t id : mg.passed) if (m.producer_of[id] == p) delivered_p.push_back(id);
        for (uint64_t id : m.commit_order) if (m.producer_of[id] == p) committed_p.push_back(id);
        RC_ASSERT(delivered_p == committed_p);
      }
      RC_ASSERT(gs.delivered == st.committed);
      RC_ASSERT(gs.overwritten == 0u);
    } else {
      // A subsequence of the committed records, in position order, none twice.
      std::vector<uint64_t> order;  // committed ids in position order
      for (const MRec& r : m.recs) if (r.kind == Kind::kData) order.push_back(r.id);
      size_t k = 0;
      for (uint64_t id : mg.passed) {
        while (k < order.size() && order[k] != id) ++k;
        RC_ASSERT(k < order.size());
        ++k;
      }
      RC_ASSERT(gs.delivered + gs.overwritten + gs.lag_records == st.committed);
    }
    // Every record a reader returned was one the model delivered (redeliveries included).
    RC_ASSERT(observed[g].size() >= mg.passed.size());
  }
  RC_ASSERT(st.dropped == m.dropped);
  RC_CLASSIFY(st.tail - cfg.initial > cfg.capacity, "wrapped");
  RC_CLASSIFY(st.tail - cfg.initial > 4 * cfg.capacity, "wrapped 4+ laps");
  RC_CLASSIFY(cfg.initial > st.tail, "crossed 2^64");
  RC_CLASSIFY(observed[0].size() > m.groups_[0].passed.size(), "redelivered after re-attach");
  RC_CLASSIFY(st.aborted > 0, "aborted some");
  RC_TAG(cfg.policy == Policy::kOverwrite ? (st.groups[0].overwritten > 0 ? "overwrote" : "no overwrite")
                                          : (st.dropped > 0 ? "dropped some" : "dropped none"));
}

Config GenConfig(Policy policy) {
  Config c;
  c.policy = policy;
  c.capacity = *rc::gen::element<uint64_t>(4096, 8192, 16384);
  switch (*rc::gen::inRange(0, 4)) {
    case 0: c.max_record = 0; break;  // the default: capacity / 4 - 32
    case 1: c.max_record = 64; break;
    case 2: c.max_record = *rc::gen::inRange<uint32_t>(1, uint32_t(c.capacity / 4)); break;
    default: c.max_record = uint32_t(c.capacity / 2 - 48); break;  // the largest allowed (layout::MaxClaim - 32)
  }
  // Positions from 0, just below 2^64 (the first laps cross the wrap) or just below 2^32.
  const uint64_t below = 8 * *rc::gen::inRange<uint64_t>(0, 4 * c.capacity / 8);
  switch (*rc::gen::inRange(0, 3)) {
    case 0: c.initial = 0; break;
    case 1: c.initial = uint64_t{0} - below; break;
    default: c.initial = (uint64_t{1} << 32) - below; break;
  }
  c.groups = *rc::gen::inRange(2, 4);
  c.producers = *rc::gen::inRange(1, 4);
  return c;
}

void Property(Policy policy) {
  const Config cfg = GenConfig(policy);
  RC_LOG() << "capacity " << cfg.capacity << ", max_record " << cfg.max_record << ", initial " << cfg.initial
           << ", groups " << cfg.groups << ", producers " << cfg.producers << "\n";
  const int read_weight = *rc::gen::element(3, 12, 24);
  const auto ops = *rc::gen::scale(20.0, rc::gen::container<std::vector<Op>>(GenOp(read_weight)));
  RunSequence(cfg, ops);
}

RC_GTEST_PROP(ModelProperty, RandomSequencesUnderBlockMatchTheModelAndDeliverEveryRecordExactlyOnce, ()) {
  Property(Policy::kBlock);
}

RC_GTEST_PROP(ModelProperty, RandomSequencesUnderRejectMatchTheModelAndDeliverEveryRecordExactlyOnce, ()) {
  Property(Policy::kReject);
}

RC_GTEST_PROP(ModelProperty, RandomSequencesUnderOverwriteMatchTheModelAndNeverDeliverATornRecord, ()) {
  Property(Policy::kOverwrite);
}

}  // namespace
}  // namespace shmring
