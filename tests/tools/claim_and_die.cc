// Test helper for shmctl_test.sh: leaves a ring with a dead producer's in-flight claim.
// Usage: claim_and_die RING [LEN]
// Attaches as a producer, claims a record of LEN bytes (default 100), half-writes its payload,
// prints the claimed position on stdout, then kills itself with SIGKILL (no destructor runs,
// so the claim is neither committed nor aborted: what recover must settle).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "shmring/producer.h"
#include "shmring/ring.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: claim_and_die RING [LEN]\n");
    return 2;
  }
  const size_t len = argc == 3 ? strtoul(argv[2], nullptr, 10) : 100;
  auto ring = shmring::Ring::Open(argv[1]);
  if (!ring.ok()) {
    fprintf(stderr, "claim_and_die: %s\n", std::string(ring.status().message()).c_str());
    return 1;
  }
  auto producer = shmring::Producer::Attach(*ring);
  if (!producer.ok()) {
    fprintf(stderr, "claim_and_die: %s\n", std::string(producer.status().message()).c_str());
    return 1;
  }
  auto res = (*producer)->Reserve(len);
  if (!res.ok()) {
    fprintf(stderr, "claim_and_die: %s\n", std::string(res.status().message()).c_str());
    return 1;
  }
  memset(res->data().data(), 'h', len / 2);
  printf("%llu\n", static_cast<unsigned long long>(res->position()));
  fflush(stdout);
  raise(SIGKILL);
  return 1;  // not reached
}
