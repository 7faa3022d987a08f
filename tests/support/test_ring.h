// Test helpers: unique ring names removed at scope exit.
#pragma once

#include <unistd.h>

#include <atomic>
#include <span>
#include <string>

#include "shmring/ring.h"

namespace shmring::testing {

// A ring name unique to this process and call, unlinked when the object dies.
class ScopedRingName {
 public:
  ScopedRingName() {
    static std::atomic<int> n{0};
    name_ = "shmring-test-" + std::to_string(getpid()) + "-" + std::to_string(n++);
    (void)Ring::Remove(name_);
  }
  ~ScopedRingName() { (void)Ring::Remove(name_); }
  const std::string& operator*() const { return name_; }
  const std::string& str() const { return name_; }

 private:
  std::string name_;
};

inline std::string Str(std::span<const std::byte> b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

}  // namespace shmring::testing
