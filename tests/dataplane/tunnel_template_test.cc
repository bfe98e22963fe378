// The tunnel template ingress recognises the common packet by
// (engine/path/tunnel_template.h): every bit of a fixed field counts and
// no other bit does, for each backend. The fixed fields are listed here
// from RFC 791, 768 and 7348, not from the engine's code; the dataplane's
// drop-reason tests prove that what misses is then judged field by field.
#include <gtest/gtest.h>
#include <rte_byteorder.h>

#include <cstring>
#include <set>
#include <string>

#include "engine/path/tunnel_template.h"
#include "tests/support/packets.h"

namespace tartan {
namespace {

using testing::Bytes;

const MacAddr kOurMac = *MacAddr::parse("02:00:00:00:0b:01");
const MacAddr kOurVtepMac = *MacAddr::parse("0e:00:00:00:00:01");
const Ipv4Addr kOurIp = *Ipv4Addr::parse("192.0.2.19");

DatapathContext context(BackendType backend, uint16_t port) {
  DatapathContext ctx;
  ctx.backend = backend;
  std::memcpy(ctx.underlay_mac.addr_bytes, kOurMac.bytes.data(), 6);
  ctx.underlay_ip_be = kOurIp.be();
  ctx.tunnel_port_be = rte_cpu_to_be_16(port);
  ctx.vni_be = rte_cpu_to_be_32(1u << 8);
  std::memcpy(ctx.vtep_mac.addr_bytes, kOurVtepMac.bytes.data(), 6);
  return ctx;
}

testing::UdpSpec outer(uint16_t port) {
  testing::UdpSpec o;
  o.src_mac = *MacAddr::parse("02:00:00:00:0b:02");
  o.dst_mac = kOurMac;
  o.src_ip = *Ipv4Addr::parse("192.0.2.20");
  o.dst_ip = kOurIp;
  o.src_port = 40000;
  o.dst_port = port;
  return o;
}

testing::UdpSpec inner() {
  testing::UdpSpec i;
  i.src_mac = *MacAddr::parse("0e:00:00:00:00:02");
  i.dst_mac = kOurVtepMac;
  i.src_ip = *Ipv4Addr::parse("10.244.2.10");
  i.dst_ip = *Ipv4Addr::parse("10.244.1.10");
  return i;
}

Bytes vxlan_frame() {
  return testing::udp_frame(outer(8472),
                            testing::concat(testing::vxlan_header(1), testing::udp_frame(inner())));
}

Bytes udp_backend_frame() {
  return testing::udp_frame(outer(8285), testing::l3_of(testing::udp_frame(inner())));
}

// Byte offsets, with the bits of each that must have their value.
struct Fixed {
  size_t offset;
  uint8_t bits;
};

std::vector<Fixed> outer_fixed() {
  std::vector<Fixed> f;
  for (size_t i = 0; i < 6; ++i) f.push_back({i, 0xff});  // destination MAC
  f.push_back({12, 0xff});                                // EtherType
  f.push_back({13, 0xff});
  f.push_back({14, 0xff});  // version 4, IHL 5
  f.push_back({20, 0x3f});  // MF and the fragment offset (not DF, not the reserved bit)
  f.push_back({21, 0xff});
  f.push_back({23, 0xff});                                  // protocol
  for (size_t i = 30; i < 34; ++i) f.push_back({i, 0xff});  // destination address
  f.push_back({36, 0xff});                                  // UDP destination port
  f.push_back({37, 0xff});
  return f;
}

std::vector<Fixed> vxlan_fixed() {
  std::vector<Fixed> f = outer_fixed();
  for (size_t i = 42; i < 50; ++i) f.push_back({i, 0xff});  // flags word, VNI, reserved
  for (size_t i = 50; i < 56; ++i) f.push_back({i, 0xff});  // inner destination MAC
  f.push_back({62, 0xff});                                  // inner EtherType
  f.push_back({63, 0xff});
  return f;
}

// Flips each bit of the first 64 bytes in turn: the frame must miss
// exactly when the bit is fixed. Returns the bits that disagreed.
std::string disagreements(const TunnelTemplate& t, const Bytes& frame,
                          const std::vector<Fixed>& fixed) {
  std::string wrong;
  for (size_t byte = 0; byte < kTunnelTemplateLen; ++byte) {
    uint8_t fixed_bits = 0;
    for (const Fixed& f : fixed) {
      if (f.offset == byte) fixed_bits = f.bits;
    }
    for (int bit = 0; bit < 8; ++bit) {
      Bytes changed = frame;
      changed[byte] ^= static_cast<uint8_t>(1u << bit);
      const bool should_match = (fixed_bits & (1u << bit)) == 0;
      if (t.matches(changed.data()) != should_match)
        wrong += " byte " + std::to_string(byte) + " bit " + std::to_string(bit) + ";";
    }
  }
  return wrong;
}

// `frame` matches `t`, and each of its bits counts exactly when `fixed` says.
void expect_matches_on_exactly(const TunnelTemplate& t, const Bytes& frame,
                               const std::vector<Fixed>& fixed) {
  ASSERT_GE(frame.size(), kTunnelTemplateLen);
  EXPECT_TRUE(t.matches(frame.data()));
  EXPECT_EQ(disagreements(t, frame, fixed), "");
}

TEST(TunnelTemplate, VxlanMatchesOnExactlyTheFixedFieldsOfOurTunnelPackets) {
  expect_matches_on_exactly(TunnelTemplate(context(BackendType::kVxlan, 8472)), vxlan_frame(),
                            vxlan_fixed());
}

TEST(TunnelTemplate, UdpBackendMatchesOnTheOuterHeadersOnly) {
  const TunnelTemplate t(context(BackendType::kUdp, 8285));
  expect_matches_on_exactly(t, udp_backend_frame(), outer_fixed());
  // A VXLAN packet to the udp backend's port is its payload's business.
  EXPECT_FALSE(t.matches(vxlan_frame().data()));
}

TEST(TunnelTemplate, HostGwMatchesNothing) {
  const TunnelTemplate t(context(BackendType::kHostGw, 8472));
  EXPECT_FALSE(t.matches(vxlan_frame().data()));
  EXPECT_FALSE(t.matches(udp_backend_frame().data()));
}

}  // namespace
}  // namespace tartan
