// A tartan node and a kernel-flannel node in one cluster, and tartan nodes
// among themselves: real tartand processes, the Linux VXLAN driver as the
// peer, the kernel's own traffic between pods, in network namespaces.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/e2e/cluster.h"
#include "tests/e2e/wire_compare.h"
#include "tests/support/capture.h"
#include "tests/support/files.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::all_replied;
using testing::Cluster;
using testing::ClusterNode;
using testing::CommandResult;
using testing::kPython;
using testing::ping;
using testing::Process;
using testing::python;
using testing::tcp_transfer;

using KernelAndTartan = testing::KernelAndTartanCluster<testing::Stack::kIpv4>;

TEST_F(KernelAndTartan, PodsPingBothWaysWithTheTtlsOfAKernelFlannelPath) {
  // Each node's kernel forwards once (pod -> cni0 -> overlay, overlay ->
  // cni0 -> pod): 64 - 2, as between two kernel-flannel nodes.
  const std::string there = ping(c, *tartan, *kernel);
  EXPECT_TRUE(all_replied(there)) << there << tartan->tartand->output();
  EXPECT_NE(there.find("ttl=62"), std::string::npos) << there;
  const std::string back = ping(c, *kernel, *tartan);
  EXPECT_TRUE(all_replied(back)) << back;
  EXPECT_NE(back.find("ttl=62"), std::string::npos) << back;
}

TEST_F(KernelAndTartan, TcpBulkTransferBothWaysArrivesIntactWithoutARetransmissionStorm) {
  constexpr uint64_t kBytes = 200ull << 20;
  EXPECT_LT(tcp_transfer(c, *tartan, *kernel, kBytes), 0.01)
      << c.tartanctl(*tartan, {"stats"}).output;
  EXPECT_LT(tcp_transfer(c, *kernel, *tartan, kBytes), 0.01)
      << c.tartanctl(*tartan, {"stats"}).output;
}

TEST_F(KernelAndTartan, TcpSegmentsCutFromTheHostsGsoPacketsAreByteCorrectOnTheWire) {
  testing::Capture capture(c.underlay(), "s2", "udp port 8472 and src host 192.0.2.12", 8,
                           tartan->dir + "/gso.pcap");
  EXPECT_LT(tcp_transfer(c, *tartan, *kernel, 8 << 20), 0.01);
  // Each wire frame: at most the underlay MTU, VNI 1, and every checksum
  // good (outer IPv4 and UDP, inner IPv4 and TCP); the receiver's SHA-256
  // above vouches for the sequence numbers.
  const std::string fields = capture.read(
      "-d udp.port==8472,vxlan -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE "
      "-o tcp.check_checksum:TRUE -Y 'tcp.len>0' -T fields -E occurrence=a -E aggregator=, "
      "-e frame.len -e vxlan.vni -e ip.checksum.status -e udp.checksum.status "
      "-e tcp.checksum.status",
      "awk -F'\t' '{print ($1 <= 1514), $2, $3, $4, $5}' | sort | uniq -c");
  EXPECT_TRUE(std::regex_search(fields, std::regex(R"(^\s+\d+ 1 1 1,1 1 1\n$)"))) << fields;
  const auto stats = nlohmann::json::parse(c.tartanctl(*tartan, {"-o", "json", "stats"}).output);
  EXPECT_GT(std::stoull(stats["events"].value("gso_segments", "0")),
            std::stoull(stats["events"].value("gso_packets", "0")))
      << "the host handed over GSO packets and tartand cut them";
}

