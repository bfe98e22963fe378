// End-to-end paths inside one process: two engines in a round trip, the
// unencapsulated paths (host-gw, DirectRouting), the exception port and
// the telemetry commands.
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <functional>

#include "tests/support/engine_fixture.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::EngineFixture;

// Moves what `from` sent on its underlay into `to`'s underlay.
std::vector<Bytes> cross(EngineFixture& from, EngineFixture& to) {
  std::vector<Bytes> frames = from.take_underlay();
  return to.from_underlay(frames);
}

// Node 1's engine encapsulates, node 2's decapsulates, and back; `keys`
// gives the wireguard backend's engines their keypairs.
void round_trip(BackendType backend,
                const std::function<void(EngineFixture&, EngineFixture&)>& keys = {}) {
  EngineFixture a({.self = 1, .backend = backend});
  EngineFixture b({.self = 2, .backend = backend});
  a.add_node(2);
  b.add_node(1);
  if (keys) keys(a, b);
  ASSERT_EQ(a.overlay_port().inject(
                {testing::to_mbuf(a.pool(), a.pod_frame(b.pod_ip(20), 4242, 300, 64))}),
            1u);
  a.poll();
  const auto arrived = cross(a, b);
  ASSERT_EQ(arrived.size(), 1u);
  // Identical but for TTL (a hop at each end), the IPv4 checksum and the
  // Ethernet addresses of the last hop.
  testing::UdpSpec expect;
  expect.src_mac = b.self().vtep_mac;
  expect.dst_mac = EngineFixture::kOverlayMac;
  expect.src_ip = a.pod_ip();
  expect.dst_ip = b.pod_ip(20);
  expect.src_port = 4242;
  expect.ttl = 62;
  EXPECT_EQ(arrived[0], testing::udp_frame(expect, 300)) << testing::hex(arrived[0]);
  ASSERT_EQ(
      b.overlay_port().inject({testing::to_mbuf(b.pool(), b.pod_frame(a.pod_ip(), 5353, 40))}), 1u);
  b.poll();
  EXPECT_EQ(cross(b, a).size(), 1u);
}

TEST(RoundTrip, VxlanEncapsulatedByOneEngineArrivesAtTheOtherIntact) {
  round_trip(BackendType::kVxlan);
}

TEST(RoundTrip, UdpBackendEncapsulatedByOneEngineArrivesAtTheOtherIntact) {
  round_trip(BackendType::kUdp);
}

TEST(RoundTrip, WireguardSealedByOneEngineArrivesAtTheOtherIntact) {
  // One handshake's keypairs: A (node 1) initiated, B (node 2) responded,
  // so B sends once A's first packet confirmed its keypair.
  round_trip(BackendType::kWireguard, testing::add_wireguard_handshake);
}

TEST(DirectRouting, OnLinkPeersGetPlainL2AndOthersVxlan) {
  EngineFixture fx({.direct_routing = true});
  fx.add_node(2);
  fx.add_node(200);  // behind the gateway: still VXLAN
  const auto direct =
      fx.from_overlay({fx.pod_frame(*Ipv4Addr::parse("10.244.2.10"), 10000, 18, 64)});
  ASSERT_EQ(direct.size(), 1u);
  testing::UdpSpec expect;
  expect.src_mac = fx.self().underlay_mac;
  expect.dst_mac = EngineFixture::node(2).underlay_mac;
  expect.src_ip = fx.pod_ip();
  expect.dst_ip = *Ipv4Addr::parse("10.244.2.10");
  expect.ttl = 63;
  EXPECT_EQ(direct[0], testing::udp_frame(expect)) << testing::hex(direct[0]);
  const auto tunnelled = fx.from_overlay({fx.pod_frame(*Ipv4Addr::parse("10.244.200.10"))});
  ASSERT_EQ(tunnelled.size(), 1u);
  EXPECT_EQ(tunnelled[0].size(), direct[0].size() + 50);
  // An on-link peer's pods reach ours unencapsulated.
  testing::UdpSpec from_peer;
  from_peer.src_mac = EngineFixture::node(2).underlay_mac;
  from_peer.dst_mac = fx.self().underlay_mac;
  from_peer.src_ip = *Ipv4Addr::parse("10.244.2.10");
  from_peer.dst_ip = fx.pod_ip();
  const auto in = fx.from_underlay({testing::udp_frame(from_peer)});
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0][14 + 8], 63) << "TTL";
}

TEST(HostGw, RoutesArePlainL2AndNeedOnLinkPeers) {
  EngineFixture fx({.backend = BackendType::kHostGw});
  fx.add_node(2);
  const auto out = fx.from_overlay({fx.pod_frame(*Ipv4Addr::parse("10.244.2.10"))});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].size(), fx.pod_frame(*Ipv4Addr::parse("10.244.2.10")).size());
  RouteSpec far = fx.route_to(200);
  const Status s = fx.engine().apply({{far}, {}, {}, {}});
  EXPECT_EQ(s.message(),
            "route 10.244.200.0/24: public_ip: host-gw needs 198.51.100.200 on the underlay subnet "
            "192.0.2.0/24");
}

TEST(ExceptionPort, TrafficForTheHostGoesToTheKernelAndBack) {
  EngineFixture fx({.exception_port = true});
  testing::Ipv4Spec ping;
  ping.src_mac = EngineFixture::node(2).underlay_mac;
  ping.dst_mac = fx.self().underlay_mac;
  ping.src_ip = EngineFixture::node(2).public_ip;
  ping.dst_ip = fx.self().public_ip;
  ping.protocol = 1;
  const Bytes echo = testing::ipv4_frame(ping, Bytes{8, 0, 0xf7, 0xff, 0, 0, 0, 0});
  fx.from_underlay({echo});
  const auto to_kernel = fx.take_exception();
  ASSERT_EQ(to_kernel.size(), 1u);
  EXPECT_EQ(to_kernel[0], echo);
  EXPECT_EQ(fx.engine().stats().events.to_exception, 1u);
  EXPECT_EQ(fx.total_drops(), 0u);
}

// A client of DPDK's telemetry socket, as dpdk-telemetry.py is.
std::string telemetry(const std::string& command) {
  const std::string path = std::string(rte_eal_get_runtime_dir()) + "/dpdk_telemetry.v2";
  const int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "cannot connect to " + path;
  }
  char buf[65536];
  (void)read(fd, buf, sizeof buf);  // the greeting
  (void)write(fd, command.data(), command.size());
  const ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

TEST(Telemetry, TartanCommandsReportTheEnginesCounters) {
  EngineFixture fx;
  fx.add_node(2);
  fx.from_overlay({fx.pod_frame(*Ipv4Addr::parse("10.244.77.1"))});
  fx.from_overlay({fx.pod_frame(*Ipv4Addr::parse("10.244.2.10"))});
  EXPECT_NE(telemetry("/tartan/drops").find("\"no_route\":1,"), std::string::npos)
      << telemetry("/tartan/drops");
  const std::string ports = telemetry("/tartan/ports");
  EXPECT_NE(ports.find("\"overlay0\":{\"role\":\"overlay\",\"rx_packets\":2,"), std::string::npos)
      << ports;
  EXPECT_EQ(telemetry("/tartan/peers"),
            "{\"/tartan/"
            "peers\":{\"public_ip\":[\"192.0.2.20\"],\"encap_packets\":[1],\"encap_bytes\":[110],"
            "\"decap_packets\":[0],\"decap_bytes\":[0]}}");
}

}  // namespace
}  // namespace tartan
