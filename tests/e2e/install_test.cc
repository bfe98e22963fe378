// `meson install` as a package build runs it (into a DESTDIR): what lands
// where, the default config never written over an operator's, a systemd
// unit systemd-analyze accepts, bash completion and man pages made from the
// binaries.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <regex>
#include <string>

#include "tests/support/files.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::read_file;
using testing::required_env;
using testing::run_command;

bool executable_file(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) == 0111;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

testing::CommandResult install_into(const std::string& destdir) {
  return run_command({"meson", "install", "-C", required_env("TARTAN_BUILD_ROOT"), "--no-rebuild",
                      "--destdir", destdir},
                     120s);
}

TEST(Install, MesonInstallPutsEverythingWhereASystemServiceNeedsIt) {
  const testing::ScopedTempDir scoped("h18fin-install");
  const std::string root = scoped.path() + "/root";
  const testing::CommandResult installed = install_into(root);
  ASSERT_EQ(installed.exit_code, 0) << installed.output;
  const std::string prefix = root + required_env("TARTAN_INSTALL_PREFIX");
  const std::string config =
      root + required_env("TARTAN_INSTALL_SYSCONFDIR") + "/tartan/tartan.yaml";

  for (const char* binary : {"tartand", "tartanctl", "tartan-perf"})
    EXPECT_TRUE(executable_file(prefix + "/bin/" + binary)) << binary;
  EXPECT_EQ(read_file(config),
            read_file(required_env("TARTAN_SOURCE_ROOT") + "/configs/tartan.yaml"));

  const std::string unit_path = prefix + "/lib/systemd/system/tartand.service";
  const std::string unit = read_file(unit_path);
  EXPECT_TRUE(has(unit, "\nExecStart=" + required_env("TARTAN_INSTALL_PREFIX") +
                            "/bin/tartand --config " + required_env("TARTAN_INSTALL_SYSCONFDIR") +
                            "/tartan/tartan.yaml "))
      << unit;
  for (const char* line :
       {"\nRestart=on-failure\n", "\nRuntimeDirectory=tartan\n", "\nLimitMEMLOCK=infinity\n",
        "\nAfter=network-online.target dev-hugepages.mount", "\nWants=network-online.target"}) {
    EXPECT_TRUE(has(unit, line)) << line << " not in\n" << unit;
  }
  // systemd's own reading of it, with ExecStart pointed at the binary in
  // the DESTDIR (it checks that the command exists): no warning at all.
  const std::string verify_copy = scoped.path() + "/tartand.service";
  testing::write_file(
      verify_copy, std::regex_replace(unit, std::regex("ExecStart=/"), "ExecStart=" + root + "/"));
  const testing::CommandResult verified =
      run_command({"systemd-analyze", "verify", "--man=no", verify_copy}, 60s);
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
  EXPECT_EQ(verified.output, "");

  // Bash completion is tartanctl's own script, and bash takes it.
  const std::string completion = prefix + "/share/bash-completion/completions/tartanctl";
  const testing::CommandResult script =
      run_command({required_env("TARTANCTL"), "completion", "bash"});
  EXPECT_EQ(read_file(completion), script.output);
  const testing::CommandResult loaded =
      run_command({"bash", "-c", "source '" + completion + "' && complete -p tartanctl"});
  EXPECT_EQ(loaded.exit_code, 0) << loaded.output;
  EXPECT_TRUE(has(loaded.output, "tartanctl")) << loaded.output;

  // Man pages from --help: every flag is in them.
  const std::string tartand_8 = read_file(prefix + "/share/man/man8/tartand.8");
  EXPECT_TRUE(has(tartand_8, ".TH TARTAND \"8\"")) << tartand_8;
  for (const char* flag : {"subnet\\-file", "state\\-dir", "print\\-config", "stats\\-interval"})
    EXPECT_TRUE(has(tartand_8, flag)) << flag;
  const std::string tartanctl_1 = read_file(prefix + "/share/man/man1/tartanctl.1");
  EXPECT_TRUE(has(tartanctl_1, ".TH TARTANCTL \"1\"")) << tartanctl_1;
  EXPECT_TRUE(has(tartanctl_1, "\\-\\-socket")) << tartanctl_1;

  // An operator's config survives installing again.
  testing::write_file(config, "# edited\n");
  const testing::CommandResult again = install_into(root);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(read_file(config), "# edited\n");
}

}  // namespace
}  // namespace tartan
