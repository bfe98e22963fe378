// The IPv6 data path (flannel-v6: VXLAN over an IPv6 underlay): the exact
// bytes tartan encapsulates, with the mandatory UDP checksum checked by an
// independent byte-by-byte sum; decapsulation delivering what flannel-v6
// sends; IPv6 route changes and the IPv6 sender filter; host-gw style
// direct routing; two engines in a round trip; neighbour discovery handed
// to the control side. Every fixture checks its buffer accounting at
// teardown (no mbuf leaked).
#include <gtest/gtest.h>

#include "tests/support/engine_fixture.h"
#include "tests/support/nd_packets.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::EngineFixture;
using testing::Udp6Spec;

Ipv6Addr a6(const char* s) {
  return *Ipv6Addr::parse(s);
}

Ipv6Addr pod_of(int node, uint8_t host = 10) {
  Ipv6Addr a = EngineFixture::node6(node).subnet.addr;
  a.bytes[15] = host;
  return a;
}

// Whether `f` holds `bytes` at `at`, and writing them there.
template <size_t N>
bool holds_at(const Bytes& f, size_t at, const std::array<uint8_t, N>& bytes) {
  return f.size() >= at + N && std::equal(bytes.begin(), bytes.end(), f.begin() + at);
}
template <size_t N>
void put_at(Bytes& f, size_t at, const std::array<uint8_t, N>& bytes) {
  std::copy(bytes.begin(), bytes.end(), f.begin() + at);
}

uint16_t be16_at(const Bytes& f, size_t at) {
  return static_cast<uint16_t>(f[at] << 8 | f[at + 1]);
}

// What tartan must send for `inner` (an inner frame as the pod sent it,
// its hop limit already the one expected) to node `to`, with the outer
// UDP source port `src_port` and traffic class `tc`.
Bytes expected_vxlan6(const EngineFixture& fx, int to, Bytes inner, uint16_t src_port,
                      uint8_t tc = 0) {
  const auto n = EngineFixture::node6(to);
  // The inner Ethernet header: to the remote VtepMAC from ours (flannel-v6's).
  put_at(inner, 0, n.vtep_mac.bytes);
  put_at(inner, 6, fx.self6().vtep_mac.bytes);
  Udp6Spec outer;
  outer.src_mac = fx.self6().underlay_mac;
  outer.dst_mac = n.underlay_mac;
  outer.src_ip = fx.self6().public_ip;
  outer.dst_ip = n.public_ip;
  outer.hop_limit = 64;
  outer.traffic_class = tc;
  outer.flow_label = 0;
  outer.src_port = src_port;
  outer.dst_port = 8472;
  return testing::udp6_frame(outer, testing::concat(testing::vxlan_header(1), inner));
}

TEST(Ipv6Encap, OuterIpv6UdpVxlanIsByteExactWithAVerifiedUdpChecksum) {
  EngineFixture fx({.ipv6 = true});
  fx.add_node6(2);
  for (uint16_t payload : {18, 200, 1301}) {
    const Bytes pod = fx.pod_frame6(pod_of(2), 10000, payload, 64);
    const auto out = fx.from_overlay({pod});
    ASSERT_EQ(out.size(), 1u);
    const Bytes& f = out[0];
    ASSERT_EQ(f.size(), pod.size() + 70);
    const uint16_t src_port = be16_at(f, 54);
    EXPECT_GE(src_port, 32768);
    EXPECT_LT(src_port, 61000);
    Bytes inner = pod;
    inner[14 + 7] = 63;  // tartan is the hop: hop limit 64 -> 63
    EXPECT_EQ(f, expected_vxlan6(fx, 2, inner, src_port)) << testing::hex(f);
    // The checksum is the one the frame's own bytes give, and never zero.
    EXPECT_EQ(be16_at(f, 60), testing::udp6_checksum(f));
    EXPECT_NE(be16_at(f, 60), 0);
  }
  EXPECT_EQ(fx.total_drops(), 0u);
}

