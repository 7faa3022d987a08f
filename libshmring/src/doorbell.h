// eventfd doorbells (spec/PROTOCOL.md §7.2): a reader inside an event loop gets a
// pollable fd; producers reach its eventfd through a Unix socket next to the ring
// (SCM_RIGHTS), so it works across PID namespaces that share only the volume.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ring_impl.h"

namespace shmring {

// NAME of the doorbell socket of `group` of the ring at `ring_path`.
std::string DoorbellPath(const std::string& ring_path, const std::string& group);

// Reader side: an eventfd, a listening socket, and an epoll set holding both (the fd
// the user polls).
class DoorbellServer {
 public:
  ~DoorbellServer();
  // Listens at `path` with the ring file's permission bits `mode` and group `gid` (§7.2).
  [[nodiscard]] absl::Status Open(const std::string& path, mode_t mode, gid_t gid);
  bool active() const { return epfd_ >= 0; }
  int fd() const { return epfd_; }
  // Hands the eventfd to every producer waiting to connect, then resets the eventfd.
  void Serve();
  void Close();

 private:
  int efd_ = -1, lfd_ = -1, epfd_ = -1;
  std::string path_;
};

// Producer side: one connection (or received eventfd) per group.
class DoorbellClients {
 public:
  ~DoorbellClients();
  // Rings group `g`'s doorbell. False if the socket cannot be reached.
  bool Ring(const Ring::Impl& r, uint32_t g, uint32_t gen);

 private:
  struct Client {
    uint32_t gen = 0;
    int conn = -1;  // connected (or connecting) socket, until the eventfd arrives
    int efd = -1;
  };
  std::vector<Client> clients_;
  static void Reset(Client& c);
};

}  // namespace shmring
