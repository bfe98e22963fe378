// Dedicated-NIC mode on a NIC that accepts rte_flow rules: the tests' own
// flow test device (tests/support/flow_test_pmd.h) under an engine with two
// workers. Every class in hardware, classes the NIC refuses left to the
// workers beside the others, a rule failing on the live port, and the rules
// following nodes as they come and go.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string_view>

#include "tests/dataplane/flow_frames.h"
#include "tests/support/engine_fixture.h"
#include "tests/support/flow_test_pmd.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::EngineFixture;
using testing::FlowTestCaps;
using testing::FlowTestPort;
using testing::FlowTestRule;

// The flow test device as the underlay of an engine with two workers.
class Nic {
 public:
  explicit Nic(const FlowTestCaps& caps = {}, testing::FixtureOptions o = {})
      : port(caps), fx(with_device(o, port.name())) {}
  ~Nic() {
    // The engine's books count what sits in the device's TX rings as lost.
    testing::free_all(port.drain());
  }

  FlowTestPort port;
  EngineFixture fx;

  // Frames onto the wire, every worker polled, what reached the overlay.
  std::vector<Bytes> receive(const std::vector<Bytes>& frames) {
    std::vector<rte_mbuf*> pkts;
    for (const Bytes& f : frames) pkts.push_back(testing::to_mbuf(fx.pool(), f));
    port.inject(pkts);
    fx.poll();
    return fx.take_overlay();
  }
  // What the engine sent on the underlay.
  std::vector<Bytes> sent() {
    std::vector<Bytes> out;
    for (rte_mbuf* m : port.drain()) {
      out.push_back(testing::from_mbuf(m));
      rte_pktmbuf_free(m);
    }
    return out;
  }
  FlowClassView flow_class(FlowClass c, std::string_view family = "ipv4") {
    for (const PortView& p : fx.engine().port_views()) {
      if (p.role != "underlay") continue;
      for (const FlowClassView& v : p.flow_classes) {
        if (v.cls == c && v.family == family) return v;
      }
    }
    throw std::runtime_error("no such class on the underlay");
  }
  uint64_t worker_rx(size_t w) {
    return fx.engine().workers()[w]->counters().ports[port.port_id()].rx_packets.get();
  }
  uint64_t offloaded(size_t w) {
    return fx.engine().workers()[w]->counters().events.decap_offloaded.get();
  }
  std::vector<FlowTestRule> rules_of(Ipv4Addr sender) {
    std::vector<FlowTestRule> out;
    for (const FlowTestRule& r : port.rules()) {
      if (r.src_ip == sender) out.push_back(r);
    }
    return out;
  }
  std::vector<FlowTestRule> rules_of(const Ipv6Addr& sender) {
    std::vector<FlowTestRule> out;
    for (const FlowTestRule& r : port.rules()) {
      if (r.src_ip6 == sender) out.push_back(r);
    }
    return out;
  }
  // `n` VXLAN flows from node `from` to pods of ours.
  std::vector<Bytes> flows_from(int from, int n) {
    std::vector<Bytes> frames;
    for (int f = 0; f < n; ++f)
      frames.push_back(fx.vxlan_flow_from(from, fx.pod_ip(20), static_cast<uint16_t>(f)));
    return frames;
  }
  // The same over IPv6 (flannel-v6).
  std::vector<Bytes> flows6_from(int from, int n) {
    std::vector<Bytes> frames;
    for (int f = 0; f < n; ++f)
      frames.push_back(fx.vxlan6_from(from, fx.pod_ip6(20), 1, 18, static_cast<uint16_t>(f)));
    return frames;
  }

 private:
  static testing::FixtureOptions with_device(testing::FixtureOptions o, const std::string& name) {
    o.workers = 2;
    o.underlay_device = name;
    return o;
  }
};