TEST(Ipv6Encap, ChecksumIsRightWhateverTheInnerProtocol) {
  EngineFixture fx({.ipv6 = true});
  fx.add_node6(2);
  // Inner UDP with a zero checksum, and an inner next header tartan cannot
  // take a sum from (59, no next header): both are summed byte by byte.
  Bytes zero = fx.pod_frame6(pod_of(2), 10001, 100);
  zero[14 + 40 + 6] = zero[14 + 40 + 7] = 0;
  Bytes other = fx.pod_frame6(pod_of(2), 10002, 100);
  other[14 + 6] = 59;
  const auto out = fx.from_overlay({zero, other});
  ASSERT_EQ(out.size(), 2u);
  for (const Bytes& f : out)
    EXPECT_EQ(be16_at(f, 60), testing::udp6_checksum(f)) << testing::hex(f);
}

TEST(Ipv6Encap, EcnIsCopiedOutwardAndCeBecomesEct0) {
  EngineFixture fx({.ipv6 = true});
  fx.add_node6(2);
  for (uint8_t ecn : {0, 1, 2, 3}) {
    Bytes pod = fx.pod_frame6(pod_of(2));
    // Traffic class DSCP 46 and the ECN bits; the inner checksum does not
    // cover the IPv6 header.
    const uint8_t tc = static_cast<uint8_t>(46 << 2 | ecn);
    pod[14] = static_cast<uint8_t>(0x60 | tc >> 4);
    pod[15] = static_cast<uint8_t>((tc & 0x0f) << 4);
    const auto out = fx.from_overlay({pod});
    ASSERT_EQ(out.size(), 1u);
    const uint8_t outer_tc = static_cast<uint8_t>((out[0][14] & 0x0f) << 4 | out[0][15] >> 4);
    EXPECT_EQ(outer_tc, ecn == 3 ? 2 : ecn) << int(ecn);
    EXPECT_EQ(be16_at(out[0], 60), testing::udp6_checksum(out[0]));
  }
}

TEST(Ipv6Encap, SourcePortFollowsTheInnerFlow) {
  EngineFixture fx({.ipv6 = true});
  fx.add_node6(2);
  std::set<uint16_t> ports;
  for (uint16_t flow = 0; flow < 32; ++flow) {
    const auto a = fx.from_overlay({fx.pod_frame6(pod_of(2), 20000 + flow)});
    const auto b = fx.from_overlay({fx.pod_frame6(pod_of(2), 20000 + flow, 300)});
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(be16_at(a[0], 54), be16_at(b[0], 54));
    ports.insert(be16_at(a[0], 54));
  }
  EXPECT_GT(ports.size(), 24u);
}

TEST(Ipv6Encap, OffLinkNodesGoThroughTheGatewayAndIpv4IsUntouched) {
  EngineFixture fx({.ipv6 = true});
  fx.add_node(2);
  fx.add_node6(200);
  const auto out = fx.from_overlay({fx.pod_frame6(pod_of(200))});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(holds_at(out[0], 0, EngineFixture::kGatewayMac.bytes));
  EXPECT_TRUE(holds_at(out[0], 38, EngineFixture::node6(200).public_ip.bytes));
  // IPv4 pod traffic in the same burst still goes over IPv4.
  const auto both = fx.from_overlay(
      {fx.pod_frame(EngineFixture::node(2).subnet.addr), fx.pod_frame6(pod_of(200))});
  ASSERT_EQ(both.size(), 2u);
  size_t v4 = 0, v6 = 0;
  for (const Bytes& f : both) (be16_at(f, 12) == 0x0800 ? v4 : v6)++;
  EXPECT_EQ(v4, 1u);
  EXPECT_EQ(v6, 1u);
}

