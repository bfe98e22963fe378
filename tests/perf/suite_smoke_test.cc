// The side-by-side perf suite end to end, shortened (--smoke): every part
// runs (testpmd, tartand with both backends, the kernel in namespaces),
// packets flow through each, the results parse, and nothing is left behind.
// It asserts no speed: that is for perf/RESULTS.md.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/support/process.h"

namespace tartan::testing {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

std::set<std::string> netns_named(const std::string& prefix) {
  std::set<std::string> out;
  std::istringstream in(run_command({"ip", "netns", "list"}).output);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) out.insert(line.substr(0, line.find(' ')));
  return out;
}

TEST(PerfSuite, SmokeRunMeasuresEveryPartAndCleansUp) {
  char tmpl[] = "/tmp/tartan-suite-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string out = tmpl;
  const CommandResult r = run_command(
      {"/usr/bin/python3", env("TARTAN_SOURCE_ROOT") + "/perf/suite/run_suite.py", "--smoke",
       "--duration", "0.5", "--build", env("TARTAN_BUILD_ROOT"), "--out", out},
      std::chrono::seconds(600));
  ASSERT_EQ(r.exit_code, 0) << r.output;

  std::ifstream in(out + "/suite.json");
  const auto doc = nlohmann::json::parse(in);
  std::set<std::string> parts, ipv6_parts;
  for (const auto& rec : doc["records"]) {
    const std::string part = rec["dut"].get<std::string>() + " " + rec["test"].get<std::string>() +
                             " " + rec.value("backend", "-");
    const std::string what = part + " (" + rec["section"].get<std::string>() + ")";
    (rec.value("family", "ipv4") == "ipv6" ? ipv6_parts : parts).insert(part);
    EXPECT_GT(rec["result"]["rx_packets"].get<double>(), 0) << what;
    EXPECT_GT(rec["rx_mpps"].get<double>(), 0) << what;
    EXPECT_FALSE(rec["command"].get<std::string>().empty()) << what;
    if (rec["dut"] == "tartan") {
      EXPECT_TRUE(rec["busy_cycles_per_packet"].is_number()) << what;
    }
  }
  for (const char* part :
       {"testpmd-io io -", "testpmd-macswap macswap -", "tartan encap vxlan", "tartan decap vxlan",
        "tartan encap udp", "tartan decap udp", "kernel encap vxlan", "kernel decap vxlan",
        "tartan-engine io -", "tartan-engine encap vxlan", "tartan-engine decap vxlan",
        "tartan-engine encap udp", "tartan-engine decap udp", "tartan-engine encap DirectRouting"})
    EXPECT_EQ(parts.count(part), 1u) << part << " missing from " << out << "/suite.json";
  // IPv6 beside IPv4 in the same run (issue 14): tartand's vxlan and the kernel's flannel-v6.
  EXPECT_EQ(ipv6_parts, (std::set<std::string>{"tartan encap vxlan", "tartan decap vxlan",
                                               "kernel encap vxlan", "kernel decap vxlan"}));
  // The control plane's figures, each a positive time.
  std::set<std::string> figures;
  for (const auto& fig : doc["control"]) {
    figures.insert(fig["figure"].get<std::string>());
    EXPECT_GT(fig["value"].get<double>(), 0) << fig["figure"];
  }
  EXPECT_EQ(figures, (std::set<std::string>{"apply_nodes", "route_change_us"}));
  EXPECT_NE(r.output.find("| part | DUT |"), std::string::npos) << "the table was not printed";
  // Every target with its measured figure, the target and whether met.
  EXPECT_NE(r.output.find("| what | measured | target | met |"), std::string::npos);
  for (const char* target :
       {"minus testpmd io's", "minus BM_IoOnly/18", "applied through the API",
        "BM_RouteChangeToFirstPacket/100000", "flows to untouched nodes, 10000 route changes/s",
        "flows to the nodes being moved, 10000 route changes/s",
        "remote nodes, 1 flow, 64 B: tartand's busy cycles/pkt",
        "remote nodes, 1 flow, 78 B: tartand's busy cycles/pkt", "IPv6's over IPv4's",
        "BM_VxlanEncapTableSize/1000 over BM_VxlanEncapTableSize/1",
        "BM_VxlanDecapTableSize/1000 over BM_VxlanDecapTableSize/1"})
    EXPECT_NE(r.output.find(target), std::string::npos) << target << " missing from the targets";

  // Nothing left behind: namespaces, DPDK runtime directories, processes.
  EXPECT_TRUE(netns_named("tpk-").empty());
  for (const auto& e : std::filesystem::directory_iterator("/var/run/dpdk"))
    EXPECT_EQ(e.path().filename().string().rfind("tps-", 0), std::string::npos) << e.path();
  EXPECT_NE(run_command({"pgrep", "-f", "tps-"}).exit_code, 0) << "a DUT or generator survived";
  std::filesystem::remove_all(out);
}

}  // namespace
}  // namespace tartan::testing
