// Underlay frames into the ingress classifier and VXLAN / udp-backend
// decapsulation of a real engine. The first input byte picks the engine
// (vxlan; vxlan with DirectRouting and an exception port; udp backend;
// dual-stack vxlan, whose underlay has an IPv6 address too and whose nodes
// are flannel-v6 peers as well), the rest is the frame. After each frame,
// besides the harness's books:
//   - tunnel traffic to our public IP (or IPv6) reaches the overlay only
//     from the public IP (or IPv6) of a node we route to (unknown senders
//     are dropped);
//   - what reaches the overlay is a well-formed IPv4 (or IPv6) packet for
//     our podCIDR (or IPv6 podCIDR), addressed to the overlay host;
//   - the underlay only ever gets ARP (answers for our public IP, requests
//     of our own), neighbour discovery from our IPv6 address (an
//     advertisement only in answer to a solicitation for it), or time
//     exceeded back to the node of a pod whose packet had no hop left; the
//     exception port the frame as it came or, when the frame was a node's
//     fragment, the whole packet it completed.
#include <algorithm>
#include <memory>

#include "tests/fuzz/frame_checks.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/packet_harness.h"

namespace tartan::fuzz {
namespace {

using testing::EngineFixture;

const Setup kSetups[] = {
    {"vxlan", {.backend = BackendType::kVxlan}},
    {"vxlan+DirectRouting",
     {.backend = BackendType::kVxlan, .direct_routing = true, .exception_port = true}},
    {"udp", {.backend = BackendType::kUdp}},
    {"vxlan dual stack", {.backend = BackendType::kVxlan, .ipv6 = true}},
};

PacketHarness& harness(size_t i) {
  static std::unique_ptr<PacketHarness> h[std::size(kSetups)];
  if (!h[i]) {
    testing::FixtureOptions o = kSetups[i].options;
    o.arp_retry_ms = 1000;  // timers out of the way of one input's pass
    // Nodes 2 and 3 share our subnet; 200 and 201 are behind the gateway.
    h[i] = std::make_unique<PacketHarness>(o, std::vector<int>{2, 3, 200, 201},
                                           std::vector<int>{2, 3});
  }
  return *h[i];
}

// A decapsulated (or, with DirectRouting, routed) IPv6 packet for the overlay.
void check_overlay6(PacketHarness& h, const Setup& setup, const Bytes& in, const Bytes& f) {
  const auto self6 = h.fixture().self6();
  const bool to_our_ip6 = is_ipv6(in) && in.size() >= 54 && ip6_at(in, 38) == self6.public_ip;
  const std::string why = ipv6_problem(f, 14);
  FUZZ_CHECK(why.empty(), std::string(setup.name) + ": to the overlay: " + why);
  FUZZ_CHECK(self6.subnet.contains(ip6_at(f, 38)),
             std::string(setup.name) + ": to the overlay for " + ip6_at(f, 38).str() +
                 ", outside our IPv6 podCIDR");
  FUZZ_CHECK(mac_at(f, 0) == EngineFixture::kOverlayMac,
             std::string(setup.name) + ": to the overlay for MAC " + mac_at(f, 0).str());
  FUZZ_CHECK(!to_our_ip6 || h.is_node6(ip6_at(in, 22)),
             std::string(setup.name) + ": tunnel packet from " + ip6_at(in, 22).str() +
                 ", which is no node's public IPv6, reached the overlay");
  FUZZ_CHECK(to_our_ip6 || setup.options.direct_routing,
             std::string(setup.name) +
                 ": a frame not addressed to our public IPv6 reached the "
                 "overlay");
}

// Neighbour discovery on the underlay: from our IPv6 address and MAC, valid,
// and an advertisement only in answer to a solicitation for our address.
void check_nd(PacketHarness& h, const Setup& setup, const Bytes& in, const Bytes& f) {
  const auto self6 = h.fixture().self6();
  std::string why = ipv6_problem(f, 14);
  if (why.empty()) why = upper_layer6_problem(f, 14);
  FUZZ_CHECK(why.empty(), std::string(setup.name) + ": IPv6 on the underlay: " + why);
  FUZZ_CHECK(f[20] == 58 && f[21] == 255 && f.size() >= 78 && (f[54] == 135 || f[54] == 136),
             std::string(setup.name) + ": the underlay got IPv6 that is no neighbour discovery");
  FUZZ_CHECK(ip6_at(f, 22) == self6.public_ip && mac_at(f, 6) == self6.underlay_mac,
             std::string(setup.name) + ": neighbour discovery speaks for " + ip6_at(f, 22).str());
  if (f[54] == 136) {
    FUZZ_CHECK(
        is_ipv6(in) && in.size() >= 78 && in[20] == 58 && in[54] == 135 &&
            ip6_at(in, 62) == self6.public_ip,
        std::string(setup.name) + ": an advertisement no solicitation for our IPv6 asked for");
  }
}

// Where a pod's IPv4 packet starts in an underlay frame: behind a tunnel's
// headers (VXLAN's with the inner Ethernet header, the udp backend's), or
// at once, as a DirectRouting peer sends it. A tunnel packet is to or from
// our public IP; a pod's own UDP to the tunnel's port is routed as it is.
size_t pod_packet_at(PacketHarness& h, const Setup& setup, const Bytes& f) {
  if (!is_ipv4(f) || f.size() < 42 || f[23] != 17) return 14;
  const auto ours = h.fixture().self().public_ip;
  if (ip_at(f, 26) != ours && ip_at(f, 30) != ours) return 14;
  const uint16_t port = be16(f, 36);
  if (setup.options.backend == BackendType::kVxlan && port == 8472) return 64;
  if (setup.options.backend == BackendType::kUdp && port == 8285) return 42;
  return 14;
}

// Where tartan routes the overlay port, a pod packet that arrives with no
// hop left is answered as a kernel router answers one that came in on
// eth0 or flannel.1: time exceeded in transit, from our overlay address,
// back to the source's node (through the tunnel, or directly to a
// DirectRouting peer). Whether `f` is that answer to `in`.
bool answers_expired_hop(PacketHarness& h, const Setup& setup, const Bytes& in, const Bytes& f) {
  const size_t i = pod_packet_at(h, setup, in), o = pod_packet_at(h, setup, f);
  if (in.size() < i + 20 || f.size() < o + 28 || (o == 14) != (i == 14)) return false;
  return in[i + 8] <= 1 && ipv4_problem(f, o).empty() && f[o + 9] == 1 && f[o + 20] == 11 &&
         f[o + 21] == 0 && icmp_problem(f, o + 20).empty() &&
         ip_at(f, o + 12) == h.fixture().self().subnet.addr &&
         ip_at(f, o + 16) == ip_at(in, i + 12);
}

// The same for flannel-v6: ICMPv6 time exceeded back through the IPv6 tunnel.
bool answers_expired_hop6(PacketHarness& h, const Bytes& in, const Bytes& f) {
  constexpr size_t kInner = 14 + 40 + 8 + 8 + 14;
  if (in.size() < kInner + 40 || f.size() < kInner + 48 || f[20] != 17 || be16(f, 56) != 8472)
    return false;
  return in[kInner + 7] <= 1 && ipv6_problem(f, kInner).empty() &&
         upper_layer6_problem(f, kInner).empty() && f[kInner + 6] == 58 && f[kInner + 40] == 3 &&
         f[kInner + 41] == 0 && ip6_at(f, kInner + 8) == h.fixture().self6().subnet.addr &&
         ip6_at(f, kInner + 24) == ip6_at(in, kInner + 8);
}

void check(PacketHarness& h, const Setup& setup, const Bytes& in, const Outputs& out) {
  const auto self = h.fixture().self();
  const bool ipv4_in = is_ipv4(in) && in.size() >= 34;
  const bool to_our_ip = ipv4_in && ip_at(in, 30) == self.public_ip;
  for (const Bytes& f : out.overlay) {
    if (is_ipv6(f)) {
      check_overlay6(h, setup, in, f);
      continue;
    }
    std::string why = ipv4_problem(f, 14);
    FUZZ_CHECK(why.empty(), std::string(setup.name) + ": to the overlay: " + why);
    FUZZ_CHECK(self.subnet.contains(ip_at(f, 30)),
               std::string(setup.name) + ": to the overlay for " + ip_at(f, 30).str() +
                   ", outside our podCIDR");
    FUZZ_CHECK(mac_at(f, 0) == EngineFixture::kOverlayMac,
               std::string(setup.name) + ": to the overlay for MAC " + mac_at(f, 0).str());
    // The security invariant: no tunnel traffic from strangers.
    FUZZ_CHECK(!to_our_ip || h.is_node(ip_at(in, 26)),
               std::string(setup.name) + ": tunnel packet from " + ip_at(in, 26).str() +
                   ", which is no node's public IP, reached the overlay");
    // Without DirectRouting, only tunnel packets reach the overlay.
    FUZZ_CHECK(to_our_ip || setup.options.direct_routing,
               std::string(setup.name) +
                   ": a frame not addressed to our public IP reached the "
                   "overlay");
  }
  for (const Bytes& f : out.underlay) {
    if (answers_expired_hop(h, setup, in, f)) continue;
    if (is_ipv6(f) && setup.options.ipv6) {
      if (!answers_expired_hop6(h, in, f)) check_nd(h, setup, in, f);
      continue;
    }
    FUZZ_CHECK(is_arp(f) && f.size() == 42,
               std::string(setup.name) + ": the underlay got a non-ARP frame from ingress");
    FUZZ_CHECK(ip_at(f, 28) == self.public_ip && mac_at(f, 22) == self.underlay_mac,
               std::string(setup.name) + ": ARP on the underlay speaks for " + ip_at(f, 28).str());
    if (be16(f, 20) == 2) {
      FUZZ_CHECK(
          is_arp(in) && in.size() >= 42 && be16(in, 20) == 1 && ip_at(in, 38) == self.public_ip,
          std::string(setup.name) + ": an ARP reply no request for our IP asked for");
    }
  }
  for (const Bytes& f : out.exception) {
    if (f.size() <= in.size() && std::equal(f.begin(), f.end(), in.begin())) continue;
    const bool node_fragment = ipv4_in && (be16(in, 20) & 0x3fff) != 0 && h.is_node(ip_at(in, 26));
    FUZZ_CHECK(node_fragment, std::string(setup.name) + ": the exception port got a changed frame");
    const std::string why = ipv4_problem(f, 14);
    FUZZ_CHECK(why.empty() && (be16(f, 20) & 0x3fff) == 0 && ip_at(f, 26) == ip_at(in, 26),
               std::string(setup.name) + ": a reassembled packet to the exception port: " + why);
  }
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
  PacketHarness& h = harness(which);
  const Outputs out = h.run(InPort::kUnderlay, input->frame);
  check(h, kSetups[which], input->frame, out);
  return 0;
}
