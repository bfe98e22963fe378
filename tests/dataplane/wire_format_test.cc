// Byte-exact VXLAN and udp-backend frames, compared with frames assembled
// field by field here (independently of the engine), and decoded by tshark.
#include <gtest/gtest.h>
#include <unistd.h>

#include <set>

#include "tests/support/engine_fixture.h"
#include "tests/support/pcap_file.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::EngineFixture;

// CRC32-C as the SSE4.2 crc32 instruction computes it (no pre/post
// inversion), byte by byte in memory order: an independent model of the
// flow hash tartan uses.
uint32_t crc32c(uint32_t crc, const uint8_t* data, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    crc ^= data[i];
    for (int b = 0; b < 8; ++b) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return crc;
}

// Linux udp_flow_src_port(): hash ^= hash << 16; ((u64)hash * (max - min) >> 32) + min.
uint16_t expected_src_port(const Bytes& inner_ip) {
  uint32_t h = crc32c(0x7a87a87a, &inner_ip[12], 4);  // source address
  h = crc32c(h, &inner_ip[16], 4);                    // destination address
  h = crc32c(h, &inner_ip[9], 1);                     // protocol
  h = crc32c(h, &inner_ip[20], 4);                    // ports
  h ^= h << 16;
  return static_cast<uint16_t>(((static_cast<uint64_t>(h) * (60999 - 32768)) >> 32) + 32768);
}

uint16_t be16_at(const Bytes& b, size_t at) {
  return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}

// What the overlay host receives from node 2's pod: the inner packet, one
// more hop along (sent with TTL 63), from our VTEP MAC to the host's MAC.
Bytes decapsulated_from_node2(const EngineFixture& fx) {
  testing::UdpSpec inner;
  inner.src_mac = fx.self().vtep_mac;
  inner.dst_mac = EngineFixture::kOverlayMac;
  inner.src_ip = *Ipv4Addr::parse("10.244.2.10");
  inner.dst_ip = fx.pod_ip();
  inner.ttl = 62;
  return testing::udp_frame(inner);
}

TEST(WireFormat, VxlanEncapsulationIsByteExact) {
  EngineFixture fx;
  fx.add_node(2);
  const Bytes pod = fx.pod_frame(*Ipv4Addr::parse("10.244.2.10"));
  const auto out = fx.from_overlay({pod});
  ASSERT_EQ(out.size(), 1u);

  // Inner frame: Ethernet rewritten to VTEP MACs, TTL decremented.
  testing::UdpSpec inner;
  inner.src_mac = fx.self().vtep_mac;
  inner.dst_mac = EngineFixture::node(2).vtep_mac;
  inner.src_ip = *Ipv4Addr::parse("10.244.1.10");
  inner.dst_ip = *Ipv4Addr::parse("10.244.2.10");
  inner.ttl = 63;
  const Bytes inner_frame = testing::udp_frame(inner);
  // Outer: as the Linux vxlan driver sends it for flannel.
  testing::UdpSpec outer;
  outer.src_mac = fx.self().underlay_mac;
  outer.dst_mac = EngineFixture::node(2).underlay_mac;
  outer.src_ip = fx.self().public_ip;
  outer.dst_ip = EngineFixture::node(2).public_ip;
  outer.ttl = 64;
  outer.id = be16_at(out[0], 18);  // the one field a sender picks freely
  outer.src_port = expected_src_port(testing::l3_of(pod));
  outer.dst_port = 8472;
  const Bytes expected =
      testing::udp_frame(outer, testing::concat(testing::vxlan_header(1), inner_frame));
  EXPECT_EQ(out[0], expected) << "got:\n"
                              << testing::hex(out[0]) << "\nwant:\n"
                              << testing::hex(expected);
  EXPECT_EQ(out[0].size(), 50u + pod.size());
}

