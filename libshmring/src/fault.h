// Fault-injection points for the kill -9 torture test (tests/torture/). In normal
// builds SHMRING_FAULT(name) compiles to nothing. In the shmring_fi library
// (-DSHMRING_FAULT_INJECTION) each point counts hits and, when the process was
// armed with SHMRING_FAULT_KILL_AT=N (and optionally SHMRING_FAULT_POINT=name),
// the N-th hit kills the process with SIGKILL right there (or stops it with SIGSTOP
// if SHMRING_FAULT_SIGNAL=STOP).
#pragma once

#ifdef SHMRING_FAULT_INJECTION
namespace shmring::fault {
void Hit(const char* point);
}
#define SHMRING_FAULT(point) ::shmring::fault::Hit(point)
#else
#define SHMRING_FAULT(point) \
  do {                       \
  } while (0)
#endif
