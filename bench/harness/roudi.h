// Starts and stops iceoryx's RouDi daemon for the iceoryx peer.
#pragma once

#include <sys/types.h>

#include <string>

namespace bench {

class Roudi {
 public:
  // Starts `iox-roudi` (found on PATH) and waits until its management segment exists.
  std::string Start();
  void Stop();
  ~Roudi() { Stop(); }

 private:
  pid_t pid_ = -1;
};

}  // namespace bench
