// A worker's trace record as the API shows it (control/api/trace_render.h):
// the frame summarized, each decision in words and fields, next hops named
// after their prefix and node, the verdict from the last decision.
#include "control/api/trace_render.h"

#include <gtest/gtest.h>

#include <cstring>

#include "engine/observe/stats.h"
#include "engine/tables/next_hop.h"
#include "tests/support/nd_packets.h"
#include "tests/support/packets.h"

namespace tartan {
namespace {

Ipv4Addr ip(const char* s) {
  return *Ipv4Addr::parse(s);
}

TraceRecord record_of(const testing::Bytes& frame, std::initializer_list<TraceEvent> events,
                      bool finished = true) {
  TraceRecord r{};
  r.orig_len = static_cast<uint32_t>(frame.size());
  r.head_len = static_cast<uint16_t>(std::min<size_t>(frame.size(), kTraceHeadBytes));
  std::memcpy(r.head, frame.data(), r.head_len);
  for (const TraceEvent& e : events) r.events[r.num_events++] = e;
  r.rx_port = 0;
  r.finished = finished;
  return r;
}

Ipv6Addr ip6(const char* s) {
  return *Ipv6Addr::parse(s);
}

TraceNames names() {
  TraceNames n;
  n.ports = {"underlay", "overlay0"};
  n.next_hops[3] = {{*Ipv4Prefix::parse("10.244.2.0/24"), "node2"}};
  n.next_hops6[5] = {{*Ipv6Prefix::parse("fd00:10:244:2::/64"), "node2", ip6("2001:db8::20")}};
  n.next_hops6[1] = {{*Ipv6Prefix::parse("fd00:10:244:1::/64"), "", Ipv6Addr{}}};
  n.tunnel_port = 8472;
  return n;
}

// flannel-v6's VXLAN from node2 (2001:db8::20) to us (2001:db8::19) with a
// pod's UDP packet inside, as the underlay receives it.
testing::Bytes vxlan6_frame() {
  testing::Udp6Spec inner;
  inner.src_ip = ip6("fd00:10:244:2::a");
  inner.dst_ip = ip6("fd00:10:244:1::a");
  testing::Udp6Spec outer;
  outer.src_ip = ip6("2001:db8::20");
  outer.dst_ip = ip6("2001:db8::19");
  outer.src_port = 40000;
  outer.dst_port = 8472;
  return testing::udp6_frame(outer,
                             testing::concat(testing::vxlan_header(1), testing::udp6_frame(inner)));
}

TEST(TraceRender, AnArpRequestAnsweredOnTheUnderlay) {
  const MacAddr ours = *MacAddr::parse("02:00:00:00:0b:01");
  const TraceRecord r =
      record_of(testing::arp_frame(1, *MacAddr::parse("ff:ff:ff:ff:ff:ff"),
                                   *MacAddr::parse("02:00:00:00:0c:01"), ip("192.0.2.50"),
                                   MacAddr{}, ip("192.0.2.19")),
                {{TraceStep::kClassify, uint8_t(TraceClass::kArp)},
                 {TraceStep::kArpReply, 0, 0, ip("192.0.2.19").be(), trace_mac(ours)},
                 {TraceStep::kTx, 0, 0, 0}});
  v1::TracedPacket p;
  render_trace(r, names(), &p);
  EXPECT_EQ(p.rx_port(), "underlay");
  EXPECT_EQ(p.summary(), "ARP who-has 192.0.2.19 tell 192.0.2.50");
  ASSERT_EQ(p.decisions_size(), 3);
  EXPECT_EQ(p.decisions(0).step(), "classify");
  EXPECT_EQ(p.decisions(0).fields().at("class"), "arp");
  EXPECT_EQ(p.decisions(1).detail(), "answered: 192.0.2.19 is at 02:00:00:00:0b:01");
  EXPECT_EQ(p.decisions(2).fields().at("port"), "underlay");
  EXPECT_EQ(p.verdict(), "tx underlay queue 0");
}

TEST(TraceRender, ARouteIsNamedByItsPrefixAndNode) {
  const TraceRecord r =
      record_of(testing::Bytes(60, 0),
                {{TraceStep::kRoute, 1, uint16_t(NextHopKind::kVxlan), ip("10.244.2.5").be(), 3},
                 {TraceStep::kNeighbour, 0, 0, 7, 0},
                 {TraceStep::kToControl, 0, 0, 7}});
  v1::TracedPacket p;
  render_trace(r, names(), &p);
  EXPECT_EQ(p.summary(), "ethertype 0x0000");
  ASSERT_EQ(p.decisions_size(), 3);
  EXPECT_EQ(p.decisions(0).detail(),
            "10.244.2.5 via 10.244.2.0/24: next hop 3 (vxlan, node node2)");
  EXPECT_EQ(p.decisions(0).fields().at("prefix"), "10.244.2.0/24");
  EXPECT_EQ(p.decisions(0).fields().at("node"), "node2");
  EXPECT_EQ(p.decisions(1).fields().at("state"), "waiting");
  EXPECT_EQ(p.verdict(), "to_control: held for ARP resolution of adjacency 7");
}

TEST(TraceRender, IcmpAndIcmpv6ErrorsAreToldApart) {
  v1::TracedPacket p;
  render_trace(record_of(testing::Bytes(60, 0), {{TraceStep::kIcmpError, 3, 4}}), names(), &p);
  EXPECT_EQ(p.decisions(0).detail(), "ICMP error type 3 code 4 back to the sender");
  p.Clear();
  render_trace(record_of(testing::Bytes(60, 0), {{TraceStep::kIcmpError, 3, 0, 6}}), names(), &p);
  EXPECT_EQ(p.decisions(0).detail(), "ICMPv6 error type 3 code 0 back to the sender");
  EXPECT_EQ(p.decisions(0).fields().at("type"), "3");
}

TEST(TraceRender, ADropNamesItsReasonAndAnUnfinishedTraceSaysSo) {
  v1::TracedPacket p;
  render_trace(record_of(testing::Bytes(10, 0), {{TraceStep::kDrop, uint8_t(DropReason::kRunt)}}),
               names(), &p);
  EXPECT_EQ(p.summary(), "runt (10 bytes)");
  EXPECT_EQ(p.verdict(), "drop: runt");
  p.Clear();
  render_trace(
      record_of(testing::Bytes(60, 0), {{TraceStep::kClassify, uint8_t(TraceClass::kIpv4)}}, false),
      names(), &p);
  EXPECT_EQ(p.verdict(), "unfinished after classify");
}

// Where the IPv6 addresses a decision names are in the frame as received:
// the outer source (14 + 8) and the inner destination (70 of outer headers,
// 14 of inner Ethernet, 24 into the inner IPv6 header).
TEST(TraceRender, AnIpv6TunnelPacketNamesItsSenderAndInnerRouteInIpv6) {
  const TraceRecord r =
      record_of(vxlan6_frame(), {{TraceStep::kClassify, uint8_t(TraceClass::kIpv6)},
                                 {TraceStep::kClassify, uint8_t(TraceClass::kTunnel)},
                                 {TraceStep::kSender, 1, 22, 0, 5},
                                 {TraceStep::kVni, 0, 0, 1},
                                 {TraceStep::kDecap, uint8_t(TraceDecap::kVxlan)},
                                 {TraceStep::kRoute6, 1, uint16_t(NextHopKind::kLocal), 108, 1},
                                 {TraceStep::kRewrite, uint8_t(NextHopKind::kLocal), 0, 0, 1},
                                 {TraceStep::kTx, 0, 1, 0}});
  v1::TracedPacket p;
  render_trace(r, names(), &p);
  EXPECT_EQ(
      p.summary(),
      "IPv6 2001:db8::20 > 2001:db8::19 UDP 40000 > 8472 VXLAN vni 1: IPv6 fd00:10:244:2::a > "
      "fd00:10:244:1::a UDP 10000 > 5001");
  ASSERT_EQ(p.decisions_size(), 8);
  EXPECT_EQ(p.decisions(0).detail(), "ipv6: IPv6");
  EXPECT_EQ(p.decisions(2).detail(), "known VTEP 2001:db8::20 (node node2, next hop 5)");
  EXPECT_EQ(p.decisions(2).fields().at("source"), "2001:db8::20");
  EXPECT_EQ(p.decisions(5).step(), "route");
  EXPECT_EQ(p.decisions(5).detail(), "fd00:10:244:1::a via fd00:10:244:1::/64: next hop 1 (local)");
  EXPECT_EQ(p.decisions(5).fields().at("destination"), "fd00:10:244:1::a");
  EXPECT_EQ(p.verdict(), "tx overlay0 queue 0");
}

TEST(TraceRender, AnIpv6PodPacketIsRoutedAndEncapsulatedToItsNodesPublicIpv6) {
  testing::Udp6Spec pod;
  pod.src_ip = ip6("fd00:10:244:1::a");
  pod.dst_ip = ip6("fd00:10:244:2::7");
  const TraceRecord r = record_of(
      testing::udp6_frame(pod), {{TraceStep::kClassify, uint8_t(TraceClass::kIpv6)},
                                 {TraceStep::kRoute6, 1, uint16_t(NextHopKind::kVxlan), 38, 5},
                                 {TraceStep::kNeighbour, 0, 0, 7, 0},
                                 {TraceStep::kRewrite6, uint8_t(NextHopKind::kVxlan), 41234, 5, 0},
                                 {TraceStep::kToControl, uint8_t(TraceToControl::kArpWait), 0, 7}});
  v1::TracedPacket p;
  render_trace(r, names(), &p);
  ASSERT_EQ(p.decisions_size(), 5);
  EXPECT_EQ(p.decisions(1).detail(),
            "fd00:10:244:2::7 via fd00:10:244:2::/64: next hop 5 (vxlan, node node2)");
  EXPECT_EQ(p.decisions(1).fields().at("node"), "node2");
  EXPECT_EQ(p.decisions(2).detail(), "waiting for neighbour discovery (adjacency 7)");
  EXPECT_EQ(p.decisions(3).step(), "rewrite");
  EXPECT_EQ(p.decisions(3).detail(),
            "encap vxlan to 2001:db8::20, outer UDP source port 41234, out underlay");
  EXPECT_EQ(p.decisions(3).fields().at("outer_destination"), "2001:db8::20");
  EXPECT_EQ(p.verdict(), "to_control: held for neighbour discovery resolution of adjacency 7");
  // A route the names do not know yet: the caller asks for them anew.
  EXPECT_FALSE(names_stale(r, names()));
  TraceNames older = names();
  older.next_hops6.erase(5);
  EXPECT_TRUE(names_stale(r, older));
}

TEST(TraceRender, NeighbourDiscoveryIsSummarizedAndHandedToTheControlThread) {
  testing::NdSpec ns;
  ns.src_ip = ip6("2001:db8::20");
  ns.dst_ip = ip6("ff02::1:ff00:19");
  ns.target = ip6("2001:db8::19");
  const TraceRecord r = record_of(testing::nd_frame(ns),
                                  {{TraceStep::kClassify, uint8_t(TraceClass::kIpv6)},
                                   {TraceStep::kClassify, uint8_t(TraceClass::kNd)},
                                   {TraceStep::kToControl, uint8_t(TraceToControl::kNd), 0, 0}});
  v1::TracedPacket p;
  render_trace(r, names(), &p);
  EXPECT_EQ(p.summary(),
            "IPv6 2001:db8::20 > ff02::1:ff00:19 ICMPv6 neighbour solicitation who-has "
            "2001:db8::19");
  EXPECT_EQ(p.decisions(1).fields().at("class"), "nd");
  EXPECT_EQ(p.verdict(),
            "to_control: neighbour discovery handed to the control thread (to answer or learn "
            "from)");
}

}  // namespace
}  // namespace tartan