TEST(Ipv6Decap, FlannelV6FramesAreDeliveredToTheOverlay) {
  EngineFixture fx({.ipv6 = true});
  fx.add_node6(2);
  const auto out = fx.from_underlay({fx.vxlan6_from(2, fx.pod_ip6(20), 1, 300)});
  ASSERT_EQ(out.size(), 1u);
  Udp6Spec expect;
  expect.src_mac = fx.self().vtep_mac;
  expect.dst_mac = EngineFixture::kOverlayMac;
  expect.src_ip = pod_of(2);
  expect.dst_ip = fx.pod_ip6(20);
  expect.hop_limit = 62;  // 63 as sent, and tartan is the hop
  EXPECT_EQ(out[0], testing::udp6_frame(expect, 300)) << testing::hex(out[0]);
  const StatsSnapshot st = fx.engine().stats();
  ASSERT_EQ(st.peers.size(), 1u);
  EXPECT_EQ(st.peers[0].decap_packets, 1u);
  ASSERT_TRUE(st.peers[0].public_ip6.has_value());
  EXPECT_EQ(*st.peers[0].public_ip6, EngineFixture::node6(2).public_ip);
  EXPECT_EQ(fx.total_drops(), 0u);
}

TEST(Ipv6Decap, EthernetPaddingIsTrimmedAndAChecksumLeftPartialIsFinished) {
  EngineFixture fx({.ipv6 = true});
  fx.add_node6(2);
  Bytes padded = fx.vxlan6_from(2, fx.pod_ip6(20));
  padded.resize(padded.size() + 6, 0);
  // A Linux VTEP over a veth: outer and inner UDP checksums hold only their
  // pseudo headers' sums (CHECKSUM_PARTIAL).
  Bytes partial = fx.vxlan6_from(2, fx.pod_ip6(21));
  const auto pseudo_sum = [&partial](size_t ip, size_t udp) {
    uint32_t sum = 17 + static_cast<uint32_t>(be16_at(partial, udp + 4));
    for (size_t i = ip + 8; i < ip + 40; i += 2) sum += be16_at(partial, i);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
  };
  const size_t inner_ip = 54 + 16 + 14, inner_udp = inner_ip + 40;
  const uint16_t inner_pseudo = pseudo_sum(inner_ip, inner_udp);
  partial[inner_udp + 6] = static_cast<uint8_t>(inner_pseudo >> 8);
  partial[inner_udp + 7] = static_cast<uint8_t>(inner_pseudo);
  const uint16_t outer_pseudo = pseudo_sum(14, 54);
  partial[60] = static_cast<uint8_t>(outer_pseudo >> 8);
  partial[61] = static_cast<uint8_t>(outer_pseudo);
  const auto out = fx.from_underlay({padded, partial});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].size(), padded.size() - 6 - 70);
  // The finished inner checksum is the one its bytes give.
  Bytes delivered = out[1];
  const uint16_t got = be16_at(delivered, 14 + 40 + 6);
  EXPECT_EQ(got, testing::udp6_checksum(delivered));
}

