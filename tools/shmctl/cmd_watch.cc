// shmctl watch: stat redrawn every interval, with rates from the last two snapshots.
//
// On a terminal the frame is redrawn in place (cursor home, clear) and, when standard input
// is a terminal too, it is put in non-canonical no-echo mode so that 'q' quits at once; the
// terminal is restored on every way out. Elsewhere (a pipe, a file) frames are printed one
// after another, separated by a blank line.
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "shmctl.h"
#include "shmring/ring.h"

namespace shmctl {

namespace {

using Clock = std::chrono::steady_clock;
using shmring::GroupStats;
using shmring::RingStats;

std::atomic<bool> g_quit{false};
extern "C" void OnWatchSignal(int) { g_quit.store(true); }

// Puts a terminal stdin in non-canonical, no-echo mode (signals stay on, so Ctrl-C still
// raises SIGINT) and restores it when destroyed.
class RawInput {
 public:
  RawInput() {
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios t = saved_;
    t.c_lflag &= ~tcflag_t(ICANON | ECHO);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    active_ = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
  }
  ~RawInput() {
    if (active_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  RawInput(const RawInput&) = delete;
  RawInput& operator=(const RawInput&) = delete;
  bool active() const { return active_; }

 private:
  termios saved_{};
  bool active_ = false;
};

// Waits up to `seconds`, returning early (true) when the user asked to quit: 'q' on a raw
// terminal stdin, or SIGINT/SIGTERM.
bool WaitOrQuit(double seconds, const RawInput& in) {
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (!g_quit.load()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) return false;
    const int slice = int(std::min<int64_t>(left, 100));  // also bounds the delay to notice a signal
    if (in.active()) {
      pollfd p{STDIN_FILENO, POLLIN, 0};
      if (poll(&p, 1, slice) > 0 && (p.revents & POLLIN)) {
        char buf[64];
        const ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
        for (ssize_t i = 0; i < n; ++i) {
          if (buf[i] == 'q' || buf[i] == 'Q') return true;
        }
      }
    } else {
      poll(nullptr, 0, slice);
    }
  }
  return true;
}

// Counter difference that tolerates a reset (a reused slot): then the new value is the delta.
uint64_t Delta(uint64_t now, uint64_t before) { return now >= before ? now - before : now; }

std::string PerSec(uint64_t delta, double secs) { return absl::StrFormat("%.1f", double(delta) / secs); }

std::string BytesPerSec(uint64_t delta, double secs) {
  return HumanBytes(uint64_t(double(delta) / secs + 0.5)) + "/s";
}

uint64_t Overwritten(const RingStats& s) {
  uint64_t n = 0;
  for (const GroupStats& g : s.groups) n += g.overwritten;
  return n;
}

std::string LocalTime() {
  const time_t t = time(nullptr);
  tm tmv;
  localtime_r(&t, &tmv);
  char buf[32];
  strftime(buf, sizeof buf, "%H:%M:%S", &tmv);
  return buf;
}

// The ring file watch maps, so that a frame can say when the name no longer leads to it.
struct RingFile {
  dev_t dev = 0;
  ino_t ino = 0;
};

RingFile FileOf(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return {};
  return {st.st_dev, st.st_ino};
}

// "" while PATH is still the file watch started on; else a notice that the numbers come
// from a ring that was removed (shmctl rm) or replaced under its name.
std::string FileNotice(const std::string& path, const RingFile& watched) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return "";
    return absl::StrCat("NOTE: ", path, " was removed (shmctl rm): showing the removed ring, which only "
                        "processes that still have it mapped use\n\n");
  }
  if (st.st_dev == watched.dev && st.st_ino == watched.ino) return "";
  return absl::StrCat("NOTE: ", path, " now names another file: showing the ring watch started on, which was "
                      "removed or replaced (restart watch for the new one)\n\n");
}

// One frame: a title, the rates between `prev` and `cur` (`secs` apart), then stat's text.
std::string Frame(const RingStats& prev, const RingStats& cur, double secs, double interval, bool tty,
                  std::string_view notice) {
  std::ostringstream out;
  out << "shmctl watch " << RingLabel(cur.path) << "  every " << absl::StrFormat("%.1fs", interval) << "  "
      << LocalTime() << (tty ? "  (q or Ctrl-C quits)" : "") << "\n\n" << notice;
  out << "rates over the last " << absl::StrFormat("%.2fs", secs) << "\n";
  Table ring({"", "RECORDS/S", "BYTES/S"}, ".rr");
  ring.Add({"committed", PerSec(Delta(cur.committed, prev.committed), secs),
            BytesPerSec(Delta(cur.committed_bytes, prev.committed_bytes), secs)});
  ring.Add({"dropped", PerSec(Delta(cur.dropped, prev.dropped), secs), "-"});
  ring.Add({"overwritten", PerSec(Delta(Overwritten(cur), Overwritten(prev)), secs), "-"});
  ring.Add({"abandoned", PerSec(Delta(cur.abandoned, prev.abandoned), secs), "-"});
  ring.Print(out, "  ");
  if (!cur.groups.empty()) {
    std::map<std::pair<uint32_t, uint32_t>, const GroupStats*> before;  // (slot, generation) -> stats
    for (const GroupStats& g : prev.groups) before[{g.slot, g.generation}] = &g;
    out << "\n";
    Table groups({"GROUP", "DELIVERED/S", "BYTES/S", "OVERWRITTEN/S", "LAG", "LAG_BYTES", "READER"}, ".rrrrr.");
    for (const GroupStats& g : cur.groups) {
      auto it = before.find({g.slot, g.generation});
      const GroupStats* p = it == before.end() ? nullptr : it->second;
      groups.Add({g.name, p ? PerSec(Delta(g.delivered, p->delivered), secs) : "-",
                  p ? BytesPerSec(Delta(g.delivered_bytes, p->delivered_bytes), secs) : "-",
                  p ? PerSec(Delta(g.overwritten, p->overwritten), secs) : "-", absl::StrCat(g.lag_records),
                  HumanBytes(g.lag_bytes), shmring::LivenessName(g.liveness)});
    }
    groups.Print(out, "  ");
  }
  out << "\n";
  RenderStatText(cur, out);
  return out.str();
}

}  // namespace

