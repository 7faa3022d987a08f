// Consumer group slots (spec/LAYOUT.md §5).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "layout.h"

namespace shmring {

// The group's name, bounded by the slot (a hostile writer may drop the NUL).
std::string GroupName(const layout::GroupSlot& gs);
absl::Status ValidateGroupName(std::string_view name);

}  // namespace shmring
