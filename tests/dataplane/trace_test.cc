// The workers' side of trace (engine/observe/trace.h) on ring ports: for
// each forwarding path and each drop reason, the decisions a traced packet
// collects, in order, and where it went; the filter and the count decide
// which packets are traced. Nothing is held by a trace: the fixture's books
// balance at teardown.
#include <gtest/gtest.h>

#include <algorithm>

#include "engine/observe/trace.h"
#include "tests/dataplane/drop_cases.h"
#include "tests/support/engine_fixture.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::EngineFixture;
using testing::FixtureOptions;

struct Traced {
  TraceRecord record;
  std::vector<TraceStep> steps() const {
    std::vector<TraceStep> out;
    for (uint8_t i = 0; i < record.num_events; ++i) out.push_back(record.events[i].step);
    return out;
  }
  // The first decision of `step` (it must be there).
  const TraceEvent& at(TraceStep step) const {
    const TraceEvent* e = std::find_if(record.events, record.events + record.num_events,
                                       [&](const TraceEvent& x) { return x.step == step; });
    EXPECT_NE(e, record.events + record.num_events) << "no step " << int(step);
    static const TraceEvent kNone{TraceStep::kDrop, 0xff};
    return e == record.events + record.num_events ? kNone : *e;
  }
  const TraceEvent& last() const { return record.events[record.num_events - 1]; }
};

// Attaches a trace of every port to the fixture's engine.
std::unique_ptr<TraceSession> attach(EngineFixture& fx, uint32_t count = 10,
                                     const std::string& filter = "") {
  TraceSettings s;
  for (const Port& p : fx.engine().ports()) s.ports.set(p.id());
  s.filter = filter;
  s.count = count;
  s.workers = static_cast<unsigned>(fx.engine().workers().size());
  auto session = TraceSession::create(s);
  EXPECT_TRUE(session.ok()) << session.status().message();
  fx.engine().set_trace(session->get());
  return std::move(session).value();
}

// Detaches the trace and returns what it recorded.
std::vector<Traced> detach(EngineFixture& fx, TraceSession& session) {
  fx.engine().set_trace(nullptr);
  std::vector<Traced> out;
  session.drain([&](const TraceRecord& r) { out.push_back({r}); });
  return out;
}

Ipv4Addr in_subnet_of(int node, uint32_t host) {
  return Ipv4Addr{EngineFixture::node(node).subnet.addr.value + host};
}

uint16_t port_of(EngineFixture& fx, PortRole role) {
  for (const Port& p : fx.engine().ports()) {
    if (p.role() == role) return p.id();
  }
  return kNoPort;
}

uint32_t next_hop_of(EngineFixture& fx, const Ipv4Prefix& prefix) {
  for (const RouteView& r : fx.engine().routes()) {
    if (r.prefix == prefix) return r.next_hop_id;
  }
  ADD_FAILURE() << "no route " << prefix.str();
  return UINT32_MAX;
}

uint8_t cls(TraceClass c) {
  return static_cast<uint8_t>(c);
}

using S = TraceStep;

// Overlay to a remote pod in VXLAN: route, neighbour, rewrite with the
// outer source port that went on the wire, transmit on the underlay.
TEST(Trace, EncapsulationInVxlan) {
  EngineFixture fx;
  fx.add_node(2);
  auto session = attach(fx);
  const Ipv4Addr dst = in_subnet_of(2, 5);
  const auto out = fx.from_overlay({fx.pod_frame(dst)});
  ASSERT_EQ(out.size(), 1u);
  const auto traced = detach(fx, *session);
  ASSERT_EQ(traced.size(), 1u);
  const Traced& t = traced[0];
  EXPECT_EQ(t.steps(),
            (std::vector<S>{S::kClassify, S::kRoute, S::kNeighbour, S::kRewrite, S::kTx}));
  EXPECT_TRUE(t.record.finished);
  EXPECT_EQ(t.record.rx_port, fx.overlay_port().port_id());
  EXPECT_EQ(t.record.orig_len, fx.pod_frame(dst).size());
  EXPECT_EQ(t.at(S::kClassify).a8, cls(TraceClass::kIpv4));
  const TraceEvent& route = t.at(S::kRoute);
  EXPECT_EQ(route.a8, 1);
  EXPECT_EQ(route.a16, uint16_t(NextHopKind::kVxlan));
  EXPECT_EQ(route.a32, dst.be());
  EXPECT_EQ(route.b, next_hop_of(fx, EngineFixture::node(2).subnet));
  const TraceEvent& neighbour = t.at(S::kNeighbour);
  EXPECT_EQ(neighbour.a8, 1) << "static neighbour: resolved";
  EXPECT_EQ(trace_mac_of(neighbour.b), EngineFixture::node(2).underlay_mac);
  const TraceEvent& rewrite = t.at(S::kRewrite);
  EXPECT_EQ(rewrite.a8, uint8_t(NextHopKind::kVxlan));
  EXPECT_EQ(rewrite.a32, EngineFixture::node(2).public_ip.be());
  EXPECT_EQ(rewrite.a16, out[0][34] << 8 | out[0][35]) << "the outer UDP source port sent";
  EXPECT_EQ(rewrite.b, fx.underlay_port().port_id());
  EXPECT_EQ(t.last().a16, fx.underlay_port().port_id());
  EXPECT_EQ(t.last().a32, 0u) << "TX queue of worker 0";
}