TEST(Ipv6Tables, RouteReplaceAndRemoveTakeEffectAndTheSenderFilterFollows) {
  EngineFixture fx({.ipv6 = true});
  fx.add_node6(2);
  ASSERT_EQ(fx.from_underlay({fx.vxlan6_from(2, fx.pod_ip6())}).size(), 1u);
  // Node 2's podCIDR moves to node 3: traffic goes there, and node 2 is no
  // longer a sender.
  TableDelta move;
  Route6Spec r = fx.route6_to(3);
  r.prefix = EngineFixture::node6(2).subnet;
  move.upsert_routes6 = {r};
  move.set_neighbours6 = {
      {EngineFixture::node6(3).public_ip, EngineFixture::node6(3).underlay_mac}};
  ASSERT_TRUE(fx.engine().apply(move).ok());
  const auto out = fx.from_overlay({fx.pod_frame6(pod_of(2))});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(holds_at(out[0], 38, EngineFixture::node6(3).public_ip.bytes));
  EXPECT_TRUE(fx.from_underlay({fx.vxlan6_from(2, fx.pod_ip6())}).empty());
  EXPECT_EQ(fx.drops(DropReason::kUnknownSender), 1u);
  EXPECT_EQ(fx.from_underlay({fx.vxlan6_from(3, fx.pod_ip6())}).size(), 1u);
  const auto routes = fx.engine().routes6();
  ASSERT_EQ(routes.size(), 2u);  // ours and node 2's podCIDR
  EXPECT_EQ(routes[0].prefix, fx.self6().subnet);
  EXPECT_EQ(routes[0].kind, NextHopKind::kLocal);
  EXPECT_EQ(routes[1].public_ip, EngineFixture::node6(3).public_ip);
  EXPECT_EQ(routes[1].via, EngineFixture::node6(3).public_ip);
  EXPECT_EQ(routes[1].via_mac, EngineFixture::node6(3).underlay_mac);
  // Removed: no route, and no sender.
  TableDelta remove;
  remove.remove_routes6 = {EngineFixture::node6(2).subnet};
  ASSERT_TRUE(fx.engine().apply(remove).ok());
  EXPECT_TRUE(fx.from_overlay({fx.pod_frame6(pod_of(2))}).empty());
  // The pod is told so (icmp6_path_test has the bytes).
  const auto unreachable = fx.take_overlay();
  ASSERT_EQ(unreachable.size(), 1u);
  EXPECT_EQ(unreachable[0][54], 1) << "ICMPv6 Destination Unreachable";
  EXPECT_TRUE(fx.from_underlay({fx.vxlan6_from(3, fx.pod_ip6())}).empty());
  EXPECT_EQ(fx.drops(DropReason::kUnknownSender), 2u);
  EXPECT_EQ(fx.engine().routes6().size(), 1u);
}

TEST(Ipv6Tables, BadRoutesAreRefusedNamingTheFieldAndNothingIsApplied) {
  EngineFixture fx({.ipv6 = true});
  const auto refused = [&fx](const Route6Spec& bad, const std::string& field) {
    TableDelta d;
    d.upsert_routes6 = {fx.route6_to(2), bad};
    const Status s = fx.engine().apply(d);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << field;
    EXPECT_NE(s.message().find(field), std::string::npos) << s.message();
    EXPECT_EQ(fx.engine().routes6().size(), 1u) << "something was applied: " << s.message();
  };
  Route6Spec r = fx.route6_to(3);
  r.vni = 7;
  refused(r, "vni:");
  r = fx.route6_to(3);
  r.vtep_mac = MacAddr{};
  refused(r, "vtep_mac:");
  r = fx.route6_to(3);
  r.public_ip = a6("ff02::1");
  refused(r, "public_ip:");
  r.public_ip = a6("fe80::1");
  refused(r, "public_ip:");
  r.public_ip = fx.self6().public_ip;
  refused(r, "public_ip:");
  r = fx.route6_to(3);
  r.prefix = Ipv6Prefix{a6("fd00:10:244:3::1"), 64};
  refused(r, "prefix:");
  r.prefix = Ipv6Prefix{a6("fd00:10:244:1:5::"), 80};  // inside our own
  refused(r, "prefix:");
  r = fx.route6_to(3);
  r.backend = BackendType::kUdp;
  refused(r, "backend:");
  // The same prefix twice, and two VTEPs for one address.
  TableDelta twice;
  twice.upsert_routes6 = {fx.route6_to(3), fx.route6_to(3)};
  EXPECT_EQ(fx.engine().apply(twice).code(), ErrorCode::kInvalidArgument);
  TableDelta two_vteps;
  Route6Spec other = fx.route6_to(4);
  other.public_ip = EngineFixture::node6(3).public_ip;
  other.vtep_mac = *MacAddr::parse("0e:00:00:00:06:99");
  two_vteps.upsert_routes6 = {fx.route6_to(3), other};
  EXPECT_EQ(fx.engine().apply(two_vteps).code(), ErrorCode::kInvalidArgument);
  TableDelta missing;
  missing.remove_routes6 = {EngineFixture::node6(9).subnet};
  EXPECT_EQ(fx.engine().apply(missing).code(), ErrorCode::kNotFound);
  EXPECT_EQ(fx.engine().routes6().size(), 1u);
}

