// Prometheus text exposition format (version 0.0.4) for one or more rings.
// Base units (bytes, seconds), counters end in _total, labels ring / group / slot.
// Each metric family is written once, with the samples of every ring under it.
#include <functional>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "shmctl.h"

namespace shmctl {

using shmring::GroupStats;
using shmring::Liveness;
using shmring::ProducerStats;
using shmring::RingStats;

namespace {

std::string Escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// Nanoseconds as exact decimal seconds.
std::string Secs(uint64_t ns) { return absl::StrFormat("%d.%09d", ns / 1000000000, ns % 1000000000); }
std::string N(uint64_t v) { return absl::StrCat(v); }

template <typename T>
using Value = std::function<std::optional<std::string>(const RingStats&, const T&)>;

struct Family {
  std::string name, type, help;
  std::string out;  // samples so far

  void Sample(std::string_view labels, const std::optional<std::string>& v) {
    if (v) absl::StrAppend(&out, name, "{", AV(labels), "} ", *v, "\n");
  }
  void Emit(std::string* dst) const {
    if (out.empty()) return;  // no ring has this family (e.g. no groups)
    absl::StrAppend(dst, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n", out);
  }
};

std::string RingLabels(const RingStats& s) { return absl::StrCat("ring=\"", Escape(RingLabel(s.path)), "\""); }

template <typename T>
struct Def {
  const char* name;
  const char* type;
  const char* help;
  Value<T> value;
};

}  // namespace

std::string RenderPrometheus(const std::vector<RingStats>& rings) {
  const std::vector<Def<RingStats>> ring_defs = {
      {"shmring_info", "gauge", "Static facts about a ring; always 1.",
       [](const RingStats&, const RingStats&) { return "1"; }},
      {"shmring_capacity_bytes", "gauge", "Size of the ring's data area.",
       [](const RingStats&, const RingStats& s) { return N(s.capacity); }},
      {"shmring_max_record_bytes", "gauge", "Largest record payload the ring accepts.",
       [](const RingStats&, const RingStats& s) { return N(s.max_record); }},
      {"shmring_used_bytes", "gauge", "Bytes held for the slowest gating group (queue depth).",
       [](const RingStats&, const RingStats& s) { return N(s.used_bytes); }},
      {"shmring_used_records", "gauge", "Records held for the slowest gating group (queue depth).",
       [](const RingStats&, const RingStats& s) { return N(UsedRecords(s)); }},
      {"shmring_high_water_bytes", "gauge", "Most bytes ever held at once.",
       [](const RingStats&, const RingStats& s) { return N(s.high_water); }},
      {"shmring_producers", "gauge", "Producer slots ever used.",
       [](const RingStats&, const RingStats& s) { return N(s.producers.size()); }},
      {"shmring_groups", "gauge", "Consumer groups.",
       [](const RingStats&, const RingStats& s) { return N(s.groups.size()); }},
      {"shmring_committed_records_total", "counter", "Records committed by all producers.",
       [](const RingStats&, const RingStats& s) { return N(s.committed); }},
      {"shmring_committed_bytes_total", "counter", "Payload bytes committed by all producers.",
       [](const RingStats&, const RingStats& s) { return N(s.committed_bytes); }},
      {"shmring_dropped_records_total", "counter", "Records producers failed to write (ring full, too large).",
       [](const RingStats&, const RingStats& s) { return N(s.dropped); }},
      {"shmring_aborted_records_total", "counter", "Reservations producers aborted.",
       [](const RingStats&, const RingStats& s) { return N(s.aborted); }},
      {"shmring_abandoned_records_total", "counter", "Claims of dead or stale producers reclaimed as skip records.",
       [](const RingStats&, const RingStats& s) { return N(s.abandoned); }},
      {"shmring_blocked_seconds_total", "counter", "Time producers spent waiting for room.",
       [](const RingStats&, const RingStats& s) { return Secs(s.blocked_ns); }},
      {"shmring_wakeups_total", "counter", "Futex wakeups producers issued to parked readers.",
       [](const RingStats&, const RingStats& s) { return N(s.wakeups); }},
      {"shmring_evictions_total", "counter", "Groups evicted from gating for lack of a live reader.",
       [](const RingStats&, const RingStats& s) { return N(s.evictions); }},
      {"shmring_reclaims_total", "counter", "Dead producers' claims reclaimed.",
       [](const RingStats&, const RingStats& s) { return N(s.reclaims); }},
      {"shmring_recoveries_total", "counter", "Recovery passes that changed the ring.",
       [](const RingStats&, const RingStats& s) { return N(s.recoveries); }},
      {"shmring_unblocks_total", "counter", "Claims of live but stale producers unblocked after the unblock timeout.",
       [](const RingStats&, const RingStats& s) { return N(s.unblocks); }},
      {"shmring_unblocked_records_total", "counter", "Records taken from live but stale producers (part of abandoned).",
       [](const RingStats&, const RingStats& s) { return N(s.unblocked); }},
      {"shmring_fence_skips_total", "counter", "Skip records producers wrote over a lap of a claim still in flight.",
       [](const RingStats&, const RingStats& s) { return N(s.fence_skips); }},
  };
  const std::vector<Def<GroupStats>> group_defs = {
      {"shmring_group_lag_records", "gauge", "Records the group has yet to consume.",
       [](const RingStats&, const GroupStats& g) { return N(g.lag_records); }},
      {"shmring_group_lag_bytes", "gauge", "Bytes the group has yet to consume.",
       [](const RingStats&, const GroupStats& g) { return N(g.lag_bytes); }},
      {"shmring_group_reader_up", "gauge", "1 if a live reader holds the group, else 0.",
       [](const RingStats&, const GroupStats& g) { return g.liveness == Liveness::kAlive ? "1" : "0"; }},
      {"shmring_group_reader_heartbeat_age_seconds", "gauge", "Age of the group reader's last heartbeat.",
       [](const RingStats&, const GroupStats& g) -> std::optional<std::string> {
         if (g.liveness == Liveness::kNone) return std::nullopt;
         return Secs(g.heartbeat_age_ns);
       }},
      {"shmring_group_evicted", "gauge", "1 if the group no longer gates producers (evicted), else 0.",
       [](const RingStats&, const GroupStats& g) { return g.evicted ? "1" : "0"; }},
      {"shmring_group_delivered_records_total", "counter", "Records delivered to the group's readers.",
       [](const RingStats&, const GroupStats& g) { return N(g.delivered); }},
      {"shmring_group_delivered_bytes_total", "counter", "Payload bytes delivered to the group's readers.",
       [](const RingStats&, const GroupStats& g) { return N(g.delivered_bytes); }},
      {"shmring_group_overwritten_records_total", "counter", "Records overwritten before the group read them.",
       [](const RingStats&, const GroupStats& g) { return N(g.overwritten); }},
      {"shmring_group_corrupt_records_total", "counter", "Records the group's readers found corrupt.",
       [](const RingStats&, const GroupStats& g) { return N(g.corrupt); }},
      {"shmring_group_abandoned_records_total", "counter", "Abandoned records the group stepped over.",
       [](const RingStats&, const GroupStats& g) { return N(g.abandoned); }},
      {"shmring_group_evictions_total", "counter", "Times the group was evicted.",
       [](const RingStats&, const GroupStats& g) { return N(g.evictions); }},
  };
  const std::vector<Def<ProducerStats>> producer_defs = {
      {"shmring_producer_up", "gauge", "1 if a live producer holds the slot, else 0.",
       [](const RingStats&, const ProducerStats& p) { return p.liveness == Liveness::kAlive ? "1" : "0"; }},
      {"shmring_producer_heartbeat_age_seconds", "gauge", "Age of the producer's last heartbeat.",
       [](const RingStats&, const ProducerStats& p) -> std::optional<std::string> {
         if (p.liveness == Liveness::kNone) return std::nullopt;
         return Secs(p.heartbeat_age_ns);
       }},
      {"shmring_producer_committed_records_total", "counter", "Records committed through the slot.",
       [](const RingStats&, const ProducerStats& p) { return N(p.committed); }},
      {"shmring_producer_committed_bytes_total", "counter", "Payload bytes committed through the slot.",
       [](const RingStats&, const ProducerStats& p) { return N(p.committed_bytes); }},
      {"shmring_producer_dropped_records_total", "counter", "Records the slot's producer failed to write.",
       [](const RingStats&, const ProducerStats& p) { return N(p.dropped); }},
      {"shmring_producer_aborted_records_total", "counter", "Reservations the slot's producer aborted.",
       [](const RingStats&, const ProducerStats& p) { return N(p.aborted); }},
      {"shmring_producer_abandoned_records_total", "counter", "Records of the slot reclaimed (producer dead, or stale).",
       [](const RingStats&, const ProducerStats& p) { return N(p.abandoned); }},
      {"shmring_producer_blocked_seconds_total", "counter", "Time the slot's producer waited for room.",
       [](const RingStats&, const ProducerStats& p) { return Secs(p.blocked_ns); }},
      {"shmring_producer_wakeups_total", "counter", "Futex wakeups the slot's producer issued.",
       [](const RingStats&, const ProducerStats& p) { return N(p.wakeups); }},
  };

  std::string out;
  for (const auto& d : ring_defs) {
    Family f{d.name, d.type, d.help, ""};
    for (const RingStats& s : rings) {
      std::string labels = RingLabels(s);
      if (f.name == "shmring_info") {
        absl::StrAppend(&labels, ",version=\"", s.major, ".", s.minor, "\",policy=\"", AV(shmring::PolicyName(s.policy)),
                        "\",checksums=\"", s.checksums ? "true" : "false", "\"");
      }
      f.Sample(labels, d.value(s, s));
    }
    f.Emit(&out);
  }
  for (const auto& d : group_defs) {
    Family f{d.name, d.type, d.help, ""};
    for (const RingStats& s : rings) {
      for (const GroupStats& g : s.groups) {
        f.Sample(absl::StrCat(RingLabels(s), ",group=\"", Escape(g.name), "\""), d.value(s, g));
      }
    }
    f.Emit(&out);
  }
  for (const auto& d : producer_defs) {
    Family f{d.name, d.type, d.help, ""};
    for (const RingStats& s : rings) {
      for (const ProducerStats& p : s.producers) {
        f.Sample(absl::StrCat(RingLabels(s), ",slot=\"", p.slot, "\""), d.value(s, p));
      }
    }
    f.Emit(&out);
  }
  return out;
}

}  // namespace shmctl