TEST(Trace, EncapsulationOfTheUdpBackend) {
  EngineFixture fx({.backend = BackendType::kUdp});
  fx.add_node(2);
  auto session = attach(fx);
  ASSERT_EQ(fx.from_overlay({fx.pod_frame(in_subnet_of(2, 5))}).size(), 1u);
  const auto traced = detach(fx, *session);
  ASSERT_EQ(traced.size(), 1u);
  EXPECT_EQ(traced[0].steps(),
            (std::vector<S>{S::kClassify, S::kRoute, S::kNeighbour, S::kRewrite, S::kTx}));
  EXPECT_EQ(traced[0].at(S::kRoute).a16, uint16_t(NextHopKind::kUdp));
  EXPECT_EQ(traced[0].at(S::kRewrite).a8, uint8_t(NextHopKind::kUdp));
  EXPECT_EQ(traced[0].at(S::kRewrite).a16, 8285) << "flannel's udp backend port, both ends";
}

TEST(Trace, DirectRoutingRewritesOnlyEthernet) {
  EngineFixture fx({.backend = BackendType::kHostGw});
  fx.add_node(2);
  auto session = attach(fx);
  ASSERT_EQ(fx.from_overlay({fx.pod_frame(in_subnet_of(2, 5))}).size(), 1u);
  const auto traced = detach(fx, *session);
  ASSERT_EQ(traced.size(), 1u);
  EXPECT_EQ(traced[0].at(S::kRoute).a16, uint16_t(NextHopKind::kDirect));
  EXPECT_EQ(traced[0].at(S::kRewrite).a8, uint8_t(NextHopKind::kDirect));
  EXPECT_EQ(traced[0].last().step, S::kTx);
  EXPECT_EQ(traced[0].last().a16, fx.underlay_port().port_id());
}

// Underlay to a pod of ours: the sender is a known node, VNI, decap, the
// inner route is local, delivered on the overlay.
TEST(Trace, DecapsulationToTheOverlay) {
  EngineFixture fx;
  fx.add_node(2);
  auto session = attach(fx);
  ASSERT_EQ(fx.from_underlay({fx.vxlan_from(2, fx.pod_ip())}).size(), 1u);
  const auto traced = detach(fx, *session);
  ASSERT_EQ(traced.size(), 1u);
  const Traced& t = traced[0];
  EXPECT_EQ(t.steps(), (std::vector<S>{S::kClassify, S::kClassify, S::kSender, S::kVni, S::kDecap,
                                       S::kRoute, S::kRewrite, S::kTx}));
  EXPECT_EQ(t.record.events[0].a8, cls(TraceClass::kIpv4));
  EXPECT_EQ(t.record.events[1].a8, cls(TraceClass::kTunnel));
  const TraceEvent& sender = t.at(S::kSender);
  EXPECT_EQ(sender.a8, 1);
  EXPECT_EQ(sender.a32, EngineFixture::node(2).public_ip.be());
  EXPECT_EQ(sender.b, next_hop_of(fx, EngineFixture::node(2).subnet));
  EXPECT_EQ(t.at(S::kVni).a32, 1u);
  EXPECT_EQ(t.at(S::kDecap).a8, uint8_t(TraceDecap::kVxlan));
  EXPECT_EQ(t.at(S::kRoute).a16, uint16_t(NextHopKind::kLocal));
  EXPECT_EQ(t.at(S::kRoute).a32, fx.pod_ip().be());
  EXPECT_EQ(t.at(S::kRewrite).a8, uint8_t(NextHopKind::kLocal));
  EXPECT_EQ(t.last().a16, fx.overlay_port().port_id());
}

TEST(Trace, DecapsulationOfTheUdpBackend) {
  EngineFixture fx({.backend = BackendType::kUdp});
  fx.add_node(2);
  auto session = attach(fx);
  ASSERT_EQ(fx.from_underlay({fx.udp_tunnel_from(2, fx.pod_ip())}).size(), 1u);
  const auto traced = detach(fx, *session);
  ASSERT_EQ(traced.size(), 1u);
  EXPECT_EQ(traced[0].steps(), (std::vector<S>{S::kClassify, S::kClassify, S::kSender, S::kDecap,
                                               S::kRoute, S::kRewrite, S::kTx}));
  EXPECT_EQ(traced[0].at(S::kDecap).a8, uint8_t(TraceDecap::kUdp));
}

