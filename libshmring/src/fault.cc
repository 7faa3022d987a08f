#include "fault.h"

#ifdef SHMRING_FAULT_INJECTION
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace shmring::fault {

void Hit(const char* point) {
  static const long kill_at = [] {
    const char* v = getenv("SHMRING_FAULT_KILL_AT");
    return v ? atol(v) : 0L;
  }();
  static const char* only = getenv("SHMRING_FAULT_POINT");
  static std::atomic<long> hits{0};
  if (kill_at <= 0) return;
  if (only != nullptr && *only != 0 && strcmp(only, point) != 0) return;
  // SHMRING_FAULT_SIGNAL=STOP stops the process there instead (a stopped, not dead, owner).
  static const int sig = [] {
    const char* v = getenv("SHMRING_FAULT_SIGNAL");
    return v != nullptr && strcmp(v, "STOP") == 0 ? SIGSTOP : SIGKILL;
  }();
  if (hits.fetch_add(1, std::memory_order_relaxed) + 1 == kill_at) raise(sig);
}

}  // namespace shmring::fault
#endif