TEST_F(KernelAndTartan, ManyUdpFlowsAllArriveAndSpreadOverStableOuterSourcePorts) {
  constexpr int kFlows = 64, kEach = 10;
  testing::Capture capture(c.underlay(), "s2", "udp dst port 8472", 8, tartan->dir + "/flows.pcap");
  Process receiver(
      kernel->pod->exec({kPython, testing::e2e_tool("udp_flows.py"), "receive", "5001", "5"}));
  std::this_thread::sleep_for(500ms);
  c.sh(*tartan->pod,
       python("udp_flows.py", "send " + kernel->pod_ip.str() + " 5001 " + std::to_string(kFlows) +
                                  " " + std::to_string(kEach)));
  ASSERT_TRUE(receiver.wait(30s).has_value());
  std::istringstream got(receiver.output());
  int flows = 0, src = 0, n = 0;
  while (got >> src >> n) {
    ++flows;
    EXPECT_EQ(n, kEach) << "flow from port " << src;
  }
  EXPECT_EQ(flows, kFlows) << receiver.output();

  // Outer UDP source port per inner flow, as tshark decodes them.
  const std::string fields = capture.read(
      "-d udp.port==8472,vxlan -T fields -E occurrence=a -E aggregator=, -e udp.srcport");
  std::map<int, std::set<int>> outer_of;
  std::istringstream lines(fields);
  std::string line;
  while (std::getline(lines, line)) {
    const auto comma = line.find(',');
    if (comma == std::string::npos) continue;
    outer_of[std::stoi(line.substr(comma + 1))].insert(std::stoi(line.substr(0, comma)));
  }
  std::set<int> outer_ports;
  for (const auto& [inner, outers] : outer_of) {
    EXPECT_EQ(outers.size(), 1u) << "flow from inner port " << inner << " used several outer ports";
    outer_ports.insert(outers.begin(), outers.end());
  }
  EXPECT_EQ(outer_of.size(), static_cast<size_t>(kFlows));
  EXPECT_GE(outer_ports.size(), static_cast<size_t>(kFlows * 9 / 10))
      << "flows should spread over source ports";
  for (int p : outer_ports) {
    EXPECT_GE(p, 32768);
    EXPECT_LE(p, 60998);
  }
}

TEST_F(KernelAndTartan, OversizedDfPacketsGetFragmentationNeededWithTheOverlayMtu) {
  // 1422 bytes of payload + 28 of headers = 1450, the overlay MTU: fits.
  EXPECT_TRUE(all_replied(ping(c, *tartan, *kernel, "-c 1 -W 2 -M do -s 1422")))
      << ping(c, *tartan, *kernel, "-c 1 -W 2 -M do -s 1422");
  const std::string too_big = ping(c, *tartan, *kernel, "-c 2 -W 2 -M do -s 1423");
  EXPECT_TRUE(too_big.find("mtu = 1450") != std::string::npos ||
              too_big.find("mtu=1450") != std::string::npos)
      << too_big;
  // TCP between pods with MTU 1500 must find the path MTU on its own: the
  // bulk transfer above runs with it; a short one here.
  EXPECT_LT(tcp_transfer(c, *tartan, *kernel, 4 << 20), 0.05);
}

TEST_F(KernelAndTartan, SpoofedVxlanIsDroppedByTartanButReachesAPodOnTheKernelNode) {
  const testing::Netns& stranger = c.stranger();
  const auto spoof_at = [&](ClusterNode& victim) {
    testing::Capture capture(*victim.pod, "eth0", "icmp and src host 10.244.99.9", 5,
                             "/tmp/tartan-spoof-" + victim.name + ".pcap");
    c.sh(stranger,
         python("spoof_vxlan.py", "eth0 192.0.2.66 " + victim.public_ip.str() + " " +
                                      victim.vtep_mac + " " + victim.pod_ip.str() + " 5"));
    const std::string seen = capture.read("", "wc -l");
    return std::stoi(seen);
  };
  const uint64_t before = testing::drop_count(c, *tartan, "unknown_sender");
  EXPECT_EQ(spoof_at(*tartan), 0) << "a spoofed tunnel packet reached the pod on the tartan node";
  EXPECT_EQ(testing::drop_count(c, *tartan, "unknown_sender") - before, 5u);
  // The Linux vxlan driver accepts VXLAN from anyone: the difference.
  EXPECT_GE(spoof_at(*kernel), 1) << "the kernel node should have let the spoofed packet in";
}

TEST_F(KernelAndTartan, CapturedTunnelTrafficIsWellFormedVxlanWithGoodChecksums) {
  testing::Capture capture(c.underlay(), "s2", "udp port 8472 and src host 192.0.2.12", 4,
                           tartan->dir + "/wire.pcap");
  ping(c, *tartan, *kernel, "-c 3 -i 0.2 -W 2 -s 1000");
  const std::string fields = capture.read(
      "-d udp.port==8472,vxlan -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -T fields -E "
      "occurrence=f "
      "-e vxlan.vni -e ip.checksum.status -e udp.checksum.status -e ip.flags.df -e ip.ttl",
      "sort | uniq -c");
  // Every frame: VNI 1, IPv4 and UDP checksums good (tshark's 1), DF clear, TTL 64.
  EXPECT_TRUE(std::regex_search(fields, std::regex(R"(^\s+\d+ 1\t1\t1\t0\t64\n$)"))) << fields;
}

