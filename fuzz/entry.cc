// libFuzzer entry point; CMake compiles it once per target with
// SHMRING_FUZZ_ENTRY set to one of the functions in targets.h.
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return shmring_fuzz::SHMRING_FUZZ_ENTRY(data, size);
}
