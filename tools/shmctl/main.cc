// shmctl: dispatch to a subcommand, `help`, `--help` and `--version`.
#include <iostream>
#include <string>
#include <vector>

#include "shmctl.h"

namespace {

using namespace shmctl;

using Runner = int (*)(const std::vector<std::string>&);

struct Command {
  std::string_view name;
  Runner run;
};

constexpr Command kCommands[] = {
    {"create", RunCreate}, {"write", RunWrite}, {"read", RunRead},       {"ls", RunLs},
    {"stat", RunStat},     {"metrics", RunMetrics}, {"rm", RunRm},   {"group", RunGroup},
    {"verify", RunVerify}, {"recover", RunRecover}, {"watch", RunWatch}, {"serve", RunServe},
    {"drain", RunDrain},   {"health", RunHealth},
};

bool WantsHelp(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--") return false;
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

int UsageFailure(std::string_view command, std::string_view message) {
  std::cerr << "shmctl: " << (command.empty() ? "" : std::string(command) + ": ") << message << "\n";
  if (!command.empty()) {
    std::cerr << "usage: " << Synopsis(command) << "\n"
              << "Try 'shmctl help " << command << "' for more.\n";
  } else {
    std::cerr << "Try 'shmctl help' for the list of commands.\n";
  }
  return kExitUsage;
}

int Help(const std::vector<std::string>& args) {
  if (args.size() > 1) return UsageFailure("help", "give at most one command");
  const std::string topic = args.empty() ? "" : args[0];
  if (!PrintHelp(topic, std::cout)) return UsageFailure("", "no help for unknown command '" + topic + "'");
  return kExitOk;
}

int Dispatch(const std::string& command, const std::vector<std::string>& args) {
  if (command == "help") return Help(args);
  if (command == "--help" || command == "-h") return Help({});
  if (command == "--version" || command == "version") {
    std::cout << ToolVersion() << " (ring layout " << shmring::kLayoutMajor << "." << shmring::kLayoutMinor << ")\n";
    return kExitOk;
  }
  for (const Command& c : kCommands) {
    if (c.name != command) continue;
    if (WantsHelp(args)) {
      PrintHelp(command, std::cout);
      return kExitOk;
    }
    try {
      return c.run(args);
    } catch (const UsageError& e) {
      return UsageFailure(command, e.what());
    }
  }
  if (!command.empty() && command[0] == '-') return UsageFailure("", "unknown option '" + command + "'");
  return UsageFailure("", "unknown command '" + command + "'");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    PrintHelp("", std::cerr);
    return kExitUsage;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  return Dispatch(command, args);
}
