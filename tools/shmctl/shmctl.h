// shmctl: shared declarations for the dispatcher, the subcommands and the renderers.
//
// Every subcommand is `int RunX(argv)` (the arguments after its name) returning an exit status:
// 0 ok, 1 operational failure (a Status, printed with a "shmctl: " prefix),
// 2 usage error (thrown as UsageError, printed by main with a usage hint).
// Renderers work only from shmring::RingStats (stats.h), never from raw layout.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "shmring/stats.h"  // includes ring.h

namespace shmctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFail = 1;
inline constexpr int kExitUsage = 2;

// A command-line mistake: main prints it with a usage hint and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// --- argument parsing (args.cc) ---

struct FlagSpec {
  std::string_view name;  // without the leading "--"
  bool takes_value = false;
};

// A subcommand's parsed arguments: positionals in order, flags by name
// (a flag given twice keeps every value, in order).
class Args {
 public:
  // Parses argv[first..]; throws UsageError on an unknown flag or a missing value.
  // Accepts "--flag value", "--flag=value" and "--" (end of flags).
  static Args Parse(std::string_view command, const std::vector<std::string>& argv,
                    std::initializer_list<FlagSpec> flags);

  const std::vector<std::string>& positional() const { return positional_; }
  bool Has(std::string_view flag) const { return flags_.count(std::string(flag)) != 0; }
  // Last value of a flag, if given.
  std::optional<std::string> Get(std::string_view flag) const;
  // Every value of a repeatable flag.
  std::vector<std::string> GetAll(std::string_view flag) const;

  // Exactly n positionals (or between lo and hi), else UsageError naming what is missing/extra.
  void ExpectPositional(size_t lo, size_t hi, std::string_view what) const;

  const std::string& command() const { return command_; }

 private:
  std::string command_;
  std::vector<std::string> positional_;
  std::map<std::string, std::vector<std::string>> flags_;
};

// Values: all throw UsageError naming the flag and the bad value.
uint64_t ParseSize(std::string_view flag, std::string_view v);     // 4096, 64K, 1M, 2G, 1T (powers of 1024)
uint64_t ParseUint(std::string_view flag, std::string_view v, uint64_t max = UINT64_MAX);
double ParseSeconds(std::string_view flag, std::string_view v);    // 1, 0.5, 2s, 250ms
double ParseRate(std::string_view flag, std::string_view v);       // 1000 or 1000/s
uint32_t ParseMode(std::string_view flag, std::string_view v);     // octal, e.g. 0660

// Debian's Abseil has its own string_view type (not std::string_view): convert at the boundary.
inline absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view SV(absl::string_view s) { return std::string_view(s.data(), s.size()); }

// One snapshot of a ring, attached read-only (cmd_inspect.cc).
absl::StatusOr<shmring::RingStats> ReadStats(const std::string& ring);

// True if PATH is a regular file (not a symlink) that starts with the ring magic
// (spec/LAYOUT.md §2, offset 0); it may still fail validation. Opens it read-only (ring_file.cc).
// An error when it cannot be opened (NotFound, PermissionDenied).
[[nodiscard]] absl::StatusOr<bool> HasRingMagic(const std::string& path);

// Prints "shmctl: MESSAGE" to stderr and returns kExitFail.
int Fail(const absl::Status& s);
int Fail(std::string_view message);

// --- read's reports of what it could not deliver (read_loss.cc) ---
// A group's loss counters (stats.h): records its readers skipped as corrupt, records
// producers overwrote before it read them.
struct GroupLoss {
  uint64_t corrupt = 0, overwritten = 0;
  GroupLoss operator-(const GroupLoss& o) const { return {corrupt - o.corrupt, overwritten - o.overwritten}; }
};
[[nodiscard]] GroupLoss GroupLossCounters(const shmring::Ring& ring, uint32_t slot);
// If anything was lost: a note on stderr, and for --format json also a
// {"notice":"records_lost",...} line appended to *out (read --help).
void ReportLoss(const GroupLoss& lost, std::string_view group, std::string_view format, std::string* out);
// Verify's problems at record positions up to last_position (every one if `whole`):
// the damaged records a peek left out.
[[nodiscard]] std::vector<std::string> PeekProblems(const shmring::Ring& ring, uint64_t last_position, bool whole);

