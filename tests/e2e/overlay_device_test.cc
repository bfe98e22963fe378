// What the kernel's flannel.<VNI> does without being asked, shown on a
// tartan node beside a kernel-flannel node with every interface's offloads
// as they come: its host interface carries the VtepMAC and keeps the
// overlay MTU, the host accepts the ICMP errors tartan sends its pods, and
// VXLAN with a wrong outer UDP checksum is dropped while a zero one is
// accepted (RFC 7348).
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "tests/e2e/cluster.h"
#include "tests/support/capture.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::Cluster;
using testing::ClusterNode;

using testing::kPython;

class OverlayDevice : public ::testing::Test {
 protected:
  OverlayDevice() : c("hp"), kernel(c.add_kernel_node(1)), tartan(c.add_tartan_node(2)) {
    c.connect(kernel, tartan);
  }
  // One line of `cat` in the tartan node.
  std::string overlay(const std::string& attribute) {
    std::string v = c.sh(*tartan.ns, "cat /sys/class/net/flannel.1/" + attribute).output;
    return v.substr(0, v.find('\n'));
  }

  Cluster c;
  ClusterNode& kernel;
  ClusterNode& tartan;
};

TEST_F(OverlayDevice, TheHostInterfaceCarriesTheVtepMacAndGetsItBack) {
  EXPECT_EQ(overlay("address"), tartan.vtep_mac)
      << "tools read flannel.<VNI>'s address for the VtepMAC";
  ASSERT_EQ(c.sh(*tartan.ns, "ip link set flannel.1 address 02:11:22:33:44:55").exit_code, 0);
  EXPECT_TRUE(testing::eventually([&] { return overlay("address") == tartan.vtep_mac; }, 5s))
      << overlay("address") << tartan.tartand->output();
  EXPECT_TRUE(testing::all_replied(testing::ping(c, tartan, kernel))) << tartan.tartand->output();
}

TEST_F(OverlayDevice, AnMtuSetFromOutsideIsPutBackAndLogged) {
  ASSERT_EQ(overlay("mtu"), "1450");
  // The kernel's vxlan device refuses this; a tap takes it.
  ASSERT_EQ(c.sh(*tartan.ns, "ip link set flannel.1 mtu 1500").exit_code, 0);
  EXPECT_TRUE(testing::eventually([&] { return overlay("mtu") == "1450"; }, 5s))
      << overlay("mtu") << tartan.tartand->output();
  EXPECT_NE(tartan.tartand->output().find("flannel.1: MTU 1500 set from outside, put back to 1450"),
            std::string::npos)
      << tartan.tartand->output();
}

// Only a host that forwards more than the overlay MTU into the tap makes
// tartan, not the host, answer with fragmentation-needed: an MTU raised
// from outside, in the half second before the watchdog puts it back. The
// host must accept that ICMP (strict reverse-path filtering, no martian
// source) and hand it to the pod, whose path MTU then drops.
TEST_F(OverlayDevice, APodGetsTartansFragmentationNeededThroughAStrictHost) {
  c.sh(*tartan.ns,
       "sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.flannel.1.rp_filter=1 "
       "net.ipv4.conf.cni0.rp_filter=1 net.ipv4.conf.all.log_martians=1");
  testing::Capture capture(*tartan.pod, "eth0", "icmp[icmptype] == 3 and icmp[icmpcode] == 4", 12,
                           tartan.dir + "/frag-needed.pcap");
  const std::string pmtu_probe = "ip netns exec " + tartan.pod->name() +
                                 " ping -c 1 -W 1 -M do -s 1472 " + kernel.pod_ip.str();
  // The watchdog may put the MTU back before the ping passes the host,
  // which then answers itself (from its cni0 address): try again, with the
  // pod's learnt path MTU forgotten, until tartan is the one that answers.
  const std::string from_tartan = "From " + kernel.pod_ip.str() + " icmp_seq=1 Frag needed";
  std::string answer;
  for (int attempt = 0; attempt < 10; ++attempt) {
    c.sh(*tartan.pod, "ip route flush cache");
    answer = c.sh(*tartan.ns, "ip link set flannel.1 mtu 1500 && " + pmtu_probe).output;
    if (answer.find(from_tartan) != std::string::npos) break;
  }
  EXPECT_NE(answer.find(from_tartan), std::string::npos)
      << "no fragmentation-needed from tartan reached the pod: " << answer
      << tartan.tartand->output();
  const std::string route = c.sh(*tartan.pod, "ip route get " + kernel.pod_ip.str()).output;
  EXPECT_NE(route.find("mtu 1450"), std::string::npos)
      << "the pod's path MTU did not drop: " << route;
  // From the packet's destination: an address the host routes into the
  // tap, so reverse-path filtering passes where tartan's own overlay
  // address (the host's, on the tap) would be a martian source.
  const std::string seen =
      capture.read("-T fields -E occurrence=f -e ip.src -e icmp.mtu", "sort -u");
  EXPECT_NE(seen.find(kernel.pod_ip.str() + "\t1450\n"), std::string::npos) << seen;
}

TEST_F(OverlayDevice, VxlanWithAWrongOuterUdpChecksumIsDroppedAndCountedAndAZeroOneAccepted) {
  // From the kernel node's public IP, so the sender check passes: only the
  // checksum differs. ICMP ids tell the three kinds apart at the pod.
  testing::Capture capture(*tartan.pod, "eth0", "icmp and src host 10.244.1.9", 10,
                           tartan.dir + "/checksums.pcap");
  const uint64_t before = testing::drop_count(c, tartan, "bad_udp_checksum");
  const std::map<std::string, int> ids{{"good", 1}, {"zero", 2}, {"bad", 3}};
  for (const auto& [kind, id] : ids) {
    c.sh(*kernel.ns, std::string(kPython) + " " + testing::e2e_tool("spoof_vxlan.py") + " eth0 " +
                         kernel.public_ip.str() + " " + tartan.public_ip.str() + " " +
                         tartan.vtep_mac + " " + tartan.pod_ip.str() +
                         " 3 --inner-src 10.244.1.9 --udp-checksum " + kind + " --icmp-id " +
                         std::to_string(id));
  }
  const std::string arrived =
      capture.read("-T fields -E occurrence=f -e icmp.ident", "sort | uniq -c");
  std::map<int, int> per_id;
  std::istringstream lines(arrived);
  for (int n = 0, id = 0; lines >> n >> id;) per_id[id] = n;
  EXPECT_EQ(per_id[ids.at("good")], 3) << arrived;
  EXPECT_EQ(per_id[ids.at("zero")], 3) << "RFC 7348: a zero UDP checksum must be accepted\n"
                                       << arrived;
  EXPECT_EQ(per_id[ids.at("bad")], 0) << "delivered despite a wrong outer UDP checksum\n"
                                      << arrived;
  EXPECT_EQ(testing::drop_count(c, tartan, "bad_udp_checksum") - before, 3u);
}

}  // namespace
}  // namespace tartan
