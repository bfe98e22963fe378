#include "control/host/leftovers.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "control/config/config_loader.h"
#include "control/config/startup_checks.h"
#include "engine/eal.h"
#include "tests/support/files.h"

namespace tartan {
namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

// A bound unix socket of `type`; listening (answering) when `live`.
int bound_socket(const std::string& path, int type, bool live) {
  const int fd = socket(AF_UNIX, type, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << path;
  if (live) {
    EXPECT_EQ(listen(fd, 1), 0);
  }
  return fd;
}

TEST(Leftovers, WhatADeadTartandLeftIsRemovedAndWhatALiveOneHoldsIsKept) {
  const testing::ScopedTempDir scoped("h18st-leftovers");
  const std::string base = scoped.path() + "/dpdk";
  std::filesystem::create_directories(base + "/h18st-dead");
  std::filesystem::create_directories(base + "/h18st-live");
  std::filesystem::create_directories(base + "/tartan-" + std::to_string(getpid()));
  std::filesystem::create_directories(base + "/tartan-99999999");  // above any pid_max
  std::filesystem::create_directories(base + "/someone-else");
  // A dead process's telemetry socket: bound, then closed.
  close(bound_socket(base + "/h18st-dead/dpdk_telemetry.v2", SOCK_SEQPACKET, false));
  const int live = bound_socket(base + "/h18st-live/dpdk_telemetry.v2", SOCK_SEQPACKET, true);
  const std::string stale_sock = scoped.path() + "/stale.sock";
  close(bound_socket(stale_sock, SOCK_STREAM, false));

  std::vector<std::string> removed = remove_dead_leftovers(stale_sock, base, "h18st-dead");
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(
      removed,
      (std::vector<std::string>{
          "removed the API socket " + stale_sock + " a dead tartand left (nothing answers on it)",
          "removed the DPDK runtime directory " + base + "/h18st-dead a dead tartand left",
          "removed the DPDK runtime directory " + base + "/tartan-99999999 a dead tartand left",
      }));
  EXPECT_FALSE(exists(stale_sock));
  EXPECT_TRUE(remove_dead_leftovers("", base, "h18st-live").empty());  // answers: live
  EXPECT_TRUE(exists(base + "/h18st-live"));
  EXPECT_TRUE(exists(base + "/tartan-" + std::to_string(getpid())));  // its pid runs
  EXPECT_TRUE(exists(base + "/someone-else"));                        // not tartan's
  close(live);

  const std::string live_sock = scoped.path() + "/live.sock";
  const int served = bound_socket(live_sock, SOCK_STREAM, true);
  EXPECT_TRUE(unix_socket_answers(live_sock));
  EXPECT_TRUE(remove_dead_leftovers(live_sock, base, "").empty());
  EXPECT_TRUE(exists(live_sock));
  close(served);
}

TEST(StartupChecks, HugepagesAutoFallsBackToNoHugeWhenMemoryExceedsFreeHugepagesOnFails) {
  auto config = load_default_config();
  ASSERT_TRUE(config.ok()) << config.status().message();
  config->control.listen = "unix:///tmp/h18st-startup-none.sock";
  config->engine.eal.memory_mb = static_cast<unsigned>(free_hugepage_mb() + 64);
  config->engine.eal.hugepages = HugepageMode::kAuto;
  auto plan = check_startup(*config);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_FALSE(plan->use_hugepages);
  EXPECT_NE(plan->hugepage_note.find("exceeds the"), std::string::npos) << plan->hugepage_note;
  config->engine.eal.hugepages = HugepageMode::kOn;
  auto refused = check_startup(*config);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message().rfind("eal.hugepages is on but eal.memory_mb ", 0), 0u)
      << refused.status().message();
}

}  // namespace
}  // namespace tartan
