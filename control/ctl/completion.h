// `tartanctl completion bash|zsh`: a completion script generated from the
// parser itself (CLI11 has no generator), so it never disagrees with it.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace tartan::ctl {

// The script for `shell` ("bash" or "zsh"; zsh runs the bash one through
// bashcompinit) completing every command, subcommand, option and the
// values of options that take a fixed set.
std::string completion_script(const CLI::App& app, const std::string& shell);

}  // namespace tartan::ctl
