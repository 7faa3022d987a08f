// JSON rendering: the versioned "shmring.stat/1" document (STAT_JSON.md) and read --format json.
#include <nlohmann/json.hpp>

#include "shmctl.h"

namespace shmctl {

using nlohmann::ordered_json;
using shmring::GroupStats;
using shmring::ProducerStats;
using shmring::RingStats;

namespace {

ordered_json GroupJson(const GroupStats& g) {
  return {
      {"slot", g.slot},
      {"name", g.name},
      {"generation", g.generation},
      {"reader", {{"liveness", shmring::LivenessName(g.liveness)},
                  {"pid", g.pid},
                  {"pidns", g.pidns},
                  {"heartbeat_age_ns", g.heartbeat_age_ns}}},
      {"cursor", g.cursor},
      {"lag_records", g.lag_records},
      {"lag_bytes", g.lag_bytes},
      {"evicted", g.evicted},
      {"delivered", g.delivered},
      {"delivered_bytes", g.delivered_bytes},
      {"overwritten", g.overwritten},
      {"corrupt", g.corrupt},
      {"abandoned", g.abandoned},
      {"evictions", g.evictions},
  };
}

ordered_json ProducerJson(const ProducerStats& p) {
  return {
      {"slot", p.slot},
      {"generation", p.generation},
      {"liveness", shmring::LivenessName(p.liveness)},
      {"pid", p.pid},
      {"pidns", p.pidns},
      {"heartbeat_age_ns", p.heartbeat_age_ns},
      {"committed", p.committed},
      {"committed_bytes", p.committed_bytes},
      {"dropped", p.dropped},
      {"aborted", p.aborted},
      {"abandoned", p.abandoned},
      {"unblocked", p.unblocked},
      {"fenced", p.fenced},
      {"blocked_ns", p.blocked_ns},
      {"wakeups", p.wakeups},
      {"bell_failures", p.bell_failures},
  };
}

}  // namespace

std::string RenderStatJson(const RingStats& s) {
  ordered_json features = ordered_json::array();
  if (s.checksums) features.push_back("checksums");
  if (s.ro_compat & 1) features.push_back("fences");  // LAYOUT §2.2 ro_compat bit 0
  if (s.incompat & 1) features.push_back("message_batches");  // LAYOUT §2.2 incompat bit 0
  ordered_json groups = ordered_json::array();
  for (const GroupStats& g : s.groups) groups.push_back(GroupJson(g));
  ordered_json producers = ordered_json::array();
  for (const ProducerStats& p : s.producers) producers.push_back(ProducerJson(p));
  ordered_json j = {
      {"schema", "shmring.stat/1"},
      {"ring", RingLabel(s.path)},
      {"path", s.path},
      {"state", RingState(s)},
      {"layout", {{"major", s.major},
                  {"minor", s.minor},
                  {"compat", s.compat},
                  {"ro_compat", s.ro_compat},
                  {"incompat", s.incompat},
                  {"features", features}}},
      {"config", {{"capacity", s.capacity},
                  {"max_record", s.max_record},
                  {"policy", shmring::PolicyName(s.policy)},
                  {"checksums", s.checksums},
                  {"max_producers", s.max_producers},
                  {"max_groups", s.max_groups},
                  {"stale_after_ms", s.stale_after_ms},
                  {"evict_after_ms", s.evict_after_ms},
                  {"unblock_after_ms", s.unblock_after_ms},
                  {"creator_pid", s.creator_pid},
                  {"created_realtime_ns", s.created_realtime_ns}}},
      {"tail", s.tail},
      {"head", s.head},
      {"used_bytes", s.used_bytes},
      {"used_records", UsedRecords(s)},
      {"high_water_bytes", s.high_water},
      {"totals", {{"committed", s.committed},
                  {"committed_bytes", s.committed_bytes},
                  {"dropped", s.dropped},
                  {"aborted", s.aborted},
                  {"abandoned", s.abandoned},
                  {"unblocked", s.unblocked},
                  {"blocked_ns", s.blocked_ns},
                  {"wakeups", s.wakeups},
                  {"bell_failures", s.bell_failures},
                  {"evictions", s.evictions},
                  {"reclaims", s.reclaims},
                  {"recoveries", s.recoveries},
                  {"unblocks", s.unblocks},
                  {"fence_skips", s.fence_skips}}},
      {"groups", groups},
      {"producers", producers},
  };
  return j.dump(2, ' ', false, ordered_json::error_handler_t::replace);
}

std::string RenderRecordJson(uint64_t position, uint16_t type, uint32_t producer, std::string_view payload) {
  ordered_json j = {{"position", position}, {"type", type}, {"producer", producer}, {"len", payload.size()}};
  // Valid UTF-8 goes out as a string; anything else as hex, so no byte is lost or invented.
  ordered_json text = std::string(payload);
  try {
    (void)text.dump();
    j["payload"] = std::move(text);
  } catch (const nlohmann::json::type_error&) {
    std::string hex;
    static const char kDigits[] = "0123456789abcdef";
    for (unsigned char c : payload) {
      hex += kDigits[c >> 4];
      hex += kDigits[c & 15];
    }
    j["payload_hex"] = hex;
  }
  return j.dump();
}

}  // namespace shmctl