// The words of every refusal the IPv6 tables make, in full: users and the
// control plane's node status read them, and they must match the IPv4
// ones' (table_test.cc) but for the family.
TEST(Ipv6Tables, RefusalsSayExactlyWhatIsWrong) {
  EngineFixture fx({.ipv6 = true});
  fx.add_node6(2);
  const auto refusal = [&fx](const TableDelta& d) {
    const Status s = fx.engine().apply(d);
    EXPECT_EQ(fx.engine().routes6().size(), 2u) << "something was applied: " << s.message();
    return s.message();
  };
  const auto upsert = [&refusal](std::vector<Route6Spec> routes) {
    return refusal(TableDelta{.upsert_routes6 = std::move(routes)});
  };
  const std::string route4 = "route fd00:10:244:4::/64: ";
  Route6Spec r = fx.route6_to(4);
  r.vni = 7;
  EXPECT_EQ(upsert({r}), route4 + "vni: 7 differs from ours (1)");
  r = fx.route6_to(4);
  r.vtep_mac = *MacAddr::parse("01:00:5e:00:00:01");
  EXPECT_EQ(upsert({r}), route4 + "vtep_mac: 01:00:5e:00:00:01 is not a unicast MAC");
  r = fx.route6_to(4);
  r.backend = BackendType::kUdp;
  EXPECT_EQ(upsert({r}), route4 + "backend: udp node, but this node runs vxlan");
  r = fx.route6_to(4);
  r.public_ip = a6("ff02::1");
  EXPECT_EQ(upsert({r}), route4 + "public_ip: ff02::1 is not a global unicast address");
  r.public_ip = fx.self6().public_ip;
  EXPECT_EQ(upsert({r}), route4 + "public_ip: 2001:db8::13 is our own address");
  r = fx.route6_to(4);
  r.prefix = Ipv6Prefix{a6("::"), 0};
  EXPECT_EQ(upsert({r}), "route ::/0: prefix: a default route is not a podCIDR");
  r.prefix = Ipv6Prefix{a6("fd00:10:244:4::1"), 64};
  EXPECT_EQ(upsert({r}),
            "route fd00:10:244:4::1/64: prefix: host bits set (the network is "
            "fd00:10:244:4::/64)");
  r.prefix = Ipv6Prefix{a6("fd00:10:244:1:5::"), 80};
  EXPECT_EQ(upsert({r}),
            "route fd00:10:244:1:5::/80: prefix: overlaps our own IPv6 podCIDR "
            "fd00:10:244:1::/64");
  EXPECT_EQ(upsert({fx.route6_to(4), fx.route6_to(4)}), route4 + "given twice in one change");
  r = fx.route6_to(4);
  r.public_ip = EngineFixture::node6(2).public_ip;
  EXPECT_EQ(upsert({r}),
            "public_ip 2001:db8::14: already the VTEP of other routes with VtepMAC "
            "0e:00:00:00:06:02; change or remove those routes in the same change");
  Route6Spec other = fx.route6_to(5);
  other.public_ip = fx.route6_to(4).public_ip;
  EXPECT_EQ(upsert({fx.route6_to(4), other}),
            "route fd00:10:244:5::/64: public_ip: 2001:db8::16 is given with two different "
            "VTEPs in one change");
  EXPECT_EQ(refusal({.upsert_routes6 = {fx.route6_to(2)},
                     .remove_routes6 = {EngineFixture::node6(2).subnet}}),
            "route fd00:10:244:2::/64: both removed and added in one change");
  EXPECT_EQ(refusal({.remove_routes6 = {EngineFixture::node6(9).subnet}}),
            "route fd00:10:244:9::/64: no such route to remove");
  EXPECT_EQ(refusal({.set_neighbours6 = {{a6("2001:db9::1"), EngineFixture::kGatewayMac}}}),
            "neighbour 2001:db9::1: not on the IPv6 underlay subnet 2001:db8::/64");
  EXPECT_EQ(refusal({.set_neighbours6 = {{a6("2001:db8::99"), MacAddr{}}}}),
            "neighbour 2001:db8::99: mac: 00:00:00:00:00:00 is not a unicast MAC");
  EXPECT_EQ(refusal({.remove_neighbours6 = {a6("2001:db8::99")}}),
            "neighbour 2001:db8::99: no such static neighbour");

  EXPECT_EQ(fx.engine().set_local_subnet6(Ipv6Prefix{a6("fd00:10:244:2::"), 80}).message(),
            "local IPv6 subnet fd00:10:244:2::/80 overlaps the route of fd00:10:244:2::/64");
  EXPECT_EQ(fx.engine().set_local_subnet6(Ipv6Prefix{a6("fd00:10:244:7::1"), 64}).message(),
            "local IPv6 subnet fd00:10:244:7::1/64: not a podCIDR");
  EXPECT_EQ(fx.engine().local_subnet6(), fx.self6().subnet);
}