TEST(FlowHardware, EveryClassRunsInTheNicWhenItAcceptsTheRules) {
  Nic nic;
  nic.fx.add_node(2);
  nic.fx.add_node(3);
  const FlowClassView steering = nic.flow_class(FlowClass::kTunnelSteering);
  EXPECT_TRUE(steering.hardware);
  EXPECT_EQ(steering.rules, 1u);
  EXPECT_EQ(steering.detail, "RSS over queues 0-1 on the inner headers (RSS level 2)");
  EXPECT_TRUE(nic.flow_class(FlowClass::kSlowPath).hardware);
  EXPECT_EQ(nic.flow_class(FlowClass::kSlowPath).rules, 2u);
  EXPECT_TRUE(nic.flow_class(FlowClass::kSenderFilter).hardware);
  EXPECT_EQ(nic.flow_class(FlowClass::kSenderFilter).rules, 3u) << "two admitted nodes, one drop";
  EXPECT_TRUE(nic.flow_class(FlowClass::kHwDecap).hardware);
  EXPECT_EQ(nic.flow_class(FlowClass::kHwDecap).rules, 2u);
  EXPECT_EQ(nic.port.rules().size(), 8u);
  // Node 2's rules: decapsulated and marked with its next hop above its admission.
  const auto node2 = nic.rules_of(EngineFixture::node(2).public_ip);
  ASSERT_EQ(node2.size(), 2u);
  EXPECT_EQ(node2[0].priority, kPriorityDecap);
  EXPECT_EQ(node2[0].actions.rfind("mark(", 0), 0u) << node2[0].actions;
  EXPECT_NE(node2[0].actions.find("vxlan_decap rss(level 2)"), std::string::npos);
  EXPECT_EQ(node2[1].priority, kPriorityAdmit);
  EXPECT_EQ(node2[1].actions, "rss(level 2)");
}

TEST(FlowHardware, TunnelTrafficIsSpreadOverTheWorkersByInnerFlow) {
  Nic nic;
  nic.fx.add_node(2);
  const auto delivered = nic.receive(nic.flows_from(2, 64));
  EXPECT_EQ(delivered.size(), 64u);
  const std::vector<uint64_t> queues = nic.port.rx_per_queue();
  EXPECT_GT(queues[0], 8u);
  EXPECT_GT(queues[1], 8u);
  EXPECT_EQ(queues[0] + queues[1], 64u);
  EXPECT_EQ(nic.worker_rx(0), queues[0]);
  EXPECT_EQ(nic.worker_rx(1), queues[1]);
}

TEST(FlowHardware, RunningWorkersShareWhatTheNicSpreads) {
  Nic nic(FlowTestCaps{}, {.run_workers = true});
  nic.fx.add_node(2);
  std::vector<rte_mbuf*> pkts;
  for (const Bytes& f : nic.flows_from(2, 256)) pkts.push_back(testing::to_mbuf(nic.fx.pool(), f));
  nic.port.inject(pkts);
  size_t delivered = 0;
  EXPECT_TRUE(testing::eventually(
      [&] {
        delivered += nic.fx.take_overlay().size();
        return delivered == 256;
      },
      std::chrono::seconds(10)));
  EXPECT_GT(nic.worker_rx(0), 32u);
  EXPECT_GT(nic.worker_rx(1), 32u);
  EXPECT_EQ(nic.worker_rx(0) + nic.worker_rx(1), 256u);
}

TEST(FlowHardware, MarkedPacketsSkipSoftwareDecapAndArriveAsSoftwareWouldDeliverThem) {
  Nic hw;
  hw.fx.add_node(2);
  Nic sw(FlowTestCaps{.vxlan_decap = false});
  sw.fx.add_node(2);
  const auto frames = hw.flows_from(2, 16);
  const auto by_nic = hw.receive(frames);
  const auto by_workers = sw.receive(frames);
  ASSERT_EQ(by_nic.size(), 16u);
  EXPECT_EQ(hw.offloaded(0) + hw.offloaded(1), 16u);
  EXPECT_EQ(sw.offloaded(0) + sw.offloaded(1), 0u);
  auto sorted = [](std::vector<Bytes> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sorted(by_nic), sorted(by_workers));
  // Per-node counters still see the traffic (the mark names the node).
  const StatsSnapshot s = hw.fx.engine().stats();
  ASSERT_EQ(s.peers.size(), 1u);
  EXPECT_EQ(s.peers[0].decap_packets, 16u);
}

