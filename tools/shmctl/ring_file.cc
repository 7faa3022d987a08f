// Is a file a shmring ring at all? The check rm and ls make before trusting a file:
// a regular file (not followed through a symlink) that starts with the ring magic.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "shmctl.h"

namespace shmctl {

namespace {
// spec/LAYOUT.md §2 (offset 0): a ring starts with the u64 magic 0x00474e49524d4853, "SHMRING\0".
constexpr char kRingMagic[8] = {'S', 'H', 'M', 'R', 'I', 'N', 'G', '\0'};
}  // namespace

absl::StatusOr<bool> HasRingMagic(const std::string& path) {
  // O_NOFOLLOW: a symlink is never taken for the ring it points at; O_NONBLOCK: a FIFO
  // planted under the name cannot hang us (it is refused below as not a regular file).
  const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ELOOP) return false;  // a symbolic link: not a ring file
    if (err == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    if (err == EACCES) return absl::PermissionDeniedError(absl::StrCat(path, ": permission denied (cannot read it)"));
    return absl::UnavailableError(absl::StrCat(path, ": ", strerror(err)));
  }
  struct stat st;
  char head[sizeof kRingMagic] = {};
  const bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  const bool magic = regular && pread(fd, head, sizeof head, 0) == ssize_t(sizeof head) &&
                     memcmp(head, kRingMagic, sizeof head) == 0;
  close(fd);
  return magic;
}

}  // namespace shmctl