TEST(Trace, LocalDeliveryBetweenPodsOfThisNode) {
  EngineFixture fx;
  auto session = attach(fx);
  fx.from_overlay({fx.pod_frame(fx.pod_ip(20))});
  ASSERT_EQ(fx.take_overlay().size(), 1u);
  const auto traced = detach(fx, *session);
  ASSERT_EQ(traced.size(), 1u);
  EXPECT_EQ(traced[0].steps(), (std::vector<S>{S::kClassify, S::kRoute, S::kRewrite, S::kTx}));
  EXPECT_EQ(traced[0].at(S::kRoute).a16, uint16_t(NextHopKind::kLocal));
  EXPECT_EQ(traced[0].last().a16, fx.overlay_port().port_id());
}

TEST(Trace, ArpRequestForOurAddressIsAnswered) {
  EngineFixture fx;
  auto session = attach(fx);
  const MacAddr asker = *MacAddr::parse("02:00:00:00:0c:01");
  fx.from_underlay(
      {testing::arp_frame(1, *MacAddr::parse("ff:ff:ff:ff:ff:ff"), asker,
                          *Ipv4Addr::parse("192.0.2.50"), MacAddr{}, fx.self().public_ip)});
  ASSERT_EQ(fx.take_underlay().size(), 1u);
  const auto traced = detach(fx, *session);
  ASSERT_EQ(traced.size(), 1u);
  EXPECT_EQ(traced[0].steps(), (std::vector<S>{S::kClassify, S::kArpReply, S::kTx}));
  EXPECT_EQ(traced[0].at(S::kClassify).a8, cls(TraceClass::kArp));
  EXPECT_EQ(traced[0].at(S::kArpReply).a32, fx.self().public_ip.be());
  EXPECT_EQ(traced[0].last().a16, fx.underlay_port().port_id());
}

TEST(Trace, TheHostsTrafficTakesTheExceptionPath) {
  EngineFixture fx({.exception_port = true});
  auto session = attach(fx);
  Bytes ipv6(60, 0);
  ipv6[12] = 0x86, ipv6[13] = 0xdd;
  fx.from_underlay({ipv6});
  ASSERT_EQ(fx.take_exception().size(), 1u);
  const auto traced = detach(fx, *session);
  ASSERT_EQ(traced.size(), 1u);
  EXPECT_EQ(traced[0].steps(), (std::vector<S>{S::kClassify, S::kTx}));
  EXPECT_EQ(traced[0].at(S::kClassify).a8, cls(TraceClass::kNotIpv4));
  EXPECT_EQ(traced[0].last().a16, port_of(fx, PortRole::kException));
}

// Where tartan routes IPv6, an unroutable destination is answered: the
// error is traced as ICMPv6's and goes back out of the overlay.
TEST(Trace, AnIcmpv6ErrorGoesBackToThePod) {
  EngineFixture fx({.ipv6 = true});
  auto session = attach(fx);
  Ipv6Addr lost = EngineFixture::node6(77).subnet.addr;
  lost.bytes[15] = 10;
  fx.from_overlay({fx.pod_frame6(lost)});
  ASSERT_EQ(fx.take_overlay().size(), 1u);
  const auto traced = detach(fx, *session);
  ASSERT_EQ(traced.size(), 1u);
  EXPECT_EQ(traced[0].steps(), (std::vector<S>{S::kRoute, S::kIcmpError, S::kTx}));
  EXPECT_EQ(traced[0].at(S::kRoute).a8, 0) << "no route";
  const TraceEvent& error = traced[0].at(S::kIcmpError);
  EXPECT_EQ(error.a8, 1) << "Destination Unreachable";
  EXPECT_EQ(error.a16, 0) << "no route to destination";
  EXPECT_EQ(error.a32, 6u) << "ICMPv6";
  EXPECT_EQ(traced[0].last().a16, fx.overlay_port().port_id());
}

TEST(Trace, AnUnresolvedNeighbourHoldsThePacketForArp) {
  EngineFixture fx;
  fx.add_node(2, false);
  auto session = attach(fx);
  fx.from_overlay({fx.pod_frame(in_subnet_of(2, 5))});
  const auto traced = detach(fx, *session);
  ASSERT_EQ(traced.size(), 1u);
  EXPECT_EQ(traced[0].steps(),
            (std::vector<S>{S::kClassify, S::kRoute, S::kNeighbour, S::kRewrite, S::kToControl}));
  EXPECT_EQ(traced[0].at(S::kNeighbour).a8, 0) << "waiting";
  EXPECT_EQ(traced[0].at(S::kToControl).a8, 0) << "held, not ARP to learn from";
  EXPECT_EQ(traced[0].at(S::kToControl).a32, traced[0].at(S::kNeighbour).a32) << "its adjacency";
  EXPECT_TRUE(traced[0].record.finished);
}