TEST(FlowHardware, TheSlowPathReachesOnlyWorkerZero) {
  Nic nic(FlowTestCaps{}, {.exception_port = true});
  nic.fx.add_node(2);
  std::vector<Bytes> frames;
  for (int i = 0; i < 8; ++i) {
    frames.push_back(testing::arp_request_from(2, nic.fx));
    frames.push_back(testing::host_udp_from(2, nic.fx, static_cast<uint16_t>(5000 + i), 22));
  }
  nic.receive(frames);
  EXPECT_EQ(nic.port.rx_per_queue()[0], 16u);
  EXPECT_EQ(nic.worker_rx(1), 0u) << "the fast-path worker sees only tunnel traffic";
  EXPECT_EQ(nic.sent().size(), 8u) << "ARP replies";
  EXPECT_EQ(nic.fx.take_exception().size(), 8u);
  EXPECT_EQ(nic.fx.engine().workers()[1]->counters().events.to_slow_path.get(), 0u);
}

TEST(FlowHardware, SpoofedSendersAreDroppedByTheNicAndStillCounted) {
  Nic nic;
  nic.fx.add_node(2);
  // Node 9 is no node of ours: its VXLAN carries our VNI and VTEP MAC.
  EXPECT_TRUE(nic.receive(nic.flows_from(9, 10)).empty());
  EXPECT_EQ(nic.port.dropped_by_rules(), 10u);
  EXPECT_EQ(nic.worker_rx(0) + nic.worker_rx(1), 0u) << "no worker spent a cycle on them";
  EXPECT_EQ(nic.fx.drops(DropReason::kUnknownSender), 10u);
  EXPECT_EQ(nic.receive(nic.flows_from(2, 10)).size(), 10u);
}

TEST(FlowHardware, ARefusedDecapLeavesTheOtherClassesInHardware) {
  Nic nic(FlowTestCaps{.vxlan_decap = false});
  nic.fx.add_node(2);
  const FlowClassView decap = nic.flow_class(FlowClass::kHwDecap);
  EXPECT_FALSE(decap.hardware);
  EXPECT_EQ(decap.detail,
            "rte_flow_validate: Operation not supported: net_flowtest: no vxlan_decap");
  EXPECT_TRUE(nic.flow_class(FlowClass::kTunnelSteering).hardware);
  EXPECT_TRUE(nic.flow_class(FlowClass::kSlowPath).hardware);
  EXPECT_TRUE(nic.flow_class(FlowClass::kSenderFilter).hardware);
  EXPECT_EQ(nic.receive(nic.flows_from(2, 8)).size(), 8u);
  EXPECT_EQ(nic.offloaded(0) + nic.offloaded(1), 0u);
}

TEST(FlowHardware, WithoutInnerRssSteeringHashesTheOuterFiveTuple) {
  Nic nic(FlowTestCaps{.rss_inner = false});
  nic.fx.add_node(2);
  EXPECT_EQ(nic.flow_class(FlowClass::kTunnelSteering).detail,
            "RSS over queues 0-1 on the outer 5-tuple (RSS level 1)");
  // The outer source port follows the inner flow, so flows still spread.
  EXPECT_EQ(nic.receive(nic.flows_from(2, 64)).size(), 64u);
  EXPECT_GT(nic.port.rx_per_queue()[0], 8u);
  EXPECT_GT(nic.port.rx_per_queue()[1], 8u);
}