TEST(WireFormat, VxlanSourcePortIsStablePerFlowAndSpreadsAcrossFlows) {
  EngineFixture fx;
  fx.add_node(2);
  std::set<uint16_t> ports;
  for (uint16_t flow = 0; flow < 64; ++flow) {
    const Bytes pod =
        fx.pod_frame(*Ipv4Addr::parse("10.244.2.10"), static_cast<uint16_t>(20000 + flow));
    const auto a = fx.from_overlay({pod});
    const auto b = fx.from_overlay({pod});
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    const uint16_t port = be16_at(a[0], 34);
    EXPECT_EQ(port, be16_at(b[0], 34)) << "flow " << flow << " changed its port";
    EXPECT_EQ(port, expected_src_port(testing::l3_of(pod)));
    EXPECT_GE(port, 32768);
    EXPECT_LE(port, 60998);
    ports.insert(port);
  }
  EXPECT_GE(ports.size(), 60u) << "64 flows should land on (nearly) 64 ports";
}

TEST(WireFormat, VxlanEcnIsCopiedToTheOuterHeaderAndCeBecomesEct0) {
  EngineFixture fx;
  fx.add_node(2);
  for (const auto& [inner_tos, outer_tos] : std::vector<std::pair<uint8_t, uint8_t>>{
           {0xb8, 0x00}, {0x01, 0x01}, {0x02, 0x02}, {0x03, 0x02}}) {
    testing::UdpSpec s;
    s.src_mac = EngineFixture::kPodMac;
    s.dst_mac = EngineFixture::kOverlayMac;
    s.dst_ip = *Ipv4Addr::parse("10.244.2.10");
    s.tos = inner_tos;
    const auto out = fx.from_overlay({testing::udp_frame(s)});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0][15], outer_tos) << "inner tos " << int(inner_tos);
    EXPECT_EQ(testing::internet_checksum(&out[0][14], 20), 0) << "outer IPv4 checksum";
  }
}

TEST(WireFormat, ZeroUdpChecksumWhenConfiguredOff) {
  EngineFixture fx({.udp_checksum = false});
  fx.add_node(2);
  const auto out = fx.from_overlay({fx.pod_frame(*Ipv4Addr::parse("10.244.2.10"))});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(be16_at(out[0], 40), 0);
}

TEST(WireFormat, VxlanDecapsulationIsByteExact) {
  EngineFixture fx;
  fx.add_node(2);
  const auto out = fx.from_underlay({fx.vxlan_from(2, *Ipv4Addr::parse("10.244.1.10"))});
  ASSERT_EQ(out.size(), 1u);
  const Bytes expected = decapsulated_from_node2(fx);
  EXPECT_EQ(out[0], expected) << "got:\n"
                              << testing::hex(out[0]) << "\nwant:\n"
                              << testing::hex(expected);
}

TEST(WireFormat, HostRoutedOverlayKeepsTtlAsFlannel1Does) {
  EngineFixture fx({.overlay_routing = OverlayRouting::kHost});
  fx.add_node(2);
  const auto out = fx.from_overlay({fx.pod_frame(*Ipv4Addr::parse("10.244.2.10"), 10000, 18, 64)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][50 + 14 + 8], 64) << "inner TTL";
  const auto in = fx.from_underlay({fx.vxlan_from(2, *Ipv4Addr::parse("10.244.1.10"))});
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0][14 + 8], 63) << "inner TTL as sent";
}

TEST(WireFormat, UdpBackendEncapsulationIsByteExact) {
  EngineFixture fx({.backend = BackendType::kUdp});
  fx.add_node(2);
  const Bytes pod = fx.pod_frame(*Ipv4Addr::parse("10.244.2.10"));
  const auto out = fx.from_overlay({pod});
  ASSERT_EQ(out.size(), 1u);
  testing::UdpSpec inner;
  inner.src_ip = *Ipv4Addr::parse("10.244.1.10");
  inner.dst_ip = *Ipv4Addr::parse("10.244.2.10");
  inner.ttl = 63;
  testing::UdpSpec outer;
  outer.src_mac = fx.self().underlay_mac;
  outer.dst_mac = EngineFixture::node(2).underlay_mac;
  outer.src_ip = fx.self().public_ip;
  outer.dst_ip = EngineFixture::node(2).public_ip;
  outer.id = be16_at(out[0], 18);
  outer.src_port = 8285;  // flannel's udp backend: from and to its configured port
  outer.dst_port = 8285;
  const Bytes expected = testing::udp_frame(outer, testing::l3_of(testing::udp_frame(inner)));
  EXPECT_EQ(out[0], expected) << "got:\n"
                              << testing::hex(out[0]) << "\nwant:\n"
                              << testing::hex(expected);
  EXPECT_EQ(out[0].size(), pod.size() - 14 + 42);
}

