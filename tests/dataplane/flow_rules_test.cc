// The rules tartan builds for a real NIC, as testpmd reads them: one test
// per rule kind, for both tunnel backends.
#include <gtest/gtest.h>

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
  EXPECT_EQ(testpmd_flow_create(0, tunnel_steering_rule(p, rss_over_workers(p, 2))),
            "flow create 0 priority 3 ingress pattern eth / ipv4 dst is 192.0.2.19 / udp dst is "
            "8472 / vxlan vni is 1 / end actions rss queues 0 1 end level 2 types ipv4 ipv4-tcp "
            "ipv4-udp end / end");
  EXPECT_EQ(testpmd_flow_create(0, tunnel_steering_rule(p, rss_over_workers(p, 1))),
            "flow create 0 priority 3 ingress pattern eth / ipv4 dst is 192.0.2.19 / udp dst is "
            "8472 / vxlan vni is 1 / end actions rss queues 0 1 end level 1 types ipv4-udp end / "
            "end");
}

TEST(FlowRules, UdpBackendSteeringCanOnlyHashTheOuterHeaders) {
  const FlowPlanParams p = udp_plan();
  EXPECT_EQ(steering_rss_levels(p), (std::vector<uint32_t>{1, 0}));
  EXPECT_EQ(testpmd_flow_create(3, tunnel_steering_rule(p, rss_over_workers(p, 1))),
            "flow create 3 priority 3 ingress pattern eth / ipv4 dst is 192.0.2.19 / udp dst is "
            "8285 / end actions rss queues 0 1 end level 1 types ipv4-udp end / end");
}

TEST(FlowRules, SlowPathSendsArpAndOtherTrafficToUsToWorkerZerosQueue) {
  const std::vector<FlowRule> rules = slow_path_rules(vxlan_plan());
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
  EXPECT_EQ(testpmd_flow_create(0, admit_rule(p, kNode2, rss_over_workers(p, 2))),
            "flow create 0 priority 1 ingress pattern eth / ipv4 src is 192.0.2.20 dst is "
            "192.0.2.19 / udp dst is 8472 / vxlan vni is 1 / end actions rss queues 0 1 end level "
            "2 types ipv4 ipv4-tcp ipv4-udp end / end");
  EXPECT_EQ(testpmd_flow_create(0, spoof_drop_rule(p)),
            "flow create 0 priority 2 ingress pattern eth / ipv4 dst is 192.0.2.19 / udp dst is "
            "8472 / vxlan vni is 1 / end actions count / drop / end");
  EXPECT_EQ(testpmd_flow_create(0, spoof_drop_rule(udp_plan())),
            "flow create 0 priority 2 ingress pattern eth / ipv4 dst is 192.0.2.19 / udp dst is "
            "8285 / end actions count / drop / end");
}

TEST(FlowRules, DecapMarksWithTheNextHopAndStillSpreads) {
  const FlowPlanParams p = vxlan_plan();
  EXPECT_EQ(testpmd_flow_create(0, decap_rule(p, kNode2, 7, rss_over_workers(p, 2))),
            "flow create 0 priority 0 ingress pattern eth / ipv4 src is 192.0.2.20 dst is "
            "192.0.2.19 / udp dst is 8472 / vxlan vni is 1 / end actions mark id 7 / vxlan_decap "
            "/ rss queues 0 1 end level 2 types ipv4 ipv4-tcp ipv4-udp end / end");
}

TEST(FlowRules, ClassesArePrioritisedSoEachFallbackUncoversTheRuleBelow) {
  const FlowPlanParams p = vxlan_plan();
  const FlowActions rss = rss_over_workers(p, 2);
  EXPECT_LT(decap_rule(p, kNode2, 7, rss).priority, admit_rule(p, kNode2, rss).priority);
  EXPECT_LT(admit_rule(p, kNode2, rss).priority, spoof_drop_rule(p).priority);
  EXPECT_LT(spoof_drop_rule(p).priority, tunnel_steering_rule(p, rss).priority);
  EXPECT_LT(tunnel_steering_rule(p, rss).priority, slow_path_rules(p)[1].priority);
}

}  // namespace
}  // namespace tartan