TEST(FlowHardware, WithoutCountersSpoofedTrafficIsDroppedInTheWorkers) {
  // A drop the NIC does not count would hide spoofing from `tartanctl stats`.
  Nic nic(FlowTestCaps{.count = false});
  nic.fx.add_node(2);
  const FlowClassView filter = nic.flow_class(FlowClass::kSenderFilter);
  EXPECT_FALSE(filter.hardware);
  EXPECT_EQ(filter.detail, "rte_flow_validate: Operation not supported: net_flowtest: no counters");
  EXPECT_TRUE(nic.receive(nic.flows_from(9, 10)).empty());
  EXPECT_EQ(nic.port.dropped_by_rules(), 0u);
  EXPECT_EQ(nic.fx.drops(DropReason::kUnknownSender), 10u);
}

TEST(FlowHardware, WithoutRssActionsEveryClassStaysWithTheWorkers) {
  Nic nic(FlowTestCaps{.rss = false});
  nic.fx.add_node(2);
  EXPECT_EQ(nic.flow_class(FlowClass::kTunnelSteering).detail,
            "rte_flow_validate: Operation not supported: net_flowtest: no rss action");
  for (FlowClass c : {FlowClass::kSlowPath, FlowClass::kSenderFilter, FlowClass::kHwDecap}) {
    EXPECT_FALSE(nic.flow_class(c).hardware) << flow_class_name(c);
    EXPECT_EQ(nic.flow_class(c).detail, "needs tunnel_steering in hardware");
  }
  EXPECT_TRUE(nic.port.rules().empty());
  // The device's own RSS still spreads, and the workers do the rest.
  EXPECT_EQ(nic.receive(nic.flows_from(2, 32)).size(), 32u);
  EXPECT_TRUE(nic.receive(nic.flows_from(9, 4)).empty());
  EXPECT_EQ(nic.fx.drops(DropReason::kUnknownSender), 4u);
}

TEST(FlowHardware, ACreateFailingOnTheLivePortFallsBackForThatClassOnly) {
  Nic nic;
  nic.fx.add_node(2);
  EXPECT_TRUE(nic.receive(nic.flows_from(9, 3)).empty());  // dropped by the NIC
  // The flow table is full: admitting node 3 fails.
  nic.port.set_max_rules(static_cast<uint32_t>(nic.port.rules().size()));
  nic.fx.add_node(3);
  const FlowClassView filter = nic.flow_class(FlowClass::kSenderFilter);
  EXPECT_FALSE(filter.hardware);
  EXPECT_EQ(filter.detail,
            "fell back on the live port: admitting 192.0.2.21: rte_flow_create: No space left on "
            "device: net_flowtest: flow table full");
  EXPECT_EQ(filter.rules, 0u);
  // The space the filter's rules left let node 3's decap rule in.
  EXPECT_TRUE(nic.flow_class(FlowClass::kHwDecap).hardware);
  EXPECT_EQ(nic.flow_class(FlowClass::kHwDecap).rules, 2u);
  EXPECT_TRUE(nic.flow_class(FlowClass::kTunnelSteering).hardware);
  // Node 3 is reached; spoofing is now stopped by the workers, and the
  // count carries on from what the NIC dropped.
  EXPECT_EQ(nic.receive(nic.flows_from(3, 5)).size(), 5u);
  EXPECT_TRUE(nic.receive(nic.flows_from(9, 4)).empty());
  EXPECT_EQ(nic.port.dropped_by_rules(), 3u);
  EXPECT_EQ(nic.fx.drops(DropReason::kUnknownSender), 7u);
  // The ports API says so too (Engine::port_views is what it serves).
  bool found = false;
  for (const PortView& p : nic.fx.engine().port_views()) {
    for (const FlowClassView& c : p.flow_classes)
      found |= c.cls == FlowClass::kSenderFilter && !c.hardware;
  }
  EXPECT_TRUE(found);
}

