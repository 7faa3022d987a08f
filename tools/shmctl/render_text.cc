// Text rendering: aligned tables for ls and stat, human sizes and ages, ring state.
#include <algorithm>
#include <ctime>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "shmctl.h"

namespace shmctl {

using shmring::GroupStats;
using shmring::Liveness;
using shmring::ProducerStats;
using shmring::RingStats;

Table::Table(std::vector<std::string> header, std::string right_aligned)
    : header_(std::move(header)), right_(std::move(right_aligned)) {}

void Table::Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

void Table::Print(std::ostream& out, std::string_view indent) const {
  std::vector<size_t> width(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], row[i].size());
  };
  measure(header_);
  for (const auto& r : rows_) measure(r);
  auto print = [&](const std::vector<std::string>& row) {
    std::string line(indent);
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      const bool last = i + 1 == row.size();
      const bool right = i < right_.size() && right_[i] == 'r';
      const std::string pad(width[i] - row[i].size(), ' ');
      if (right) absl::StrAppend(&line, pad, row[i]);
      else absl::StrAppend(&line, row[i], last ? "" : pad);
      if (!last) line += "  ";
    }
    out << line << "\n";
  };
  print(header_);
  for (const auto& r : rows_) print(r);
}

std::string HumanBytes(uint64_t b) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  double v = double(b);
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  if (u == 0) return absl::StrCat(b, " B");
  if (v == double(uint64_t(v))) return absl::StrCat(uint64_t(v), " ", kUnits[u]);
  return absl::StrFormat("%.1f %s", v, kUnits[u]);
}

std::string HumanAge(uint64_t ns) {
  const double s = double(ns) / 1e9;
  if (s < 1) return absl::StrFormat("%dms", ns / 1000000);
  if (s < 60) return absl::StrFormat("%.1fs", s);
  const uint64_t secs = ns / 1000000000;
  if (secs < 3600) return absl::StrFormat("%dm%02ds", secs / 60, secs % 60);
  if (secs < 86400) return absl::StrFormat("%dh%02dm", secs / 3600, secs / 60 % 60);
  return absl::StrFormat("%dd%02dh", secs / 86400, secs / 3600 % 24);
}

uint64_t UsedRecords(const RingStats& s) {
  uint64_t worst_bytes = 0, records = 0;
  for (const GroupStats& g : s.groups) {
    if (g.evicted) continue;
    if (g.lag_bytes > worst_bytes || (g.lag_bytes == worst_bytes && g.lag_records > records)) {
      worst_bytes = g.lag_bytes;
      records = g.lag_records;
    }
  }
  return records;
}

std::string RingState(const RingStats& s) {
  std::vector<std::string> issues;
  bool any_live = false;
  std::vector<std::string> no_reader, stale, dead, evicted;
  for (const GroupStats& g : s.groups) {
    if (g.liveness == Liveness::kAlive) any_live = true;
    if (g.evicted) evicted.push_back(g.name);
    else if (g.liveness == Liveness::kStale) stale.push_back("group " + g.name);
    else if (g.liveness == Liveness::kDead) dead.push_back("group " + g.name);
    else if (g.liveness == Liveness::kNone) no_reader.push_back(g.name);
  }
  for (const ProducerStats& p : s.producers) {
    if (p.liveness == Liveness::kAlive) any_live = true;
    if (p.liveness == Liveness::kStale) stale.push_back(absl::StrCat("producer ", p.slot));
    if (p.liveness == Liveness::kDead) dead.push_back(absl::StrCat("producer ", p.slot));
  }
  if (!any_live) issues.push_back("no live participant");
  if (!dead.empty()) issues.push_back("dead: " + absl::StrJoin(dead, ","));
  if (!stale.empty()) issues.push_back("stale: " + absl::StrJoin(stale, ","));
  if (!evicted.empty()) issues.push_back("evicted: " + absl::StrJoin(evicted, ","));
  if (any_live && !no_reader.empty()) issues.push_back("no reader: " + absl::StrJoin(no_reader, ","));
  return issues.empty() ? "ok" : absl::StrJoin(issues, "; ");
}

std::string RingLabel(const std::string& path) {
  constexpr std::string_view kShm = "/dev/shm/";
  if (path.starts_with(kShm) && path.find('/', kShm.size()) == std::string::npos) return path.substr(kShm.size());
  return path;
}

namespace {

std::string Features(const RingStats& s) {
  std::vector<std::string> names;
  if (s.checksums) names.push_back("checksums");
  if (s.ro_compat & 1) names.push_back("fences");  // LAYOUT §2.2 ro_compat bit 0
  if (s.incompat & 1) names.push_back("message_batches");  // LAYOUT §2.2 incompat bit 0
  return absl::StrFormat("%s (compat 0x%x, ro_compat 0x%x, incompat 0x%x)",
                         names.empty() ? "none" : absl::StrJoin(names, ","), s.compat, s.ro_compat, s.incompat);
}

std::string Seconds(uint64_t ns) { return absl::StrFormat("%.3fs", double(ns) / 1e9); }

std::string Age(Liveness l, uint64_t ns) { return l == Liveness::kNone ? "-" : HumanAge(ns); }

std::string Pid(int32_t pid) { return pid == 0 ? "-" : absl::StrCat(pid); }

// The pid namespace is meaningful only while a pid holds the slot.
std::string Pidns(int32_t pid, uint64_t ns) { return pid == 0 || ns == 0 ? "-" : absl::StrCat(ns); }

std::string CreatedAt(uint64_t realtime_ns) {
  const time_t t = time_t(realtime_ns / 1000000000);
  struct tm tm;
  char buf[64];
  if (realtime_ns == 0 || gmtime_r(&t, &tm) == nullptr || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
    return "unknown";
  }
  return buf;
}

}  // namespace

