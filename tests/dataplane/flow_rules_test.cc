// The rules tartan builds for a real NIC, as testpmd reads them: one test
// per rule kind, for both tunnel backends and both address families.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "engine/flow_rule.h"
#include "engine/flow_testpmd.h"

namespace tartan {
namespace {

FlowPlanParams vxlan_plan() {
  FlowPlanParams p;
  p.backend = BackendType::kVxlan;
  p.our_ip = *Ipv4Addr::parse("192.0.2.19");
  p.udp_port = 8472;
  p.vni = 1;
  p.rx_queues = 2;
  return p;
}

FlowPlanParams udp_plan() {
  FlowPlanParams p = vxlan_plan();
  p.backend = BackendType::kUdp;
  p.udp_port = 8285;
  return p;
}

const Ipv4Addr kNode2 = *Ipv4Addr::parse("192.0.2.20");

TEST(FlowRules, VxlanSteeringHashesInsideTheTunnelFirstThenOutside) {
  const FlowPlanParams p = vxlan_plan();
  EXPECT_EQ(steering_rss_levels(p), (std::vector<uint32_t>{2, 1, 0}));
  EXPECT_EQ(
      testpmd_flow_create(0, tunnel_steering_rule<Ipv4Addr>(p, rss_over_workers<Ipv4Addr>(p, 2))),
      "flow create 0 priority 3 ingress pattern eth / ipv4 dst is 192.0.2.19 / udp dst is "
      "8472 / vxlan vni is 1 / end actions rss queues 0 1 end level 2 types ipv4 ipv4-tcp "
      "ipv4-udp end / end");
  EXPECT_EQ(
      testpmd_flow_create(0, tunnel_steering_rule<Ipv4Addr>(p, rss_over_workers<Ipv4Addr>(p, 1))),
      "flow create 0 priority 3 ingress pattern eth / ipv4 dst is 192.0.2.19 / udp dst is "
      "8472 / vxlan vni is 1 / end actions rss queues 0 1 end level 1 types ipv4-udp end / "
      "end");
}

TEST(FlowRules, UdpBackendSteeringCanOnlyHashTheOuterHeaders) {
  const FlowPlanParams p = udp_plan();
  EXPECT_EQ(steering_rss_levels(p), (std::vector<uint32_t>{1, 0}));
  EXPECT_EQ(
      testpmd_flow_create(3, tunnel_steering_rule<Ipv4Addr>(p, rss_over_workers<Ipv4Addr>(p, 1))),
      "flow create 3 priority 3 ingress pattern eth / ipv4 dst is 192.0.2.19 / udp dst is "
      "8285 / end actions rss queues 0 1 end level 1 types ipv4-udp end / end");
}

TEST(FlowRules, SlowPathSendsArpAndOtherTrafficToUsToWorkerZerosQueue) {
  const std::vector<FlowRule> rules = slow_path_rules<Ipv4Addr>(vxlan_plan());
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(testpmd_flow_create(0, rules[0]),
            "flow create 0 priority 4 ingress pattern eth type is 0x0806 / end actions queue "
            "index 0 / end");
  EXPECT_EQ(testpmd_flow_create(0, rules[1]),
            "flow create 0 priority 4 ingress pattern eth / ipv4 dst is 192.0.2.19 / end actions "
            "queue index 0 / end");
}

TEST(FlowRules, SenderFilterAdmitsEachNodeAboveACountedDrop) {
  const FlowPlanParams p = vxlan_plan();
  EXPECT_EQ(testpmd_flow_create(0, admit_rule(p, kNode2, rss_over_workers<Ipv4Addr>(p, 2))),
            "flow create 0 priority 1 ingress pattern eth / ipv4 src is 192.0.2.20 dst is "
            "192.0.2.19 / udp dst is 8472 / vxlan vni is 1 / end actions rss queues 0 1 end level "
            "2 types ipv4 ipv4-tcp ipv4-udp end / end");
  EXPECT_EQ(testpmd_flow_create(0, spoof_drop_rule<Ipv4Addr>(p)),
            "flow create 0 priority 2 ingress pattern eth / ipv4 dst is 192.0.2.19 / udp dst is "
            "8472 / vxlan vni is 1 / end actions count / drop / end");
  EXPECT_EQ(testpmd_flow_create(0, spoof_drop_rule<Ipv4Addr>(udp_plan())),
            "flow create 0 priority 2 ingress pattern eth / ipv4 dst is 192.0.2.19 / udp dst is "
            "8285 / end actions count / drop / end");
}

TEST(FlowRules, DecapMarksWithTheNextHopAndStillSpreads) {
  const FlowPlanParams p = vxlan_plan();
  EXPECT_EQ(testpmd_flow_create(0, decap_rule(p, kNode2, 7, rss_over_workers<Ipv4Addr>(p, 2))),
            "flow create 0 priority 0 ingress pattern eth / ipv4 src is 192.0.2.20 dst is "
            "192.0.2.19 / udp dst is 8472 / vxlan vni is 1 / end actions mark id 7 / vxlan_decap "
            "/ rss queues 0 1 end level 2 types ipv4 ipv4-tcp ipv4-udp end / end");
}

TEST(FlowRules, ClassesArePrioritisedSoEachFallbackUncoversTheRuleBelow) {
  const FlowPlanParams p = vxlan_plan();
  const FlowActions rss = rss_over_workers<Ipv4Addr>(p, 2);
  EXPECT_LT(decap_rule(p, kNode2, 7, rss).priority, admit_rule(p, kNode2, rss).priority);
  EXPECT_LT(admit_rule(p, kNode2, rss).priority, spoof_drop_rule<Ipv4Addr>(p).priority);
  EXPECT_LT(spoof_drop_rule<Ipv4Addr>(p).priority, tunnel_steering_rule<Ipv4Addr>(p, rss).priority);
  EXPECT_LT(tunnel_steering_rule<Ipv4Addr>(p, rss).priority,
            slow_path_rules<Ipv4Addr>(p)[1].priority);
}

// flannel-v6's tunnels: the same shapes with an IPv6 item matching our
// IPv6 address, and IPv6's RSS types.
FlowPlanParams dual_stack_plan() {
  FlowPlanParams p = vxlan_plan();
  p.our_ip6 = *Ipv6Addr::parse("2001:db8::13");
  return p;
}

const Ipv6Addr kNode2v6 = *Ipv6Addr::parse("2001:db8::14");

// An IPv4 rule of the plans above as its IPv6 counterpart should read.
std::string in_ipv6(std::string rule) {
  const std::pair<std::string, std::string> swaps[] = {
      {"ipv4", "ipv6"}, {"192.0.2.19", "2001:db8::13"}, {"192.0.2.20", "2001:db8::14"}};
  for (const auto& [from, to] : swaps) {
    for (size_t at = rule.find(from); at != std::string::npos; at = rule.find(from, at + 1))
      rule.replace(at, from.size(), to);
  }
  return rule;
}

TEST(FlowRules, Ipv6TunnelRulesAreIpv4sWithAnIpv6ItemAndIpv6RssTypes) {
  const FlowPlanParams p = dual_stack_plan();
  const auto testpmd = [](const FlowRule& r) { return testpmd_flow_create(0, r); };
  for (uint32_t level : {2u, 1u}) {
    EXPECT_EQ(
        testpmd(tunnel_steering_rule<Ipv6Addr>(p, rss_over_workers<Ipv6Addr>(p, level))),
        in_ipv6(testpmd(tunnel_steering_rule<Ipv4Addr>(p, rss_over_workers<Ipv4Addr>(p, level)))));
  }
  const FlowActions rss4 = rss_over_workers<Ipv4Addr>(p, 2);
  const FlowActions rss6 = rss_over_workers<Ipv6Addr>(p, 2);
  EXPECT_EQ(testpmd(admit_rule(p, kNode2v6, rss6)), in_ipv6(testpmd(admit_rule(p, kNode2, rss4))));
  EXPECT_EQ(testpmd(spoof_drop_rule<Ipv6Addr>(p)), in_ipv6(testpmd(spoof_drop_rule<Ipv4Addr>(p))));
  EXPECT_EQ(testpmd(decap_rule(p, kNode2v6, 7, rss6)),
            in_ipv6(testpmd(decap_rule(p, kNode2, 7, rss4))));
  // One in full, so the comparison itself is checked.
  EXPECT_EQ(
      testpmd(admit_rule(p, kNode2v6, rss6)),
      "flow create 0 priority 1 ingress pattern eth / ipv6 src is 2001:db8::14 dst is "
      "2001:db8::13 / udp dst is 8472 / vxlan vni is 1 / end actions rss queues 0 1 end level "
      "2 types ipv6 ipv6-tcp ipv6-udp end / end");
  // Our IPv6 address changes only the IPv6 rules.
  EXPECT_EQ(testpmd(spoof_drop_rule<Ipv4Addr>(p)),
            testpmd(spoof_drop_rule<Ipv4Addr>(vxlan_plan())));
}

TEST(FlowRules, Ipv6SlowPathTakesSolicitationsToOurSolicitedNodeAddressInsteadOfArp) {
  const FlowPlanParams p = dual_stack_plan();
  const std::vector<FlowRule> ipv4 = slow_path_rules<Ipv4Addr>(p);
  const std::vector<FlowRule> ipv6 = slow_path_rules<Ipv6Addr>(p);
  ASSERT_EQ(ipv6.size(), ipv4.size());
  // ARP's place: what is sent to our solicited-node address.
  EXPECT_EQ(testpmd_flow_create(0, ipv6[0]),
            "flow create 0 priority 4 ingress pattern eth / ipv6 dst is ff02::1:ff00:13 / end "
            "actions queue index 0 / end");
  // Other traffic to us: IPv4's rule with an IPv6 item.
  EXPECT_EQ(testpmd_flow_create(0, ipv6[1]), in_ipv6(testpmd_flow_create(0, ipv4[1])));
}

}  // namespace
}  // namespace tartan