TEST(FlowHardware, RulesFollowNodesAsTheyComeChangeAndGo) {
  Nic nic;
  const Ipv4Addr node2 = EngineFixture::node(2).public_ip;
  nic.fx.add_node(2);
  auto rules = nic.rules_of(node2);
  ASSERT_EQ(rules.size(), 2u);
  const std::string first_mark = rules[0].actions;
  // Node 2 comes back with another VtepMAC: a new next hop, a new mark.
  RouteSpec changed = nic.fx.route_to(2);
  changed.vtep_mac = *MacAddr::parse("0e:00:00:00:00:99");
  TableDelta d;
  d.upsert_routes.push_back(changed);
  ASSERT_TRUE(nic.fx.engine().apply(d).ok());
  rules = nic.rules_of(node2);
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_NE(rules[0].actions, first_mark);
  EXPECT_EQ(nic.receive(nic.flows_from(2, 4)).size(), 4u);
  EXPECT_EQ(nic.offloaded(0) + nic.offloaded(1), 4u);
  // Gone: no rule of node 2 is left, and its traffic is dropped by the NIC.
  TableDelta gone;
  gone.remove_routes.push_back(EngineFixture::node(2).subnet);
  ASSERT_TRUE(nic.fx.engine().apply(gone).ok());
  EXPECT_TRUE(nic.rules_of(node2).empty());
  EXPECT_TRUE(nic.receive(nic.flows_from(2, 4)).empty());
  EXPECT_EQ(nic.port.dropped_by_rules(), 4u);
  // A refused change leaves no rule behind for the node it would have added.
  TableDelta refused;
  refused.upsert_routes.push_back(nic.fx.route_to(4));
  refused.remove_routes.push_back(EngineFixture::node(5).subnet);  // no such route
  EXPECT_FALSE(nic.fx.engine().apply(refused).ok());
  EXPECT_TRUE(nic.rules_of(EngineFixture::node(4).public_ip).empty());
}

TEST(FlowHardware, ANodeIsAdmittedBeforeItsRouteGoesLiveAndLosesItsRuleAfter) {
  Nic nic;
  const Ipv4Addr node2 = EngineFixture::node(2).public_ip;
  // Whether a pod's packet to node 2 leaves the underlay right now.
  auto route_is_live = [&] {
    EXPECT_EQ(nic.fx.overlay_port().inject({testing::to_mbuf(
                  nic.fx.pool(), nic.fx.pod_frame(EngineFixture::node(2).subnet.addr))}),
              1u);
    for (auto& w : nic.fx.engine().workers()) w->poll_once();
    const bool live = !nic.sent().empty();
    return live;
  };
  std::vector<std::string> events;
  nic.port.set_rule_hook([&](bool created, const FlowTestRule& r) {
    if (r.src_ip != node2) return;
    const std::string kind = r.priority == kPriorityAdmit ? "admit" : "decap";
    events.push_back(std::string(created ? "+" : "-") + kind +
                     (route_is_live() ? " (route live)" : " (no route)"));
  });
  nic.fx.add_node(2);
  TableDelta gone;
  gone.remove_routes.push_back(EngineFixture::node(2).subnet);
  ASSERT_TRUE(nic.fx.engine().apply(gone).ok());
  nic.port.set_rule_hook(nullptr);
  // The decap rule needs the route's next hop, so it comes after; the
  // admission, which the drop rule makes necessary, before.
  EXPECT_EQ(events, (std::vector<std::string>{"+admit (no route)", "+decap (route live)",
                                              "-decap (no route)", "-admit (no route)"}));
}

TEST(FlowHardware, StoppingTheEngineRemovesEveryRule) {
  Nic nic;
  nic.fx.add_node(2);
  EXPECT_FALSE(nic.port.rules().empty());
  nic.fx.engine().stop();
  EXPECT_TRUE(nic.port.rules().empty());
}

// Dual stack: flannel-v6's tunnels to our IPv6 address get rules of their
// own, of the same shapes (flow_rule.h), beside IPv4's.
testing::FixtureOptions dual_stack() {
  return {.ipv6 = true};
}