// --- subcommands: each parses its own flags from the arguments after its name ---
int RunCreate(const std::vector<std::string>& argv);
int RunWrite(const std::vector<std::string>& argv);
int RunRead(const std::vector<std::string>& argv);
int RunLs(const std::vector<std::string>& argv);
int RunStat(const std::vector<std::string>& argv);
int RunMetrics(const std::vector<std::string>& argv);
int RunRm(const std::vector<std::string>& argv);
int RunGroup(const std::vector<std::string>& argv);  // "group add|rm ..."
int RunVerify(const std::vector<std::string>& argv);
int RunRecover(const std::vector<std::string>& argv);
int RunWatch(const std::vector<std::string>& argv);
int RunServe(const std::vector<std::string>& argv);
int RunDrain(const std::vector<std::string>& argv);  // cmd_drain.cc
int RunHealth(const std::vector<std::string>& argv);  // cmd_health.cc

// --- help (help.cc) ---
// The man-page-style help for a command ("" for the overview); false if unknown.
bool PrintHelp(std::string_view command, std::ostream& out);
// One-line synopsis, for usage hints.
std::string Synopsis(std::string_view command);
std::string ToolVersion();

// --- renderers ---

// Text (render_text.cc).
std::string HumanBytes(uint64_t bytes);  // "64 KiB", "1.5 MiB", "512 B"
std::string HumanAge(uint64_t ns);       // "120ms", "3.4s", "2m05s"
// Records still held for the slowest gating group (the one defining used_bytes).
uint64_t UsedRecords(const shmring::RingStats& s);
// Short health summary: "ok", or e.g. "no live participant", "stale reader: g1".
std::string RingState(const shmring::RingStats& s);
// Display name of a ring: NAME for /dev/shm/NAME, else the path.
std::string RingLabel(const std::string& path);
void RenderStatText(const shmring::RingStats& s, std::ostream& out);

// A left/right aligned text table.
class Table {
 public:
  explicit Table(std::vector<std::string> header, std::string right_aligned = "");
  void Add(std::vector<std::string> row);
  void Print(std::ostream& out, std::string_view indent = "") const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> header_;
  std::string right_;  // 'r' at index i: column i is right-aligned
  std::vector<std::vector<std::string>> rows_;
};

// JSON (render_json.cc): the "shmring.stat/1" document (STAT_JSON.md).
std::string RenderStatJson(const shmring::RingStats& s);
// One delivered record as a JSON Lines object.
std::string RenderRecordJson(uint64_t position, uint16_t type, uint32_t producer, std::string_view payload);

// Prometheus text exposition (render_prom.cc) for several rings at once.
std::string RenderPrometheus(const std::vector<shmring::RingStats>& rings);

// verify and recover reports (cmd_verify.cc).
void RenderVerifyText(const std::string& ring_path, const shmring::VerifyReport& v, std::ostream& out);
std::string RenderVerifyJson(const std::string& ring_path, const shmring::VerifyReport& v);

// Health of a ring (cmd_health.cc), for `shmctl health` and serve's /healthz: one line per
// reason it is unhealthy (a group without a live reader — of `groups` only, if not empty —,
// each Verify problem of `v` unless null); empty when healthy.
std::vector<std::string> HealthProblems(const shmring::RingStats& s, const shmring::VerifyReport* v,
                                        const std::vector<std::string>& groups = {});
// The same for rings by name, opened read-only (a ring that cannot be opened is a problem).
std::vector<std::string> Health(const std::vector<std::string>& rings, const std::vector<std::string>& groups = {},
                                bool verify = true);

// Since when a ring has had no live participant: the smallest heartbeat age over every slot
// ever used (the last sign of life); nullopt if some participant is alive or no slot was used.
std::optional<uint64_t> IdleNs(const shmring::RingStats& s);

// --- drain's formatters (drain_format.cc); raw and lines need none ---
struct DrainMeta {
  std::string ring;     // RingLabel of the ring
  std::string group;
  std::string version;  // shmctl's version, the OTLP scope version
};
struct DrainRecord {
  uint64_t position = 0;
  uint16_t type = 0, flags = 0;
  uint32_t producer = 0;
  std::span<const std::byte> payload;
};
bool IsUtf8(std::string_view s);
std::string Rfc3339Nano(uint64_t unix_ns);  // "2024-05-01T12:00:00.000000001Z"
// --format json: one object per record and line (time, ring, group, producer, type, position,
// payload or payload_base64).
void AppendDrainJson(std::string* out, const DrainMeta& meta, uint64_t unix_ns, std::span<const DrainRecord> records);
// --format otlp-json: OTLP/JSON ExportLogsServiceRequest lines (several records per line, each
// line under 256 KiB).
void AppendOtlpJson(std::string* out, const DrainMeta& meta, uint64_t unix_ns, std::span<const DrainRecord> records);

}  // namespace shmctl