TEST(Ipv6Tables, WithoutAnIpv6UnderlayTheRefusalsNameTheMissingKey) {
  EngineFixture fx;
  TableDelta d;
  d.upsert_routes6 = {fx.route6_to(2)};
  EXPECT_EQ(fx.engine().apply(d).message(),
            "route fd00:10:244:2::/64: public_ip: this node has no IPv6 underlay address "
            "(underlay.ipv6_address), so it carries no IPv6 routes");
  TableDelta neighbour;
  neighbour.set_neighbours6 = {{a6("2001:db8::5"), EngineFixture::kGatewayMac}};
  EXPECT_EQ(fx.engine().apply(neighbour).message(),
            "neighbour 2001:db8::5: not on the IPv6 underlay subnet (underlay.ipv6_address unset)");
  EXPECT_EQ(fx.engine().set_local_subnet6(EngineFixture::node6(1).subnet).message(),
            "local IPv6 subnet fd00:10:244:1::/64: this node has no IPv6 underlay address "
            "(underlay.ipv6_address)");
}

TEST(Ipv6Tables, WithoutAnIpv6UnderlayAddressIpv6RoutesAreRefusedAndIpv6FramesAreNotIpv4) {
  EngineFixture fx;
  TableDelta d;
  d.upsert_routes6 = {fx.route6_to(2)};
  const Status s = fx.engine().apply(d);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("ipv6_address"), std::string::npos) << s.message();
  EXPECT_EQ(fx.engine().set_local_subnet6(EngineFixture::node6(1).subnet).code(),
            ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(fx.from_overlay({fx.pod_frame6(pod_of(2))}).empty());
  EXPECT_TRUE(fx.from_underlay({fx.vxlan6_from(2, pod_of(1))}).empty());
  EXPECT_EQ(fx.drops(DropReason::kNotIpv4), 2u);
}

TEST(Ipv6RoundTrip, OneEngineEncapsulatesTheOtherDelivers) {
  EngineFixture a({.self = 1, .ipv6 = true});
  EngineFixture b({.self = 2, .ipv6 = true});
  a.add_node6(2);
  b.add_node6(1);
  const auto sent = a.from_overlay({a.pod_frame6(b.pod_ip6(20), 4242, 700)});
  ASSERT_EQ(sent.size(), 1u);
  const auto arrived = b.from_underlay(sent);
  ASSERT_EQ(arrived.size(), 1u);
  Udp6Spec expect;
  expect.src_mac = b.self().vtep_mac;
  expect.dst_mac = EngineFixture::kOverlayMac;
  expect.src_ip = a.pod_ip6();
  expect.dst_ip = b.pod_ip6(20);
  expect.src_port = 4242;
  expect.hop_limit = 62;
  EXPECT_EQ(arrived[0], testing::udp6_frame(expect, 700)) << testing::hex(arrived[0]);
}