TEST(FlowHardwareIpv6, Ipv6TunnelsGetTheirOwnClassesBesideIpv4s) {
  Nic nic(FlowTestCaps{}, dual_stack());
  nic.fx.add_node(2);
  nic.fx.add_node6(2);
  nic.fx.add_node6(3);
  const FlowClassView steering = nic.flow_class(FlowClass::kTunnelSteering, "ipv6");
  EXPECT_TRUE(steering.hardware);
  EXPECT_EQ(steering.detail, "RSS over queues 0-1 on the inner headers (RSS level 2)");
  const FlowClassView slow = nic.flow_class(FlowClass::kSlowPath, "ipv6");
  EXPECT_TRUE(slow.hardware);
  EXPECT_EQ(slow.rules, 2u);
  EXPECT_EQ(slow.detail, "neighbour solicitations and other IPv6 to " +
                             EngineFixture::node6(1).public_ip.str() +
                             " -> queue 0 (the slow-path worker)");
  const FlowClassView filter = nic.flow_class(FlowClass::kSenderFilter, "ipv6");
  EXPECT_TRUE(filter.hardware);
  EXPECT_EQ(filter.rules, 3u) << "two admitted IPv6 nodes, one drop";
  // The workers' offloaded path reads IPv4 inner frames only: IPv6 decap
  // stays with them, and the port says so.
  const FlowClassView decap = nic.flow_class(FlowClass::kHwDecap, "ipv6");
  EXPECT_FALSE(decap.hardware);
  EXPECT_EQ(decap.detail,
            "the workers take a hardware-decapsulated frame as IPv4 (flannel.<VNI>'s), so "
            "flannel-v6's VXLAN is decapsulated by them");
  EXPECT_TRUE(nic.flow_class(FlowClass::kHwDecap, "ipv4").hardware);
  // IPv4: steering, 2 slow path, admit + drop, decap; IPv6: steering, 2
  // slow path, 2 admits + drop.
  EXPECT_EQ(nic.port.rules().size(), 6u + 6u);
  const auto node2 = nic.rules_of(EngineFixture::node6(2).public_ip);
  ASSERT_EQ(node2.size(), 1u);
  EXPECT_EQ(node2[0].priority, kPriorityAdmit);
  EXPECT_EQ(node2[0].actions, "rss(level 2)");
  // Every rule is printed for testpmd, each family's with its own item.
  int ipv6_rules = 0;
  for (const FlowRuleView& r : nic.fx.engine().flow_rules()) {
    if (std::string_view(r.family) != "ipv6") continue;
    ++ipv6_rules;
    EXPECT_NE(r.testpmd.find(" / ipv6 "), std::string::npos) << r.testpmd;
    EXPECT_TRUE(r.installed) << r.testpmd;
  }
  EXPECT_EQ(ipv6_rules, 6);
}

TEST(FlowHardwareIpv6, Ipv6TunnelTrafficIsSpreadAndUnknownIpv6SendersAreDroppedAndCounted) {
  Nic nic(FlowTestCaps{}, dual_stack());
  nic.fx.add_node6(2);
  EXPECT_EQ(nic.receive(nic.flows6_from(2, 64)).size(), 64u);
  const std::vector<uint64_t> queues = nic.port.rx_per_queue();
  EXPECT_GT(queues[0], 8u);
  EXPECT_GT(queues[1], 8u);
  EXPECT_EQ(queues[0] + queues[1], 64u);
  // Node 9 is no node of ours over IPv6.
  EXPECT_TRUE(nic.receive(nic.flows6_from(9, 10)).empty());
  EXPECT_EQ(nic.port.dropped_by_rules(), 10u);
  EXPECT_EQ(nic.worker_rx(0) + nic.worker_rx(1), 64u) << "no worker spent a cycle on them";
  EXPECT_EQ(nic.fx.drops(DropReason::kUnknownSender), 10u);
}

