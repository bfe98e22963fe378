// Overlay frames into the egress path of a real engine: routing, VXLAN and
// udp-backend encapsulation, TTL, the overlay MTU with ICMP fragmentation
// needed / net unreachable, proxy ARP and hairpin delivery, and on a
// dual-stack engine the same for IPv6 (routes6, flannel-v6's VXLAN over
// IPv6, hop limit, the IPv6 overlay MTU). The first input byte picks the
// engine (vxlan, udp backend, dual-stack vxlan), the rest is the frame.
// After each frame, besides the harness's books, everything sent is
// checked:
//   - underlay: ARP requests or neighbour solicitations of our own, or a
//     tunnel packet from our public IP (IPv6) to a node's, within the
//     underlay MTU, with valid outer and inner headers and checksums,
//     carrying a packet for that node's podCIDR (IPv6 podCIDR);
//   - overlay: proxy ARP answered with the node's VTEP MAC, ICMP errors
//     from our overlay address with valid checksums, ICMPv6 errors back
//     to the offender, or hairpin delivery within our podCIDR.
#include <algorithm>
#include <memory>

#include "tests/fuzz/frame_checks.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/packet_harness.h"

namespace tartan::fuzz {
namespace {

using testing::EngineFixture;

constexpr size_t kUnderlayMtu = 1500;
constexpr size_t kVxlanMtu = 1450, kUdpMtu = 1472;

const Setup kSetups[] = {
    {"vxlan", {.backend = BackendType::kVxlan}},
    {"udp", {.backend = BackendType::kUdp}},
    {"vxlan dual stack", {.backend = BackendType::kVxlan, .ipv6 = true}},
};

PacketHarness& harness(size_t i) {
  static std::unique_ptr<PacketHarness> h[std::size(kSetups)];
  if (!h[i]) {
    testing::FixtureOptions o = kSetups[i].options;
    o.arp_retry_ms = 1000;
    o.icmp_rate_per_s = 1000000;  // every ICMP error due is sent (and checked)
    // Node 2 is resolved, 3 waits for ARP, 200 and 201 are behind the gateway.
    h[i] =
        std::make_unique<PacketHarness>(o, std::vector<int>{2, 3, 200, 201}, std::vector<int>{2});
  }
  return *h[i];
}

// The engine sums the outer UDP checksum from the inner packet's own
// checksums, as Linux's local checksum offload does (engine/inner_checksum.h):
// an unfragmented inner UDP, TCP or ICMP packet whose checksum is wrong gets
// a wrong outer one, and the receiver drops it a layer earlier. Whether the
// inner packet at `l3` is one.
bool inner_checksum_wrong(const Bytes& f, size_t l3) {
  if ((be16(f, l3 + 6) & 0x3fff) != 0) return false;  // a fragment is summed byte by byte
  const size_t l4 = l3 + size_t{f[l3] & 0x0fu} * 4;
  if (f.size() < l4 + 8) return false;
  switch (f[l3 + 9]) {
    case 17:
      return be16(f, l4 + 6) != 0 && !udp_problem(f, l3, l4).empty();
    case 6: {
      const size_t len = f.size() - l4;
      const uint32_t pseudo = be16(f, l3 + 12) + be16(f, l3 + 14) + be16(f, l3 + 16) +
                              be16(f, l3 + 18) + 6u + static_cast<uint32_t>(len);
      return testing::internet_checksum(&f[l4], len, pseudo) != 0;
    }
    case 1:
      return !icmp_problem(f, l4).empty();
    default:
      return false;
  }
}

// The node a tunnel packet went to, checked against what the engine knows.
int node_of(PacketHarness& h, Ipv4Addr public_ip) {
  for (int n : h.nodes()) {
    if (EngineFixture::node(n).public_ip == public_ip) return n;
  }
  return 0;
}

void check_tunnel(PacketHarness& h, BackendType backend, const Bytes& f) {
  const auto self = h.fixture().self();
  std::string why = ipv4_problem(f, 14);
  FUZZ_CHECK(why.empty(), "outer IPv4: " + why);
  FUZZ_CHECK(f.size() <= 14 + kUnderlayMtu,
             "a " + std::to_string(f.size()) + "-byte frame exceeds the underlay MTU");
  FUZZ_CHECK(mac_at(f, 6) == self.underlay_mac && ip_at(f, 26) == self.public_ip,
             "tunnel packet not from our underlay MAC and public IP");
  const int n = node_of(h, ip_at(f, 30));
  FUZZ_CHECK(n != 0, "tunnel packet to " + ip_at(f, 30).str() + ", which is no node's");
  const auto node = EngineFixture::node(n);
  const MacAddr next = n >= 200 ? EngineFixture::kGatewayMac : node.underlay_mac;
  FUZZ_CHECK(mac_at(f, 0) == next, "tunnel packet to " + mac_at(f, 0).str() + " for node " +
                                       std::to_string(n) + ", not its next hop " + next.str());
  FUZZ_CHECK(f[23] == 17, "outer protocol " + std::to_string(f[23]));
  size_t inner_l3 = 0;
  if (backend == BackendType::kVxlan) {
    FUZZ_CHECK(be16(f, 36) == 8472 && be16(f, 34) >= 32768 && be16(f, 34) <= 60999,
               "VXLAN ports " + std::to_string(be16(f, 34)) + " -> " + std::to_string(be16(f, 36)));
    FUZZ_CHECK(be32(f, 42) == 0x08000000 && be32(f, 46) == (1u << 8), "VXLAN flags or VNI");
    FUZZ_CHECK(
        mac_at(f, 50) == node.vtep_mac && mac_at(f, 56) == self.vtep_mac && be16(f, 62) == 0x0800,
        "inner Ethernet header is not from our VTEP MAC to the node's");
    inner_l3 = 64;
    FUZZ_CHECK(f.size() - inner_l3 <= kVxlanMtu, "inner packet over the overlay MTU");
  } else {
    FUZZ_CHECK(be16(f, 34) == 8285 && be16(f, 36) == 8285, "udp backend ports");
    inner_l3 = 42;
    FUZZ_CHECK(f.size() - inner_l3 <= kUdpMtu, "inner packet over the overlay MTU");
  }
  why = ipv4_problem(f, inner_l3);
  FUZZ_CHECK(why.empty(), "inner IPv4: " + why);
  why = udp_problem(f, 14, 34);
  FUZZ_CHECK(why.empty() || (why == kBadUdpChecksum && inner_checksum_wrong(f, inner_l3)),
             "outer UDP: " + why);
  FUZZ_CHECK(node.subnet.contains(ip_at(f, inner_l3 + 16)),
             "inner destination " + ip_at(f, inner_l3 + 16).str() + " is not node " +
                 std::to_string(n) + "'s podCIDR");
}

// The same about an inner IPv6 packet at `l3`: UDP (with a checksum), TCP
// and ICMPv6 are summed from their own checksums (inner_packet_sum6).
bool inner_checksum6_wrong(const Bytes& f, size_t l3) {
  const uint8_t proto = f[l3 + 6];
  if (proto == 17 && (f.size() < l3 + 48 || be16(f, l3 + 46) == 0)) return false;
  return (proto == 17 || proto == 6 || proto == 58) && !upper_layer6_problem(f, l3).empty();
}

// The node whose public IPv6 a flannel-v6 tunnel packet went to.
int node6_of(PacketHarness& h, const Ipv6Addr& public_ip) {
  for (int n : h.nodes()) {
    if (EngineFixture::node6(n).public_ip == public_ip) return n;
  }
  return 0;
}

// flannel-v6's VXLAN over IPv6: outer Ethernet 14, IPv6 40, UDP 8, VXLAN 8,
// inner Ethernet 14, then the inner IPv6 packet at 84.
void check_tunnel6(PacketHarness& h, const Bytes& f) {
  const auto self6 = h.fixture().self6();
  std::string why = ipv6_problem(f, 14);
  FUZZ_CHECK(why.empty(), "outer IPv6: " + why);
  FUZZ_CHECK(f.size() <= 14 + kUnderlayMtu && f.size() >= 84 + 40,
             "a " + std::to_string(f.size()) + "-byte IPv6 tunnel frame");
  FUZZ_CHECK(mac_at(f, 6) == self6.underlay_mac && ip6_at(f, 22) == self6.public_ip,
             "IPv6 tunnel packet not from our underlay MAC and public IPv6");
  const int n = node6_of(h, ip6_at(f, 38));
  FUZZ_CHECK(n != 0, "IPv6 tunnel packet to " + ip6_at(f, 38).str() + ", which is no node's");
  const auto node = EngineFixture::node6(n);
  const MacAddr next = n >= 200 ? EngineFixture::kGatewayMac : node.underlay_mac;
  FUZZ_CHECK(mac_at(f, 0) == next, "IPv6 tunnel packet to " + mac_at(f, 0).str() + " for node " +
                                       std::to_string(n) + ", not its next hop " + next.str());
  FUZZ_CHECK(f[20] == 17 && f[21] == 64,
             "outer next header " + std::to_string(f[20]) + ", hop limit " + std::to_string(f[21]));
  FUZZ_CHECK((be32(f, 14) & 0x0fffffff) >> 20 <= 3 && (be32(f, 14) & 0xfffff) == 0,
             "outer traffic class other than ECN bits, or a flow label, as Linux's vxlan sends");
  FUZZ_CHECK(be16(f, 56) == 8472 && be16(f, 54) >= 32768 && be16(f, 54) <= 60999,
             "VXLAN ports " + std::to_string(be16(f, 54)) + " -> " + std::to_string(be16(f, 56)));
  FUZZ_CHECK(be32(f, 62) == 0x08000000 && be32(f, 66) == (1u << 8), "VXLAN flags or VNI");
  FUZZ_CHECK(
      mac_at(f, 70) == node.vtep_mac && mac_at(f, 76) == self6.vtep_mac && be16(f, 82) == 0x86dd,
      "inner Ethernet header is not from our IPv6 VTEP MAC to the node's");
  why = ipv6_problem(f, 84);
  FUZZ_CHECK(why.empty(), "inner IPv6: " + why);
  why = upper_layer6_problem(f, 14);
  FUZZ_CHECK(why.empty() || (why == kBadUdpChecksum && inner_checksum6_wrong(f, 84)),
             "outer UDP: " + why);
  FUZZ_CHECK(node.subnet.contains(ip6_at(f, 84 + 24)),
             "inner destination " + ip6_at(f, 84 + 24).str() + " is not node " + std::to_string(n) +
                 "'s IPv6 podCIDR");
}

// Where tartan routes, a packet that arrives with no hop left is answered
// with time exceeded in transit, as a kernel router does, whatever its
// destination: even one in our own podCIDR is never delivered.
bool hop_expired(const Bytes& in) {
  if (is_ipv6(in)) return in.size() >= 54 && in[21] <= 1;
  return in.size() >= 34 && in[22] <= 1;
}

bool time_exceeded_in_transit(const Bytes& f) {
  if (is_ipv6(f)) return f.size() >= 56 && f[20] == 58 && f[54] == 3 && f[55] == 0;
  return f.size() >= 36 && f[23] == 1 && f[34] == 11 && f[35] == 0;
}

bool answered_expired_hop(const Bytes& in, const Bytes& f) {
  return hop_expired(in) && time_exceeded_in_transit(f);
}

// IPv6 back to the overlay: hairpin delivery within our IPv6 podCIDR, or an
// ICMPv6 error (RFC 4443: destination unreachable, packet too big, time
// exceeded, parameter problem) back to the offender, within 1280 bytes.
void check_overlay6(PacketHarness& h, const Bytes& in, const Bytes& f) {
  const auto self6 = h.fixture().self6();
  std::string why = ipv6_problem(f, 14);
  FUZZ_CHECK(why.empty(), "IPv6 to the overlay: " + why);
  if (is_ipv6(in) && in.size() >= 54 && self6.subnet.contains(ip6_at(in, 38)) &&
      !answered_expired_hop(in, f)) {
    FUZZ_CHECK(ip6_at(f, 38) == ip6_at(in, 38) && mac_at(f, 0) == EngineFixture::kOverlayMac,
               "IPv6 hairpin delivery changed the destination");
    return;
  }
  why = upper_layer6_problem(f, 14);
  FUZZ_CHECK(why.empty() && f[20] == 58 && f.size() >= 62 && f[54] >= 1 && f[54] <= 4,
             "the overlay got back IPv6 for " + ip6_at(f, 38).str() +
                 " that is no valid ICMPv6 error: " + why);
  FUZZ_CHECK(f.size() - 14 <= 1280, "an ICMPv6 error over the IPv6 minimum MTU");
  FUZZ_CHECK(in.size() >= 54 && ip6_at(f, 38) == ip6_at(in, 22),
             "ICMPv6 error not sent back to the offender's source");
}

void check_overlay(PacketHarness& h, BackendType backend, const Bytes& in, const Bytes& f) {
  const auto self = h.fixture().self();
  if (is_arp(f)) {
    FUZZ_CHECK(f.size() == 42 && be16(f, 20) == 2, "ARP on the overlay that is not a reply");
    const int n = [&] {
      for (int i : h.nodes())
        if (EngineFixture::node(i).subnet.contains(ip_at(f, 28))) return i;
      return 0;
    }();
    FUZZ_CHECK(n != 0, "proxy ARP for " + ip_at(f, 28).str() + ", in no node's podCIDR");
    const MacAddr answer =
        backend == BackendType::kVxlan ? EngineFixture::node(n).vtep_mac : self.vtep_mac;
    FUZZ_CHECK(mac_at(f, 22) == answer,
               "proxy ARP answered " + mac_at(f, 22).str() + " instead of " + answer.str());
    return;
  }
  std::string why = ipv4_problem(f, 14);
  FUZZ_CHECK(why.empty(), "to the overlay: " + why);
  // Packets for our own podCIDR are delivered back (hairpin); anything
  // else the overlay gets back is an ICMP error about the frame.
  if (in.size() >= 34 && self.subnet.contains(ip_at(in, 30)) && !answered_expired_hop(in, f)) {
    FUZZ_CHECK(ip_at(f, 30) == ip_at(in, 30) && mac_at(f, 0) == EngineFixture::kOverlayMac,
               "hairpin delivery changed the destination");
    return;
  }
  FUZZ_CHECK(f[23] == 1 && ip_at(f, 26) == self.subnet.addr,
             "the overlay got back a packet for " + ip_at(f, 30).str() +
                 " that is no ICMP error from our overlay address");
  why = icmp_problem(f, 34);
  FUZZ_CHECK(why.empty(), "ICMP error: " + why);
  FUZZ_CHECK(f[34] == 3 || answered_expired_hop(in, f),
             "ICMP type " + std::to_string(f[34]) + " code " + std::to_string(f[35]) +
                 " is neither destination unreachable nor time exceeded for a packet that "
                 "arrived with no hop left");
  FUZZ_CHECK(ip_at(f, 30) == ip_at(in, 26), "ICMP error not sent back to the offender's source");
}

}  // namespace
}  // namespace tartan::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tartan::fuzz::init_eal();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tartan::fuzz;
  const auto input = packet_input(data, size);
  if (!input) return -1;
  const size_t which = input->selector % std::size(kSetups);
  const tartan::BackendType backend = kSetups[which].options.backend;
  PacketHarness& h = harness(which);
  const Bytes& in = input->frame;
  const Outputs out = h.run(InPort::kOverlay, in);
  for (const Bytes& f : out.underlay) {
    if (is_arp(f)) {
      FUZZ_CHECK(f.size() == 42 && be16(f, 20) == 1 && ip_at(f, 28) == h.fixture().self().public_ip,
                 "ARP on the underlay that is not a request of ours");
      continue;
    }
    if (!is_ipv6(f)) {
      check_tunnel(h, backend, f);
    } else if (f.size() >= 55 && f[20] == 58 && f[54] == 135) {
      FUZZ_CHECK(
          ip6_at(f, 22) == h.fixture().self6().public_ip && upper_layer6_problem(f, 14).empty(),
          "a neighbour solicitation on the underlay that is not a valid one of ours");
    } else {
      check_tunnel6(h, f);
    }
  }
  for (const Bytes& f : out.overlay) {
    if (is_ipv6(f)) {
      check_overlay6(h, in, f);
    } else {
      check_overlay(h, backend, in, f);
    }
  }
  FUZZ_CHECK(out.exception.empty(), "egress sent to the exception port");
  return 0;
}
