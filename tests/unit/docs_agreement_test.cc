// The README against the binaries: its configuration reference names
// exactly the keys the loader accepts (control/config/config_keys.h), and
// the flags it gives tartand and tartanctl are exactly those their --help
// lists.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "control/config/config_keys.h"
#include "tests/support/files.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using testing::read_file;
using testing::required_env;
using testing::run_command;

std::string readme() {
  return read_file(required_env("TARTAN_SOURCE_ROOT") + "/README.md");
}

// The README's lines from the one starting with `first` up to the next one
// starting with `end` (not included).
std::vector<std::string> readme_part(const std::string& first, const std::string& end) {
  std::istringstream in(readme());
  std::vector<std::string> lines;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (!inside && line.starts_with(first))
      inside = true;
    else if (inside && line.starts_with(end))
      break;
    if (inside) lines.push_back(line);
  }
  EXPECT_FALSE(lines.empty()) << "README.md has no line starting with " << first;
  return lines;
}

std::vector<std::string> backticked(const std::string& text) {
  std::vector<std::string> out;
  static const std::regex quoted("`([^`]+)`");
  for (std::sregex_iterator it(text.begin(), text.end(), quoted), end; it != end; ++it)
    out.push_back((*it)[1]);
  return out;
}

// The keys the "Configuration reference" tables name, as config_keys()
// spells them: a table's keys are relative to its `### `section`` heading
// unless they start with a top-level key.
std::set<std::string> readme_config_keys() {
  const std::vector<std::string> top = config_keys_in("");
  std::set<std::string> keys;
  std::string section;
  for (const std::string& line : readme_part("## Configuration reference", "## Logs")) {
    if (line.starts_with("### ")) {
      const std::vector<std::string> names = backticked(line);
      section = names.empty() ? "" : names[0];
      continue;
    }
    if (!line.starts_with("| `")) continue;
    const std::string first_cell = line.substr(1, line.find(" |", 1));
    for (const std::string& key : backticked(first_cell)) {
      const std::string head = key.substr(0, std::min(key.find('.'), key.find('[')));
      const bool absolute = std::find(top.begin(), top.end(), head) != top.end();
      keys.insert(absolute ? key : section + "." + key);
    }
  }
  return keys;
}

TEST(DocsAgreement, ConfigReferenceListsExactlyTheKeysTheLoaderAccepts) {
  const std::set<std::string> documented = readme_config_keys();
  std::set<std::string> accepted;
  for (std::string_view key : config_keys()) accepted.emplace(key);
  for (const std::string& key : accepted)
    EXPECT_TRUE(documented.count(key)) << key << " is accepted but not in README.md's reference";
  for (const std::string& key : documented)
    EXPECT_TRUE(accepted.count(key)) << key << " is in README.md's reference but not accepted";
}

// The flags a --help text lists: the option column of each line that starts
// with a dash (up to the gap before its description), short and long names
// of one option grouped.
std::vector<std::set<std::string>> help_flags(const std::string& help) {
  std::vector<std::set<std::string>> out;
  std::istringstream in(help);
  static const std::regex flag("^--?[A-Za-z][A-Za-z0-9-]*$");
  for (std::string line; std::getline(in, line);) {
    const size_t start = line.find_first_not_of(' ');
    if (start == std::string::npos || start == 0 || line[start] != '-') continue;
    std::string column = line.substr(start, line.find("  ", start) - start);
    std::replace(column.begin(), column.end(), ',', ' ');
    std::istringstream words(column);
    std::set<std::string> names;
    for (std::string w; words >> w;)
      if (std::regex_match(w, flag)) names.insert(w);
    if (!names.empty()) out.push_back(names);
  }
  return out;
}

std::set<std::string> flags_in(const std::vector<std::string>& lines) {
  static const std::regex flag("(^|[^A-Za-z0-9-])(--?[A-Za-z][A-Za-z0-9-]*)");
  std::set<std::string> out;
  for (const std::string& line : lines) {
    for (const std::string& code : backticked(line)) {
      for (std::sregex_iterator it(code.begin(), code.end(), flag), end; it != end; ++it)
        out.insert((*it)[2]);
    }
  }
  return out;
}

void expect_same_flags(const std::set<std::string>& documented,
                       const std::vector<std::set<std::string>>& listed, const std::string& what) {
  ASSERT_FALSE(listed.empty()) << what << " --help lists no flags";
  for (const std::string& f : documented) {
    const bool known = std::any_of(listed.begin(), listed.end(),
                                   [&](const std::set<std::string>& o) { return o.count(f); });
    EXPECT_TRUE(known) << "README.md gives " << what << " " << f << ", which --help does not list";
  }
  for (const std::set<std::string>& option : listed) {
    const bool known = std::any_of(option.begin(), option.end(),
                                   [&](const std::string& f) { return documented.count(f); });
    EXPECT_TRUE(known) << what << " --help lists " << *option.rbegin()
                       << ", which README.md does not";
  }
}

TEST(DocsAgreement, TartandFlagsInTheReadmeAreThoseOfItsHelp) {
  const testing::CommandResult help = run_command({required_env("TARTAND"), "--help"});
  ASSERT_EQ(help.exit_code, 0) << help.output;
  expect_same_flags(
      flags_in(readme_part("| `build/control/tartand`", "| `build/control/tartanctl`")),
      help_flags(help.output), "tartand");
}

// The subcommands a CLI11 --help lists under "Subcommands:".
std::vector<std::string> subcommands(const std::string& help) {
  std::vector<std::string> out;
  std::istringstream in(help);
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line == "Subcommands:")
      inside = true;
    else if (inside && line.empty())
      break;
    else if (inside && line.starts_with("  ") && line[2] != ' ')
      out.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  return out;
}

TEST(DocsAgreement, TartanctlFlagsInTheReadmeAreThoseOfEveryCommandsHelp) {
  const std::string tartanctl = required_env("TARTANCTL");
  std::vector<std::set<std::string>> listed;
  // Every command's --help, subcommands of subcommands too.
  std::vector<std::vector<std::string>> pending = {{}};
  while (!pending.empty()) {
    std::vector<std::string> argv = {tartanctl};
    const std::vector<std::string> command = pending.back();
    pending.pop_back();
    argv.insert(argv.end(), command.begin(), command.end());
    argv.push_back("--help");
    const testing::CommandResult help = run_command(argv);
    ASSERT_EQ(help.exit_code, 0) << help.output;
    for (const std::set<std::string>& option : help_flags(help.output))
      if (std::find(listed.begin(), listed.end(), option) == listed.end()) listed.push_back(option);
    for (const std::string& sub : subcommands(help.output)) {
      pending.push_back(command);
      pending.back().push_back(sub);
    }
  }
  expect_same_flags(flags_in(readme_part("### tartanctl", "The API (")), listed, "tartanctl");
}

}  // namespace
}  // namespace tartan