TEST(Trace, TheFilterAndTheCountDecideWhatIsTraced) {
  EngineFixture fx;
  fx.add_node(2);
  auto session = attach(fx, 2, "udp src port 10001 or udp src port 10003 or udp src port 10005");
  std::vector<Bytes> frames;
  for (uint16_t p = 10000; p < 10006; ++p) frames.push_back(fx.pod_frame(in_subnet_of(2, 5), p));
  ASSERT_EQ(fx.from_overlay(frames).size(), 6u);
  const auto traced = detach(fx, *session);
  ASSERT_EQ(traced.size(), 2u);
  for (const Traced& t : traced) {
    EXPECT_EQ(t.last().step, S::kTx);
    const uint16_t src_port = static_cast<uint16_t>(t.record.head[34] << 8 | t.record.head[35]);
    EXPECT_TRUE(src_port == 10001 || src_port == 10003) << src_port;
  }
  EXPECT_EQ(session->taken(), 2u);
}

TEST(Trace, OnlyTheChosenPortsAreTraced) {
  EngineFixture fx;
  fx.add_node(2);
  TraceSettings s;
  s.ports.set(fx.underlay_port().port_id());
  auto session = TraceSession::create(s);
  ASSERT_TRUE(session.ok());
  fx.engine().set_trace(session->get());
  ASSERT_EQ(fx.from_overlay({fx.pod_frame(in_subnet_of(2, 5))}).size(), 1u);
  EXPECT_TRUE(detach(fx, **session).empty());
}

TEST(Trace, AFilterLibpcapRejectsIsRefusedWithItsMessage) {
  TraceSettings s;
  s.filter = "udp prot 1";
  auto session = TraceSession::create(s);
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(session.status().message().rfind("filter: ", 0), 0u) << session.status().message();
}

// Each drop reason drop_reasons_test provokes ends the packet's trace with
// that reason as its last decision.
class TracedDrops : public ::testing::TestWithParam<testing::DropCase> {};

TEST_P(TracedDrops, EndInTheirReason) {
  const testing::DropCase& c = GetParam();
  EngineFixture fx(testing::drop_case_options(c));
  testing::setup(fx, c);
  auto session = attach(fx);
  const Bytes frame = c.frame(fx);
  c.from_underlay ? fx.from_underlay({frame}) : fx.from_overlay({frame});
  const auto traced = detach(fx, *session);
  ASSERT_EQ(traced.size(), 1u);
  EXPECT_TRUE(traced[0].record.finished);
  EXPECT_EQ(traced[0].last().step, S::kDrop);
  EXPECT_EQ(traced[0].last().a8, uint8_t(c.reason)) << drop_reason_name(c.reason);
  EXPECT_EQ(traced[0].record.orig_len, frame.size());
}

// A full TX queue: the packets the device took end in tx, the rest in the
// drop, as the counters have it.
TEST(TracedTx, AFullTxQueueEndsInItsDrop) {
  EngineFixture fx({.ring_size = 64});
  fx.add_node(2);
  auto session = attach(fx, 96);
  // The underlay's TX ring holds 63; three bursts of 32 overflow it.
  for (int b = 0; b < 3; ++b) {
    std::vector<rte_mbuf*> pkts;
    for (int i = 0; i < 32; ++i)
      pkts.push_back(
          testing::to_mbuf(fx.pool(), fx.pod_frame(in_subnet_of(2, 10), static_cast<uint16_t>(i))));
    ASSERT_EQ(fx.overlay_port().inject(pkts), 32u);
    fx.engine().workers()[0]->poll_once();
  }
  const auto traced = detach(fx, *session);
  ASSERT_EQ(traced.size(), 96u);
  size_t sent = 0, full = 0;
  for (const Traced& t : traced) {
    EXPECT_TRUE(t.record.finished);
    sent += t.last().step == S::kTx;
    full += t.last().step == S::kDrop && t.last().a8 == uint8_t(DropReason::kTxQueueFull);
  }
  EXPECT_EQ(sent, fx.take_underlay().size());
  EXPECT_EQ(full, fx.drops(DropReason::kTxQueueFull));
  EXPECT_EQ(sent + full, 96u);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

INSTANTIATE_TEST_SUITE_P(AllReasons, TracedDrops, ::testing::ValuesIn(testing::drop_cases()),
                         [](const ::testing::TestParamInfo<testing::DropCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace tartan