TEST(Ipv6DirectRouting, OnLinkPeersGetPlainL2BothWays) {
  EngineFixture fx({.direct_routing = true, .ipv6 = true});
  fx.add_node6(2);
  fx.add_node6(200);  // behind the gateway: VXLAN
  const Bytes pod = fx.pod_frame6(pod_of(2));
  const auto direct = fx.from_overlay({pod});
  ASSERT_EQ(direct.size(), 1u);
  Bytes expect = pod;
  put_at(expect, 0, EngineFixture::node6(2).underlay_mac.bytes);
  put_at(expect, 6, fx.self6().underlay_mac.bytes);
  expect[14 + 7] = 63;
  EXPECT_EQ(direct[0], expect) << testing::hex(direct[0]);
  EXPECT_EQ(fx.from_overlay({fx.pod_frame6(pod_of(200))})[0].size(), pod.size() + 70);
  // node 2's pods reach ours unencapsulated.
  Udp6Spec from_peer;
  from_peer.src_mac = EngineFixture::node6(2).underlay_mac;
  from_peer.dst_mac = fx.self6().underlay_mac;
  from_peer.src_ip = pod_of(2);
  from_peer.dst_ip = fx.pod_ip6(30);
  const auto in = fx.from_underlay({testing::udp6_frame(from_peer)});
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0][14 + 7], 63);
}

