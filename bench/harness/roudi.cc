#include "harness/roudi.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"

namespace bench {

std::string Roudi::Start() {
  pid_ = fork();
  if (pid_ == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execlp("iox-roudi", "iox-roudi", "-l", "off", nullptr);
    _exit(127);
  }
  if (pid_ < 0) return "fork";
  // RouDi creates its management segment in /dev/shm when it is up.
  const uint64_t t0 = NowNs();
  struct stat st;
  while (stat("/dev/shm/iceoryx_mgmt", &st) != 0) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return "iox-roudi exited (is another RouDi running, or is it not installed?)";
    }
    if (NowNs() - t0 > 10'000'000'000ull) return "iox-roudi did not come up";
    usleep(10000);
  }
  usleep(200000);
  return "";
}

void Roudi::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status;
  for (int i = 0; i < 500; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    usleep(10000);
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace bench