void RenderStatText(const RingStats& s, std::ostream& out) {
  Table head({"ring", RingLabel(s.path) == s.path ? s.path : absl::StrCat(RingLabel(s.path), " (", s.path, ")")});
  head.Add({"state", RingState(s)});
  head.Add({"layout", absl::StrCat(s.major, ".", s.minor)});
  head.Add({"features", Features(s)});
  head.Add({"created", absl::StrCat(CreatedAt(s.created_realtime_ns), " by pid ", s.creator_pid)});
  head.Add({"capacity", absl::StrCat(s.capacity, " bytes (", HumanBytes(s.capacity), "), max record ", s.max_record,
                                     " bytes")});
  head.Add({"policy", std::string(shmring::PolicyName(s.policy))});
  head.Add({"timeouts", absl::StrCat("stale after ", s.stale_after_ms, " ms, evict after ", s.evict_after_ms,
                                     " ms, unblock after ", s.unblock_after_ms, " ms")});
  head.Add({"used", absl::StrCat(s.used_bytes, " bytes (", HumanBytes(s.used_bytes), "), ", UsedRecords(s),
                                 " records, high water ", s.high_water, " bytes")});
  head.Add({"positions", absl::StrCat("head ", s.head, ", tail ", s.tail)});
  head.Add({"committed", absl::StrCat(s.committed, " records, ", s.committed_bytes, " bytes")});
  head.Add({"dropped", absl::StrCat(s.dropped, " records (aborted ", s.aborted, ", abandoned ", s.abandoned, ")")});
  head.Add({"blocking", absl::StrCat("producers blocked ", Seconds(s.blocked_ns), ", wakeups ", s.wakeups)});
  head.Add({"recovery", absl::StrCat("evictions ", s.evictions, ", reclaims ", s.reclaims, ", recoveries ",
                                     s.recoveries, ", unblocks ", s.unblocks, " (", s.unblocked,
                                     " records), fence skips ", s.fence_skips)});
  head.Print(out);

  out << "\ngroups (" << s.groups.size() << " of " << s.max_groups << ")\n";
  Table g({"SLOT", "NAME", "CURSOR", "LAG", "LAG_BYTES", "READER", "HEARTBEAT", "PID", "PIDNS", "EVICTED",
           "DELIVERED", "DELIVERED_BYTES", "OVERWRITTEN", "CORRUPT", "ABANDONED", "EVICTIONS"},
          "r.rrr.rrr.rrrrrr");
  for (const GroupStats& q : s.groups) {
    g.Add({absl::StrCat(q.slot), q.name, absl::StrCat(q.cursor), absl::StrCat(q.lag_records),
           absl::StrCat(q.lag_bytes), shmring::LivenessName(q.liveness), Age(q.liveness, q.heartbeat_age_ns),
           Pid(q.pid), Pidns(q.pid, q.pidns), q.evicted ? "yes" : "no", absl::StrCat(q.delivered),
           absl::StrCat(q.delivered_bytes), absl::StrCat(q.overwritten), absl::StrCat(q.corrupt),
           absl::StrCat(q.abandoned), absl::StrCat(q.evictions)});
  }
  if (g.empty()) out << "  (none)\n";
  else g.Print(out, "  ");

  out << "\nproducers (" << s.producers.size() << " of " << s.max_producers << " slots used)\n";
  Table p({"SLOT", "GEN", "PID", "PIDNS", "STATE", "HEARTBEAT", "COMMITTED", "BYTES", "DROPPED", "ABORTED",
           "ABANDONED", "UNBLOCKED", "BLOCKED", "WAKEUPS"},
          "rrrr.rrrrrrrrr");
  for (const ProducerStats& q : s.producers) {
    p.Add({absl::StrCat(q.slot), absl::StrCat(q.generation), Pid(q.pid), Pidns(q.pid, q.pidns),
           absl::StrCat(shmring::LivenessName(q.liveness), q.fenced ? ",fenced" : ""),
           Age(q.liveness, q.heartbeat_age_ns), absl::StrCat(q.committed), absl::StrCat(q.committed_bytes),
           absl::StrCat(q.dropped), absl::StrCat(q.aborted), absl::StrCat(q.abandoned), absl::StrCat(q.unblocked),
           Seconds(q.blocked_ns), absl::StrCat(q.wakeups)});
  }
  if (p.empty()) out << "  (none)\n";
  else p.Print(out, "  ");
}

}  // namespace shmctl