TEST(FlowHardwareIpv6, ANicRefusingIpv6RulesLeavesIpv6TunnelsToTheWorkersAndNothingIsLost) {
  Nic nic(FlowTestCaps{.ipv6_item = false}, dual_stack());
  nic.fx.add_node(2);
  nic.fx.add_node6(2);
  for (FlowClass c : {FlowClass::kTunnelSteering, FlowClass::kSlowPath, FlowClass::kSenderFilter}) {
    EXPECT_TRUE(nic.flow_class(c, "ipv4").hardware) << flow_class_name(c);
    EXPECT_FALSE(nic.flow_class(c, "ipv6").hardware) << flow_class_name(c);
  }
  EXPECT_EQ(nic.flow_class(FlowClass::kTunnelSteering, "ipv6").detail,
            "rte_flow_validate: Operation not supported: net_flowtest: no ipv6 item");
  EXPECT_EQ(nic.flow_class(FlowClass::kSenderFilter, "ipv6").detail,
            "needs tunnel_steering in hardware");
  // IPv4's drop rule does not take IPv6 tunnels: known ones arrive, unknown
  // ones are dropped by the workers, and counted.
  EXPECT_EQ(nic.receive(nic.flows6_from(2, 16)).size(), 16u);
  EXPECT_TRUE(nic.receive(nic.flows6_from(9, 4)).empty());
  EXPECT_EQ(nic.port.dropped_by_rules(), 0u);
  EXPECT_EQ(nic.fx.drops(DropReason::kUnknownSender), 4u);
  EXPECT_EQ(nic.receive(nic.flows_from(2, 8)).size(), 8u);
}

TEST(FlowHardwareIpv6, TheIpv6SlowPathReachesOnlyWorkerZero) {
  Nic nic(FlowTestCaps{}, dual_stack());
  nic.fx.add_node6(2);
  std::vector<Bytes> frames;
  for (int i = 0; i < 4; ++i) frames.push_back(testing::solicitation_from(2, nic.fx));
  nic.receive(frames);
  EXPECT_EQ(nic.port.rx_per_queue()[0], 4u);
  EXPECT_EQ(nic.worker_rx(1), 0u) << "the fast-path worker sees only tunnel traffic";
  EXPECT_EQ(nic.sent().size(), 4u) << "neighbour advertisements";
}

// One table change may carry both families: each family's rules follow
// its own routes, and a change refused for one half leaves nothing of the
// other behind.
TEST(FlowHardwareIpv6, ADeltaOfBothFamiliesMovesEachFamilysRules) {
  Nic nic(FlowTestCaps{}, dual_stack());
  const Ipv4Addr v4 = EngineFixture::node(2).public_ip;
  const Ipv6Addr v6 = EngineFixture::node6(2).public_ip;
  TableDelta both;
  both.upsert_routes.push_back(nic.fx.route_to(2));
  both.upsert_routes6.push_back(nic.fx.route6_to(2));
  ASSERT_TRUE(nic.fx.engine().apply(both).ok());
  EXPECT_EQ(nic.rules_of(v4).size(), 2u) << "admitted and decapsulated";
  EXPECT_EQ(nic.rules_of(v6).size(), 1u) << "admitted";
  TableDelta gone;
  gone.remove_routes.push_back(EngineFixture::node(2).subnet);
  gone.remove_routes6.push_back(EngineFixture::node6(2).subnet);
  ASSERT_TRUE(nic.fx.engine().apply(gone).ok());
  EXPECT_TRUE(nic.rules_of(v4).empty());
  EXPECT_TRUE(nic.rules_of(v6).empty());
  EXPECT_TRUE(nic.receive(nic.flows6_from(2, 4)).empty());
  EXPECT_EQ(nic.port.dropped_by_rules(), 4u) << "node 2 is no sender of ours any more";
  TableDelta refused;
  refused.upsert_routes6.push_back(nic.fx.route6_to(4));
  refused.remove_routes.push_back(EngineFixture::node(5).subnet);  // no such route
  EXPECT_FALSE(nic.fx.engine().apply(refused).ok());
  EXPECT_TRUE(nic.rules_of(EngineFixture::node6(4).public_ip).empty());
  nic.fx.engine().stop();
  EXPECT_TRUE(nic.port.rules().empty());
}

}  // namespace
}  // namespace tartan
