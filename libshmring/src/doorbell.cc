#include "doorbell.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "groups.h"
#include "util.h"

namespace shmring {

std::string DoorbellPath(const std::string& ring_path, const std::string& group) {
  return absl::StrCat(ring_path, ".", group, ".bell");
}

namespace {
bool FillAddr(const std::string& path, sockaddr_un* a) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  if (path.size() >= sizeof a->sun_path) return false;
  memcpy(a->sun_path, path.c_str(), path.size() + 1);
  return true;
}
}  // namespace

DoorbellServer::~DoorbellServer() { Close(); }

absl::Status DoorbellServer::Open(const std::string& path, mode_t mode, gid_t gid) {
  sockaddr_un addr;
  if (!FillAddr(path, &addr)) {
    return absl::InvalidArgumentError(absl::StrCat("doorbell socket path ", path, ": longer than ",
                                                   sizeof addr.sun_path - 1, " bytes"));
  }
  path_ = path;
  efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  lfd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (efd_ < 0 || lfd_ < 0 || epfd_ < 0) {
    const int err = errno;
    Close();
    return ErrnoStatus(err, "create doorbell for", path);
  }
  unlink(path.c_str());  // a dead reader's socket: we hold the group's lock
  if (bind(lfd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    Close();
    return ErrnoStatus(err, "bind doorbell socket", path);
  }
  // PROTOCOL §7.2: the socket gets the ring file's group and permission bits, so every
  // process that may write the ring through its group may also connect (connect(2) needs
  // write permission on the socket file). Without it a reader running as another uid and
  // primary group (a container with the ring's group only as a supplementary group) would
  // make a socket that the ring's producers cannot reach. chown to a group we are not in
  // fails with EPERM: then we reach the ring as its owner or through "other", and the
  // socket keeps our group; the mode still mirrors the ring's.
  if (chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0 && errno != EPERM) {
    const int err = errno;
    Close();
    return ErrnoStatus(err, "give the ring's group to doorbell socket", path);
  }
  if (chmod(path.c_str(), mode & 0777) != 0 || listen(lfd_, 128) != 0) {
    const int err = errno;
    Close();
    return ErrnoStatus(err, "listen on doorbell socket", path);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = efd_;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, efd_, &ev);
  ev.data.fd = lfd_;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, lfd_, &ev);
  return absl::OkStatus();
}

void DoorbellServer::Serve() {
  if (lfd_ < 0) return;
  for (;;) {
    const int c = accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) break;
    char byte = 'b';
    iovec iov{&byte, 1};
    alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof ctrl;
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &efd_, sizeof(int));
    (void)sendmsg(c, &msg, MSG_NOSIGNAL);
    close(c);
  }
  uint64_t v;
  (void)read(efd_, &v, sizeof v);  // reset: level-triggered until the next Poll
}

void DoorbellServer::Close() {
  if (lfd_ >= 0) {
    close(lfd_);
    unlink(path_.c_str());
  }
  if (efd_ >= 0) close(efd_);
  if (epfd_ >= 0) close(epfd_);
  efd_ = lfd_ = epfd_ = -1;
}

DoorbellClients::~DoorbellClients() {
  for (Client& c : clients_) Reset(c);
}

void DoorbellClients::Reset(Client& c) {
  if (c.conn >= 0) close(c.conn);
  if (c.efd >= 0) close(c.efd);
  c.conn = c.efd = -1;
}

bool DoorbellClients::Ring(const Ring::Impl& r, uint32_t g, uint32_t gen) {
  if (clients_.size() < r.max_groups) clients_.resize(r.max_groups);
  Client& c = clients_[g];
  if (c.gen != gen) {  // a new reader serves the group: drop what we held of the old one
    Reset(c);
    c.gen = gen;
  }
  if (c.efd < 0 && c.conn >= 0) {  // the reader may have handed us its eventfd by now
    char byte;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof ctrl;
    const ssize_t n = recvmsg(c.conn, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n > 0) {
      cmsghdr* cm = CMSG_FIRSTHDR(&msg);
      if (cm != nullptr && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int))) {
        memcpy(&c.efd, CMSG_DATA(cm), sizeof(int));
      }
      close(c.conn);
      c.conn = -1;
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      close(c.conn);  // the reader went away without answering
      c.conn = -1;
    } else {
      return true;  // still pending: the pending connection itself keeps the reader's socket readable
    }
  }
  if (c.efd >= 0) {
    const uint64_t one = 1;
    return write(c.efd, &one, sizeof one) == sizeof one;
  }
  // First contact: connecting makes the reader's listening socket readable, which
  // wakes its epoll; the eventfd arrives for the next time.
  sockaddr_un addr;
  if (!FillAddr(DoorbellPath(r.path, GroupName(r.group(g))), &addr)) return false;
  c.conn = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.conn < 0) return false;
  if (connect(c.conn, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS &&
      errno != EAGAIN) {
    close(c.conn);
    c.conn = -1;
    return false;
  }
  return true;
}

}  // namespace shmring
