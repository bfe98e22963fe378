// HostNetwork against the real kernel: a veth in a network namespace the
// test creates stands in for the overlay tap; the routes, neighbours and
// addresses it programs are read back with iproute2.
#include "control/host/host_network.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "tests/support/netns.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using testing::Netns;
using testing::run_command;

const MacAddr kTapMac = *MacAddr::parse("0e:00:00:00:00:01");
const MacAddr kPeerMac = *MacAddr::parse("0e:00:00:00:00:02");
const MacAddr kPeerMacV6 = *MacAddr::parse("0e:00:00:00:00:06");

class HostNetworkInNamespace : public ::testing::Test {
 protected:
  HostNetworkInNamespace() : ns("hostnet") {
    sh("sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 && "
       "ip link add flannel.1 type veth peer name other && ip link set other up && "
       "ip link set flannel.1 up");
  }
  // Opens HostNetwork with its netlink socket in the namespace: the
  // socket stays there when this thread goes back to its own.
  std::unique_ptr<HostNetwork> open() {
    const int here = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    const int there = ::open(("/run/netns/" + ns.name()).c_str(), O_RDONLY | O_CLOEXEC);
    if (here < 0 || there < 0 || setns(there, CLONE_NEWNET) != 0)
      throw std::runtime_error("cannot enter " + ns.name());
    auto h = HostNetwork::open("flannel.1", kTapMac);
    setns(here, CLONE_NEWNET);
    close(here);
    close(there);
    if (!h) throw std::runtime_error(h.status().message());
    return std::move(h).value();
  }
  std::string sh(const std::string& script) {
    return run_command(ns.exec({"sh", "-c", script})).output;
  }
  Netns ns;
};

TEST_F(HostNetworkInNamespace, ProgramsBothFamiliesAsFlanneldProgramsItsTwoDevices) {
  auto h = open();
  ASSERT_TRUE(h->set_local(*Ipv4Prefix::parse("10.244.1.0/24"), 1430).ok());
  ASSERT_TRUE(h->set_local(*Ipv6Prefix::parse("fd00:10:244:1::/64"), 1430).ok());
  ASSERT_TRUE(h->add_route(*Ipv4Prefix::parse("10.244.2.0/24"), kPeerMac).ok());
  ASSERT_TRUE(h->add_route(*Ipv6Prefix::parse("fd00:10:244:2::/64"), kPeerMacV6).ok());

  const std::string addrs = sh("ip -br addr show flannel.1");
  EXPECT_NE(addrs.find("10.244.1.0/32"), std::string::npos) << addrs;
  EXPECT_NE(addrs.find("fd00:10:244:1::/128"), std::string::npos) << addrs;
  EXPECT_NE(sh("ip link show flannel.1").find("mtu 1430"), std::string::npos);
  EXPECT_EQ(
      sh("ip -6 route show proto 116"),
      "fd00:10:244:2::/64 via fd00:10:244:2:: dev flannel.1 metric 1024 onlink pref medium\n");
  EXPECT_EQ(sh("ip -4 route show proto 116"),
            "10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink \n");
  const std::string neigh6 = sh("ip -6 neigh show dev flannel.1 fd00:10:244:2::");
  EXPECT_NE(neigh6.find("lladdr 0e:00:00:00:00:06 PERMANENT"), std::string::npos) << neigh6;

  // A new lease moves the address; removing a route takes its neighbour.
  ASSERT_TRUE(h->set_local(*Ipv6Prefix::parse("fd00:10:244:7::/64"), 1430).ok());
  const std::string moved = sh("ip -6 -br addr show flannel.1");
  EXPECT_NE(moved.find("fd00:10:244:7::/128"), std::string::npos) << moved;
  EXPECT_EQ(moved.find("fd00:10:244:1::/128"), std::string::npos) << moved;
  ASSERT_TRUE(h->remove_route(*Ipv6Prefix::parse("fd00:10:244:2::/64")).ok());
  EXPECT_EQ(sh("ip -6 route show proto 116"), "");
  EXPECT_EQ(sh("ip -6 neigh show dev flannel.1 fd00:10:244:2::"), "");
  EXPECT_NE(sh("ip -4 route show proto 116"), "") << "the IPv4 route stays";
}

TEST_F(HostNetworkInNamespace, ReconcileRemovesEachFamilysStaleRoutesAndTheRestGoWithIt) {
  // What a tartand that was killed leaves behind: its routes, with its
  // protocol number.
  sh("ip -6 route add fd00:10:244:3::/64 via fd00:10:244:3:: dev flannel.1 onlink proto 116 && "
     "ip route add 10.244.3.0/24 via 10.244.3.0 dev flannel.1 onlink proto 116");
  auto h = open();
  const Status reconciled = h->reconcile({{*Ipv4Prefix::parse("10.244.4.0/24"), kPeerMac}},
                                         {{*Ipv6Prefix::parse("fd00:10:244:4::/64"), kPeerMacV6}});
  ASSERT_TRUE(reconciled.ok()) << reconciled.message();
  EXPECT_EQ(
      sh("ip -6 route show proto 116"),
      "fd00:10:244:4::/64 via fd00:10:244:4:: dev flannel.1 metric 1024 onlink pref medium\n");
  EXPECT_EQ(sh("ip -4 route show proto 116"),
            "10.244.4.0/24 via 10.244.4.0 dev flannel.1 onlink \n");
  h.reset();  // a clean exit removes what it programmed
  EXPECT_EQ(sh("ip route show proto 116; ip -6 route show proto 116"), "");
}

}  // namespace
}  // namespace tartan
