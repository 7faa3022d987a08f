// Hand-written argument parsing: flags, positionals and typed values.
#include <cmath>
#include <cstdlib>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "shmctl.h"

namespace shmctl {

Args Args::Parse(std::string_view command, const std::vector<std::string>& argv,
                 std::initializer_list<FlagSpec> flags) {
  Args a;
  a.command_ = std::string(command);
  bool only_positional = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (only_positional || arg.size() < 2 || arg[0] != '-' || arg == "-") {
      a.positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      throw UsageError(absl::StrCat("unknown option '", arg, "' (options are spelled --name)"));
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& f : flags) {
      if (f.name == name) spec = &f;
    }
    if (spec == nullptr) {
      std::vector<std::string> known;
      for (const FlagSpec& f : flags) known.push_back(absl::StrCat("--", AV(f.name)));
      throw UsageError(absl::StrCat("unknown option '--", name, "'",
                                    known.empty() ? " (it takes no options)"
                                                  : absl::StrCat(" (known: ", absl::StrJoin(known, " "), ")")));
    }
    if (spec->takes_value) {
      if (!value) {
        if (i + 1 >= argv.size()) throw UsageError(absl::StrCat("option '--", name, "' needs a value"));
        value = argv[++i];
      }
    } else if (value) {
      throw UsageError(absl::StrCat("option '--", name, "' takes no value (got '", *value, "')"));
    }
    a.flags_[name].push_back(value.value_or(""));
  }
  return a;
}

std::optional<std::string> Args::Get(std::string_view flag) const {
  auto it = flags_.find(std::string(flag));
  if (it == flags_.end()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Args::GetAll(std::string_view flag) const {
  auto it = flags_.find(std::string(flag));
  return it == flags_.end() ? std::vector<std::string>{} : it->second;
}

void Args::ExpectPositional(size_t lo, size_t hi, std::string_view what) const {
  if (positional_.size() < lo) throw UsageError(absl::StrCat("missing ", AV(what)));
  if (positional_.size() > hi) {
    throw UsageError(absl::StrCat("unexpected argument '", positional_[hi], "'"));
  }
}

namespace {

[[noreturn]] void Bad(std::string_view flag, std::string_view v, std::string_view expected) {
  throw UsageError(absl::StrCat("--", AV(flag), " '", AV(v), "': expected ", AV(expected)));
}

}  // namespace

uint64_t ParseSize(std::string_view flag, std::string_view v) {
  std::string_view digits = v;
  uint64_t mult = 1;
  std::string suffix;
  while (!digits.empty() && !absl::ascii_isdigit(static_cast<unsigned char>(digits.back()))) {
    suffix.insert(suffix.begin(), absl::ascii_toupper(static_cast<unsigned char>(digits.back())));
    digits.remove_suffix(1);
  }
  if (suffix == "" || suffix == "B") mult = 1;
  else if (suffix == "K" || suffix == "KB" || suffix == "KIB") mult = uint64_t{1} << 10;
  else if (suffix == "M" || suffix == "MB" || suffix == "MIB") mult = uint64_t{1} << 20;
  else if (suffix == "G" || suffix == "GB" || suffix == "GIB") mult = uint64_t{1} << 30;
  else if (suffix == "T" || suffix == "TB" || suffix == "TIB") mult = uint64_t{1} << 40;
  else Bad(flag, v, "a size such as 4096, 64K, 1M or 2G");
  uint64_t n = 0;
  if (digits.empty() || !absl::SimpleAtoi(AV(digits), &n)) Bad(flag, v, "a size such as 4096, 64K, 1M or 2G");
  if (n > UINT64_MAX / mult) Bad(flag, v, "a size below 2^64");
  return n * mult;
}

uint64_t ParseUint(std::string_view flag, std::string_view v, uint64_t max) {
  uint64_t n = 0;
  if (v.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(v[0])) || !absl::SimpleAtoi(AV(v), &n)) {
    Bad(flag, v, "a non-negative integer");
  }
  if (n > max) Bad(flag, v, absl::StrCat("at most ", max));
  return n;
}

double ParseSeconds(std::string_view flag, std::string_view v) {
  std::string_view num = v;
  double scale = 1;
  if (num.size() > 2 && num.substr(num.size() - 2) == "ms") {
    num.remove_suffix(2);
    scale = 1e-3;
  } else if (!num.empty() && num.back() == 's') {
    num.remove_suffix(1);
  }
  double d = 0;
  if (num.empty() || !absl::SimpleAtod(AV(num), &d) || !std::isfinite(d) || d < 0) {
    Bad(flag, v, "seconds, such as 5, 0.5 or 250ms");
  }
  return d * scale;
}

double ParseRate(std::string_view flag, std::string_view v) {
  std::string_view num = v;
  if (num.size() > 2 && num.substr(num.size() - 2) == "/s") num.remove_suffix(2);
  double d = 0;
  if (num.empty() || !absl::SimpleAtod(AV(num), &d) || !std::isfinite(d) || d <= 0) {
    Bad(flag, v, "a positive rate in records per second, such as 1000 or 1000/s");
  }
  return d;
}

uint32_t ParseMode(std::string_view flag, std::string_view v) {
  if (v.empty() || v.size() > 5) Bad(flag, v, "an octal file mode such as 0600 or 0660");
  uint32_t mode = 0;
  for (char c : v) {
    if (c < '0' || c > '7') Bad(flag, v, "an octal file mode such as 0600 or 0660");
    mode = mode * 8 + uint32_t(c - '0');
  }
  if (mode > 07777) Bad(flag, v, "an octal file mode such as 0600 or 0660");
  return mode;
}

int Fail(const absl::Status& s) { return Fail(SV(s.message())); }

int Fail(std::string_view message) {
  std::cerr << "shmctl: " << message << "\n";
  return kExitFail;
}

}  // namespace shmctl