int RunWatch(const std::vector<std::string>& argv) {
  // -i is the conventional short spelling of --interval (as in watch(1)).
  std::vector<std::string> args;
  for (size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--") {
      args.insert(args.end(), argv.begin() + i, argv.end());
      break;
    }
    args.push_back(argv[i] == "-i" ? "--interval" : argv[i]);
  }
  const Args a = Args::Parse("watch", args, {{"interval", true}, {"count", true}});
  a.ExpectPositional(1, 1, "RING");
  const double interval = a.Has("interval") ? ParseSeconds("interval", *a.Get("interval")) : 1.0;
  if (interval < 0.05) throw UsageError("--interval: expected at least 0.05 seconds");
  const uint64_t count = a.Has("count") ? ParseUint("count", *a.Get("count")) : 0;  // 0: until quit

  auto r = shmring::Ring::Open(a.positional()[0], {.read_only = true});
  if (!r.ok()) return Fail(r.status());
  const RingFile watched = FileOf((*r)->path());  // just after the open: the file it mapped, but for a race with rm

  struct sigaction sa = {};
  sa.sa_handler = OnWatchSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);

  const bool tty = isatty(STDOUT_FILENO);
  RawInput input;  // restored on return
  if (tty) std::cout << "\x1b[?25l" << std::flush;  // hide the cursor while redrawing

  RingStats prev = (*r)->Stats();
  auto prev_at = Clock::now();
  for (uint64_t frame = 0; count == 0 || frame < count; ++frame) {
    if (WaitOrQuit(interval, input)) break;
    RingStats cur = (*r)->Stats();
    const auto now = Clock::now();
    const double secs = std::max(1e-6, std::chrono::duration<double>(now - prev_at).count());
    const std::string text = Frame(prev, cur, secs, interval, tty, FileNotice((*r)->path(), watched));
    if (tty) {
      std::cout << "\x1b[H\x1b[2J" << text << std::flush;  // cursor home, clear, draw
    } else {
      std::cout << (frame == 0 ? "" : "\n") << text << std::flush;
    }
    prev = std::move(cur);
    prev_at = now;
  }
  if (tty) std::cout << "\x1b[?25h" << std::flush;  // show the cursor again
  return kExitOk;
}

}  // namespace shmctl
