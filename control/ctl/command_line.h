// tartanctl's command line, parsed by CLI11: the global options (accepted
// before or after any command word, and listed in every command's --help),
// the commands of client.h, and `completion bash|zsh`.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/ctl/client.h"

namespace tartan::ctl {

class CommandLine {
 public:
  CommandLine();

  // Parses argv (argv[0] is the program). Returns the exit status when the
  // command line is done with (--help, --version, completion, or a usage
  // error, reported on stderr as "tartanctl: <command>: <what>" with exit 2);
  // nullopt when run() is to be called.
  std::optional<int> parse(const std::vector<std::string>& argv);
  int run() const { return action_(); }

  const CLI::App& app() const { return app_; }

 private:
  GlobalOptions global_;
  std::string output_;
  CLI::App app_;
  Action action_;
  std::string shell_;
};

}  // namespace tartan::ctl