TEST_F(KernelAndTartan, TunnelFramesEqualFlannel1sFieldByField) {
  testing::expect_kernel_wire_format(c, *kernel, *tartan, false);
}

// The fallback overlay port: net_tap, one frame per read() and write().
TEST(KernelAndTartanOverNetTap, TcpBulkTransferBothWaysArrivesIntact) {
  Cluster c("kn");
  ClusterNode& kernel = c.add_kernel_node(1);
  ClusterNode& tartan = c.add_tartan_node(2, "vxlan", false, "net_tap");
  c.connect(kernel, tartan);
  EXPECT_LT(tcp_transfer(c, tartan, kernel, 32 << 20), 0.01)
      << c.tartanctl(tartan, {"stats"}).output;
  EXPECT_LT(tcp_transfer(c, kernel, tartan, 32 << 20), 0.01)
      << c.tartanctl(tartan, {"stats"}).output;
}

// Two tartan nodes on one segment, for the backends a kernel-flannel peer
// is not needed to prove.
class TwoTartanNodes : public ::testing::TestWithParam<std::pair<const char*, bool>> {};

TEST_P(TwoTartanNodes, PodsPingAndTransferOverTcp) {
  Cluster c(std::string("tt") + GetParam().first[0]);
  ClusterNode& a = c.add_tartan_node(2, GetParam().first, GetParam().second);
  ClusterNode& b = c.add_tartan_node(3, GetParam().first, GetParam().second);
  c.connect(a, b);
  const std::string out = ping(c, a, b);
  EXPECT_TRUE(all_replied(out)) << out << a.tartand->output() << b.tartand->output();
  EXPECT_TRUE(all_replied(ping(c, b, a)));
  EXPECT_LT(tcp_transfer(c, a, b, 20 << 20), 0.01)
      << c.tartanctl(a, {"stats"}).output << c.tartanctl(b, {"stats"}).output;
  const std::string routes = c.tartanctl(a, {"routes"}).output;
  const std::string kind = std::string(GetParam().first) == "udp" ? "udp" : "direct";
  EXPECT_NE(routes.find("10.244.3.0/24   " + kind), std::string::npos) << routes;
}

INSTANTIATE_TEST_SUITE_P(Backends, TwoTartanNodes,
                         ::testing::Values(std::make_pair("udp", false),
                                           std::make_pair("host-gw", false),
                                           std::make_pair("vxlan", true)),
                         [](const auto& info) {
                           return std::string(info.param.first == std::string("host-gw") ? "HostGw"
                                              : info.param.second ? "VxlanDirectRouting"
                                                                  : "Udp");
                         });

TEST(NodeLifecycle,
     DeletedNodeIsUnreachableWithinASecondAndBackWhenReappliedWhileOthersLoseNothing) {
  Cluster c("lc");
  ClusterNode& kernel = c.add_kernel_node(1);
  ClusterNode& a = c.add_tartan_node(2);
  ClusterNode& b = c.add_tartan_node(3);
  c.connect(kernel, a);
  c.connect(kernel, b);
  c.connect(a, b);
  ASSERT_TRUE(all_replied(ping(c, a, b)));
  // Steady traffic to the kernel node throughout.
  Process steady(a.pod->exec({"ping", "-c", "60", "-i", "0.05", "-W", "1", kernel.pod_ip.str()}));
  std::this_thread::sleep_for(500ms);
  c.forget(a, b);
  const auto deleted = std::chrono::steady_clock::now();
  EXPECT_FALSE(all_replied(ping(c, a, b, "-c 1 -W 1")))
      << "node-3 still reachable after its deletion";
  EXPECT_LT(std::chrono::steady_clock::now() - deleted, 1500ms);
  c.learn(a, b);
  EXPECT_TRUE(all_replied(ping(c, a, b, "-c 1 -W 1"))) << "node-3 not back after re-applying it";
  ASSERT_TRUE(steady.wait(30s).has_value());
  EXPECT_NE(steady.output().find(" 0% packet loss"), std::string::npos) << steady.output();
}

}  // namespace
}  // namespace tartan