TEST(WireFormat, UdpBackendDecapsulationIsByteExact) {
  EngineFixture fx({.backend = BackendType::kUdp});
  fx.add_node(2);
  const auto out = fx.from_underlay({fx.udp_tunnel_from(2, *Ipv4Addr::parse("10.244.1.10"))});
  ASSERT_EQ(out.size(), 1u);
  const Bytes expected = decapsulated_from_node2(fx);
  EXPECT_EQ(out[0], expected) << "got:\n"
                              << testing::hex(out[0]) << "\nwant:\n"
                              << testing::hex(expected);
}

TEST(WireFormat, TsharkDecodesOurVxlanWithGoodChecksums) {
  EngineFixture fx;
  fx.add_node(2);
  fx.add_node(3);
  std::vector<Bytes> frames;
  for (int n = 2; n <= 3; ++n) {
    auto out = fx.from_overlay({fx.pod_frame(
        Ipv4Addr{(10u << 24) | (244u << 16) | (static_cast<uint32_t>(n) << 8) | 7}, 777, 200)});
    frames.insert(frames.end(), out.begin(), out.end());
  }
  ASSERT_EQ(frames.size(), 2u);
  // Negative control: one payload byte flipped must show as bad UDP
  // checksums (outer and inner), proving tshark really checks them.
  Bytes corrupted = frames[0];
  corrupted.back() ^= 0xff;
  frames.push_back(corrupted);
  const std::string path = "/tmp/tartan-wf9-" + std::to_string(getpid()) + ".pcap";
  testing::write_pcap(path, frames);
  const auto lines = testing::tshark_lines(path, {"-d", "udp.port==8472,vxlan",
                                                  "-o", "ip.check_checksum:TRUE",
                                                  "-o", "udp.check_checksum:TRUE",
                                                  "-T", "fields",
                                                  "-E", "separator=|",
                                                  "-E", "occurrence=a",
                                                  "-E", "aggregator=;",
                                                  "-e", "ip.src",
                                                  "-e", "ip.dst",
                                                  "-e", "ip.ttl",
                                                  "-e", "ip.flags.df",
                                                  "-e", "udp.dstport",
                                                  "-e", "vxlan.flags",
                                                  "-e", "vxlan.vni",
                                                  "-e", "eth.dst",
                                                  "-e", "ip.checksum.status",
                                                  "-e", "udp.checksum.status"});
  std::remove(path.c_str());
  ASSERT_EQ(lines.size(), 3u) << "tshark printed nothing; is it installed?";
  // Checksum status 1 is tshark's "Good", 0 "Bad"; VXLAN flags print as 16 bits.
  EXPECT_EQ(lines[0],
            "192.0.2.19;10.244.1.10|192.0.2.20;10.244.2.7|64;63|0;0|8472;5001|0x0800|1|"
            "02:00:00:00:0b:02;0e:00:00:00:00:02|1;1|1;1");
  EXPECT_EQ(lines[1],
            "192.0.2.19;10.244.1.10|192.0.2.21;10.244.3.7|64;63|0;0|8472;5001|0x0800|1|"
            "02:00:00:00:0b:03;0e:00:00:00:00:03|1;1|1;1");
  EXPECT_EQ(lines[2],
            "192.0.2.19;10.244.1.10|192.0.2.20;10.244.2.7|64;63|0;0|8472;5001|0x0800|1|"
            "02:00:00:00:0b:02;0e:00:00:00:00:02|1;1|0;0");
}

}  // namespace
}  // namespace tartan
