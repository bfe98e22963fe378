// tartan-bench-kube (perf/bench_kube.cc) runs briefly and reports every
// part: a smoke test of the benchmark, not a measurement (no figure is
// asserted).
#include <gtest/gtest.h>

#include "tests/support/files.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::run_command;

TEST(BenchKube, ABriefRunReportsEveryPart) {
  const testing::CommandResult r =
      run_command({testing::required_env("TARTAN_BENCH_KUBE"), "--nodes", "20,40", "--runs", "1",
                   "--samples", "5", "--changes", "2"},
                  600s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* table :
       {"## sync: a LIST of N Nodes", "\n| 20 | ", "\n| 40 | ", "## latency: one Node's public-ip",
        "| watch event queued by the API server", "## memory: what a Node costs (20 realistic",
        "| the mirror's nodes (footprint().node_bytes / nodes) | ", "## history: a node with",
        "| tartanctl nodes apply | 16 | ", "| Kubernetes (PATCH, watch) | 1 | "})
    EXPECT_NE(r.output.find(table), std::string::npos) << table << "\n" << r.output;
  // tartanctl refuses what Kubernetes would.
  EXPECT_NE(r.output.find("more than the 262144 Kubernetes allows"), std::string::npos) << r.output;
}

TEST(BenchKube, BadOptionsExitTwoNamingThem) {
  const std::string bench = testing::required_env("TARTAN_BENCH_KUBE");
  testing::CommandResult r = run_command({bench, "--runs", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--runs: '0' is not in 1..100"), std::string::npos) << r.output;
  r = run_command({bench, "--parts", "sync,speed"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--parts: 'speed' is not sync, latency, memory or history"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace tartan
