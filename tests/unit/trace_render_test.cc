// A worker's trace record as the API shows it (control/api/trace_render.h):
// the frame summarized, each decision in words and fields, next hops named
// after their prefix and node, the verdict from the last decision.
#include "control/api/trace_render.h"

#include <gtest/gtest.h>

#include <cstring>

#include "engine/observe/stats.h"
#include "engine/tables/next_hop.h"
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

TraceNames names() {
  TraceNames n;
  n.ports = {"underlay", "overlay0"};
  n.next_hops[3] = {{*Ipv4Prefix::parse("10.244.2.0/24"), "node2"}};
  n.tunnel_port = 8472;
  return n;
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

}  // namespace
}  // namespace tartan
