// Replays every input kept in fuzz/regressions/<target>/ (and the seed corpora in
// fuzz/corpus/<target>/) through the same entry points the libFuzzer targets use
// (fuzz/targets.h), so a fixed finding stays fixed in the ordinary gcc and
// sanitizer builds. A finding aborts (fuzz_common.h Finding); the test dies with it.
#include <dirent.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"

// The shmctl renderers, compiled in when their JSON library is there (the stat
// path of `shmctl stat`, `stat --json` and `metrics`; the verify renderers of
// `shmctl verify` and `recover`, with the args.cc they need to link).
#if __has_include(<nlohmann/json.hpp>)
#define SHMRING_FUZZ_RENDERERS 1
#include "../../tools/shmctl/args.cc"
#include "../../tools/shmctl/cmd_verify.cc"
#include "../../tools/shmctl/render_json.cc"
#include "../../tools/shmctl/render_prom.cc"
#include "../../tools/shmctl/render_text.cc"
#endif

#include "../../fuzz/targets.h"

namespace {

namespace fs = std::filesystem;

// The source tree's fuzz/ (the one holding targets.h). __FILE__ may be relative to
// the build directory, which is not the test's working directory under ctest (and
// build/fuzz, the fuzz build, is a different directory of the same name), so the
// working directory and its parents are tried too.
fs::path FindFuzzDir() {
  std::vector<fs::path> tries = {fs::path(__FILE__).parent_path().parent_path().parent_path() / "fuzz"};
  std::error_code ec;
  for (fs::path d = fs::current_path(ec); !d.empty(); d = d.parent_path()) {
    tries.push_back(d / "fuzz");
    if (d == d.parent_path()) break;
  }
  for (const fs::path& t : tries) {
    if (fs::is_regular_file(t / "targets.h", ec)) return t;
  }
  return tries.front();
}

const fs::path kFuzzDir = FindFuzzDir();

std::vector<fs::path> Inputs(const std::string& kind, const std::string& target) {
  std::vector<fs::path> out;
  const fs::path dir = kFuzzDir / kind / target;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file() && e.path().filename().string()[0] != '.') out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void Replay(const std::string& target, int (*fn)(const uint8_t*, size_t)) {
  ASSERT_TRUE(fs::is_regular_file(kFuzzDir / "targets.h")) << "fuzz/ of the source tree not found from " << kFuzzDir;
  size_t n = 0;
  for (const std::string kind : {"regressions", "corpus"}) {
    for (const fs::path& p : Inputs(kind, target)) {
      SCOPED_TRACE(p.string());
      const std::vector<uint8_t> bytes = shmring_fuzz::ReadFile(p.string());
      fn(bytes.data(), bytes.size());
      ++n;
    }
  }
  EXPECT_GT(n, 0u) << "no inputs for " << target;
}

TEST(FuzzRegressions, Attach) { Replay("attach", shmring_fuzz::FuzzAttach); }
TEST(FuzzRegressions, Drain) { Replay("drain", shmring_fuzz::FuzzDrain); }
TEST(FuzzRegressions, StatsVerify) { Replay("stats_verify", shmring_fuzz::FuzzStatsVerify); }
TEST(FuzzRegressions, Recover) { Replay("recover", shmring_fuzz::FuzzRecover); }
TEST(FuzzRegressions, Ops) { Replay("ops", shmring_fuzz::FuzzOps); }

}  // namespace