TEST(Ipv6Neighbours, SolicitationsAndAdvertisementsGoToTheControlSide) {
  EngineFixture fx({.ipv6 = true});
  // A solicitation for our address, to its solicited-node multicast group.
  Bytes ns = {0x33, 0x33, 0xff, 0,    0, 0x13, 0x02, 0, 0,  0,  0x0b,
              0x02, 0x86, 0xdd, 0x60, 0, 0,    0,    0, 32, 58, 255};
  const Ipv6Addr src = EngineFixture::node6(2).public_ip;
  const Ipv6Addr dst = a6("ff02::1:ff00:13");
  ns.insert(ns.end(), src.bytes.begin(), src.bytes.end());
  ns.insert(ns.end(), dst.bytes.begin(), dst.bytes.end());
  const Bytes icmp = {135, 0, 0, 0, 0, 0, 0, 0,    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,    0,
                      0,   0, 0, 0, 0, 0, 0, 0x13, 1,    1,    2,    0,    0, 0, 0x0b, 2};
  ns.insert(ns.end(), icmp.begin(), icmp.end());
  Bytes na = ns;
  na[54] = 136;
  const uint64_t before = fx.engine().stats().events.to_control;
  EXPECT_TRUE(fx.from_underlay({ns, na}).empty());
  // What the neighbour table makes of them (these carry no valid ICMPv6
  // checksum) is nd_test's; here: handed over, and freed.
  EXPECT_EQ(fx.engine().stats().events.to_control, before + 2);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

// Neighbour discovery in the engine's counters, as ARP's are (the Stats
// API, tartanctl stats, /metrics and telemetry walk these): a solicitation
// sent for an unresolved node, one of ours answered, an advertisement
// resolving the node, and a bad one dropped by its reason.
TEST(Ipv6Neighbours, NeighbourDiscoveryIsCountedInTheEngineStats) {
  EngineFixture fx({.ipv6 = true});
  fx.add_node6(3, /*static_neighbour=*/false);
  fx.poll();
  const auto n3 = EngineFixture::node6(3);
  EXPECT_GE(fx.take_underlay().size(), 1u) << "our solicitation for node 3";
  testing::NdSpec ns;
  ns.src_mac = n3.underlay_mac;
  ns.dst_mac = fx.self6().underlay_mac;
  ns.src_ip = n3.public_ip;
  ns.dst_ip = fx.self6().public_ip;
  ns.target = fx.self6().public_ip;
  testing::NdSpec na = ns;
  na.type = 136;
  na.flags = 0x60;  // solicited, override
  na.target = n3.public_ip;
  na.options = {testing::link_option(2, n3.underlay_mac)};
  testing::NdSpec far = ns;
  far.hop_limit = 64;  // not from this link
  fx.from_underlay({testing::nd_frame(ns), testing::nd_frame(na), testing::nd_frame(far)});
  const StatsSnapshot st = fx.engine().stats();
  EXPECT_GE(st.events.nd_solicits_sent, 1u);
  EXPECT_EQ(st.events.nd_solicits_answered, 1u);
  EXPECT_EQ(st.events.nd_adverts_received, 1u);
  EXPECT_EQ(st.events.nd_learned, 1u);
  EXPECT_EQ(st.drop_count(DropReason::kNdBadHopLimit), 1u);
  EXPECT_EQ(st.events.arp_requests_sent, 0u) << "IPv6 neighbours are not ARP's";
}

// An IPv6-only underlay (EnableIPv4 false, no underlay.address): IPv6
// tunnels both ways as ever; IPv4 routes and neighbours are refused naming
// the key, and no ARP is answered (not even for 0.0.0.0) or sent.
TEST(Ipv6Only, TunnelsWorkWithoutAnIpv4AddressAndNothingOfIpv4Does) {
  EngineFixture fx({.ipv6 = true, .ipv4 = false});
  fx.add_node6(2);
  EXPECT_EQ(fx.from_overlay({fx.pod_frame6(pod_of(2))}).size(), 1u);
  EXPECT_EQ(fx.from_underlay({fx.vxlan6_from(2, pod_of(1))}).size(), 1u);

  TableDelta routes;
  routes.upsert_routes = {fx.route_to(3)};
  Status s = fx.engine().apply(routes);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("no IPv4 underlay address (underlay.address)"), std::string::npos)
      << s.message();
  TableDelta neighbours;
  neighbours.set_neighbours = {
      {*Ipv4Addr::parse("192.0.2.1"), *MacAddr::parse("02:00:00:00:0c:01")}};
  s = fx.engine().apply(neighbours);
  EXPECT_EQ(s.message(),
            "neighbour 192.0.2.1: not on the underlay subnet (underlay.address unset)");

  const MacAddr stranger = *MacAddr::parse("02:00:00:00:0c:01");
  const MacAddr broadcast = *MacAddr::parse("ff:ff:ff:ff:ff:ff");
  EXPECT_TRUE(
      fx.from_underlay({testing::arp_frame(1, broadcast, stranger, *Ipv4Addr::parse("192.0.2.50"),
                                           MacAddr{}, Ipv4Addr{})})
          .empty());
  EXPECT_EQ(fx.drops(DropReason::kArpNotForUs), 1u);
  EXPECT_EQ(fx.engine().stats().events.arp_replies, 0u);
  EXPECT_EQ(fx.engine().stats().events.arp_requests_sent, 0u);

  // A VXLAN packet to 0.0.0.0, the IPv4 address we do not have, is not a
  // tunnel packet for us (it was taken for one from an unknown sender).
  testing::UdpSpec to_zero;
  to_zero.src_mac = EngineFixture::node(2).underlay_mac;
  to_zero.dst_mac = fx.self().underlay_mac;
  to_zero.src_ip = EngineFixture::node(2).public_ip;
  to_zero.src_port = 40000;
  to_zero.dst_port = 8472;
  EXPECT_TRUE(fx.from_underlay({testing::udp_frame(to_zero, testing::udp_frame(to_zero))}).empty());
  EXPECT_EQ(fx.drops(DropReason::kWrongDstIp), 1u);
  EXPECT_EQ(fx.drops(DropReason::kUnknownSender), 0u);
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

}  // namespace
}  // namespace tartan
