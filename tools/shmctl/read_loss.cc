// What `read` tells about records it could not deliver: records of its group skipped as
// corrupt or overwritten during the read (from the group's counters), and records a peek
// left out because verify finds them damaged.
#include <algorithm>
#include <iostream>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "shmctl.h"
#include "shmring/ring.h"

namespace shmctl {

GroupLoss GroupLossCounters(const shmring::Ring& ring, uint32_t slot) {
  const shmring::RingStats s = ring.Stats();
  for (const shmring::GroupStats& g : s.groups) {
    if (g.slot == slot) return {g.corrupt, g.overwritten};
  }
  return {};
}

void ReportLoss(const GroupLoss& lost, std::string_view group, std::string_view format, std::string* out) {
  if (lost.corrupt == 0 && lost.overwritten == 0) return;
  std::cerr << "shmctl: note: group '" << group << "' lost records during this read: " << lost.corrupt
            << " skipped as corrupt, " << lost.overwritten << " overwritten before they were read\n";
  if (format == "json") {
    const nlohmann::ordered_json j = {{"notice", "records_lost"},
                                      {"group", std::string(group)},
                                      {"corrupt", lost.corrupt},
                                      {"overwritten", lost.overwritten}};
    absl::StrAppend(out, j.dump(), "\n");
  }
}

std::vector<std::string> PeekProblems(const shmring::Ring& ring, uint64_t last_position, bool whole) {
  std::vector<std::string> out;
  for (const std::string& p : ring.Verify().problems) {
    // Record problems start "position N: "; slot and superblock problems concern no record.
    constexpr std::string_view kPos = "position ";
    uint64_t pos = 0;
    const size_t colon = p.find(':');
    if (!p.starts_with(kPos) || colon == std::string::npos ||
        !absl::SimpleAtoi(AV(std::string_view(p).substr(kPos.size(), colon - kPos.size())), &pos)) {
      continue;
    }
    if (whole || int64_t(last_position - pos) >= 0) out.push_back(p);
  }
  return out;
}

}  // namespace shmctl
