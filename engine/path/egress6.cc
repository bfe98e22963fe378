// Overlay -> underlay for IPv6 (flannel-v6): route the inner IPv6 packet
// and put the next hop's precomputed Ethernet/IPv6/UDP/VXLAN headers in
// front of it. Only IPv6 inner over IPv6 outer, as flannel-v6 carries it.
#include <rte_memcpy.h>
#include <rte_prefetch.h>

#include <optional>

#include "engine/backends/flow_hash.h"
#include "engine/backends/inner_checksum.h"
#include "engine/checksum.h"
#include "engine/path/icmp6.h"
#include "engine/path/ipv6_check.h"
#include "engine/path/worker.h"

namespace tartan {
namespace {

// The outer traffic class as Linux's ip6 tunnels set it
// (ip_tunnel_ecn_encap): DSCP 0, ECN copied from the inner packet with CE
// carried as ECT(0) (RFC 6040 normal mode).
inline uint8_t outer_traffic_class(uint8_t inner) {
  const uint8_t ecn = inner & 0x03;
  return ecn == 0x03 ? 0x02 : ecn;
}

template <bool UdpOffload>
std::array<Worker::EgressRewrite, 2> rewrites6_for() {
  return {&Worker::egress6_rewrite<false, UdpOffload>, &Worker::egress6_rewrite<true, UdpOffload>};
}

}  // namespace

std::array<Worker::EgressRewrite, 2> Worker::select_egress6(const DatapathContext& ctx) {
  // dataplane.udp_checksum does not apply: a UDP checksum over IPv6 is
  // mandatory (RFC 8200 8.1; Linux's vxlan sends one unless udp6zerocsumtx).
  return ctx.tx_udp_cksum_offload ? rewrites6_for<true>() : rewrites6_for<false>();
}

void Worker::egress6(uint16_t in_port, rte_mbuf** pkts, unsigned n) {
  std::array<rte_mbuf*, kMaxBurst> routed;
  std::array<const uint8_t*, kMaxBurst> dst;
  unsigned k = 0;
  for (unsigned i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    if (auto bad = check_ipv6(m, kEthLen)) {
      drop(m, *bad);
      continue;
    }
    dst[k] = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, kEthLen)->dst_addr;
    routed[k++] = m;
  }
  if (k == 0) return;
  std::array<uint32_t, kMaxBurst> hops;
  route6_lookup_bulk(ctx_.tables.routes6, dst.data(), hops.data(), k);
  std::array<const NextHop*, kMaxBurst> nhs;
  for (unsigned j = 0; j < k; ++j) {
    const NextHop* nh = ctx_.tables.next_hop(hops[j]);
    if (nh != nullptr) {
      rte_prefetch0(nh);
      rte_prefetch0(reinterpret_cast<const uint8_t*>(nh) + RTE_CACHE_LINE_SIZE);
      rte_prefetch0(reinterpret_cast<const uint8_t*>(nh) + 2 * RTE_CACHE_LINE_SIZE);
      rte_prefetch0(&peers_[nh->id]);
    }
    nhs[j] = nh;
  }
  for (unsigned j = 0; j < k; ++j) {
    if (nhs[j] != nullptr) ctx_.tables.adjacency->prefetch(nhs[j]->adjacency);
  }
  (this->*egress6_rewrite_[ctx_.ports[in_port].tartan_routes])(in_port, routed.data(), nhs.data(),
                                                               k);
}

template <bool RouteHere, bool UdpOffload>
void Worker::egress6_rewrite(uint16_t in_port, rte_mbuf** pkts, const NextHop* const* nhs,
                             unsigned k) {
  for (unsigned j = 0; j < k; ++j) {
    rte_mbuf* m = pkts[j];
    const NextHop* nh = nhs[j];
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, kEthLen);
    trace_route(m, nh, 0);
    if (nh == nullptr) [[unlikely]] {
      // A router without a route answers (RFC 4443 3.1). Behind a tap the
      // host routes, the host chose the tap, and the kernel's flannel-v6
      // device drops what it cannot send: so does tartan.
      if constexpr (RouteHere) {
        send_icmp6_error(m, in_port, kIcmp6DestUnreachable, kIcmp6NoRoute, 0, DropReason::kNoRoute);
      } else {
        drop(m, DropReason::kNoRoute);
      }
      continue;
    }
    if (RouteHere && ip->hop_limits <= 1) [[unlikely]] {
      send_icmp6_error(m, in_port, kIcmp6TimeExceeded, kIcmp6HopLimitExceeded, 0,
                       DropReason::kHopLimitExpired);
      continue;
    }
    if (nh->kind == NextHopKind::kLocal) {
      if constexpr (RouteHere) --ip->hop_limits;
      deliver_local6(m, *nh, false);
      continue;
    }
    // IPv6 routers never fragment (RFC 8200 5): the sender learns the MTU.
    if (kIpv6HeaderLen + uint32_t{rte_be_to_cpu_16(ip->payload_len)} > ctx_.overlay_mtu6)
        [[unlikely]] {
      send_icmp6_error(m, in_port, kIcmp6PacketTooBig, 0, ctx_.overlay_mtu6,
                       DropReason::kIpv6TooBig);
      continue;
    }
    if constexpr (RouteHere) --ip->hop_limits;  // no header checksum in IPv6
    if (!encapsulate6<UdpOffload>(m, *nh, ip)) [[unlikely]] {
      drop(m, DropReason::kTruncated);
      continue;
    }
  }
}

template <bool UdpOffload>
bool Worker::encapsulate6(rte_mbuf* m, const NextHop& nh, rte_ipv6_hdr* ip) {
  uint8_t dst_mac[6];
  const bool resolved = ctx_.tables.adjacency->lookup(nh.adjacency, dst_mac);
  switch (nh.kind) {
    case NextHopKind::kVxlan: {
      const uint16_t src_port = rte_cpu_to_be_16(
          linux_udp_src_port(inner_flow_hash6(ip, rte_pktmbuf_pkt_len(m) - kEthLen)));
      const uint8_t tc = outer_traffic_class(ipv6_traffic_class(ip));
      std::optional<uint16_t> inner;
      if constexpr (!UdpOffload) inner = inner_packet_sum6(m, ip);
      // The template covers the outer headers and the inner Ethernet
      // header, which replaces the one the frame arrived with.
      auto* h = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kVxlan6Overhead));
      if (h == nullptr) return false;
      rte_mov64(h, nh.header);
      rte_mov16(h + 64, nh.header + 64);
      std::memcpy(h + 80, nh.header + 80, kVxlan6Overhead + kEthLen - 80);
      if (resolved) std::memcpy(h, dst_mac, 6);
      auto* outer = reinterpret_cast<rte_ipv6_hdr*>(h + kEthLen);
      auto* udp = reinterpret_cast<rte_udp_hdr*>(h + kEthLen + kIpv6HeaderLen);
      const uint16_t udp_len_be = rte_cpu_to_be_16(
          static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - kEthLen - kIpv6HeaderLen));
      outer->vtc_flow = rte_cpu_to_be_32(6u << 28 | uint32_t{tc} << 20);
      outer->payload_len = udp_len_be;
      udp->src_port = src_port;
      udp->dgram_len = udp_len_be;
      if constexpr (UdpOffload) {
        m->ol_flags = RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM;
        udp->dgram_cksum = csum_fold(nh.phdr_sum + udp_len_be);  // the pseudo header's
      } else {
        m->ol_flags = 0;
        if (inner) {
          // The pseudo header's length and the UDP header's are the same field.
          const uint32_t sum = nh.udp_sum + src_port + 2 * uint32_t{udp_len_be} + *inner;
          const uint16_t c = static_cast<uint16_t>(~csum_fold(sum));
          udp->dgram_cksum = c == 0 ? 0xffff : c;  // a computed zero is sent as all ones
        } else {
          udp->dgram_cksum = 0;
          udp->dgram_cksum = rte_ipv6_udptcp_cksum_mbuf(m, outer, kEthLen + kIpv6HeaderLen);
        }
      }
      m->l2_len = kEthLen;
      m->l3_len = kIpv6HeaderLen;
      break;
    }
    case NextHopKind::kDirect: {
      auto* h = rte_pktmbuf_mtod(m, uint8_t*);
      rte_memcpy(h, nh.header, kEthLen);
      if (resolved) std::memcpy(h, dst_mac, 6);
      m->ol_flags = 0;
      break;
    }
    case NextHopKind::kUdp:
    case NextHopKind::kLocal:
      break;  // never here: no IPv6 udp next hop; local delivered before
  }
  if (trace_ != nullptr) [[unlikely]]
    trace_rewrite(m, nh, resolved, dst_mac);
  PeerCounters& peer = peers_[nh.id];
  peer.encap_packets.add(1);
  peer.encap_bytes.add(rte_pktmbuf_pkt_len(m));
  if (!resolved) [[unlikely]] {
    to_control(m, nh.adjacency);
  } else {
    tx_.push(nh.out_port, m);
  }
  return true;
}

bool Worker::icmp6_error_made(rte_mbuf* m, const Ipv6Addr* src, uint8_t type, uint8_t code,
                              uint32_t mtu, DropReason otherwise) {
  if (src == nullptr || !icmp6_error_allowed(m, kEthLen, type)) return dropped(m, otherwise);
  if (!icmp_allowed()) return dropped(m, DropReason::kIcmpRateLimited);
  make_icmp6_error(m, kEthLen, type, code, mtu, *src);
  trace(m, {TraceStep::kIcmpError, type, code, 6});
  counters_.events.icmp_errors.add(1);
  return true;
}

void Worker::send_icmp6_error(rte_mbuf* m, uint16_t in_port, uint8_t type, uint8_t code,
                              uint32_t mtu, DropReason otherwise) {
  // The source as send_icmp_error takes it: where tartan is the hop, our
  // IPv6 overlay address; behind a tap the host routes (where that address
  // is the host's own), the packet's destination, an address the host
  // routes into the tap, unless a multicast one (Packet Too Big may be
  // about a packet to a group).
  const Ipv6Addr* src = nullptr;
  Ipv6Addr destination;
  if (ctx_.ports[in_port].tartan_routes) {
    src = ctx_.overlay_address6->load(std::memory_order_acquire);
  } else {
    const uint8_t* dst = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, kEthLen)->dst_addr;
    std::memcpy(destination.bytes.data(), dst, 16);
    if (dst[0] != 0xff) src = &destination;
  }
  if (icmp6_error_made(m, src, type, code, mtu, otherwise)) tx_.push(in_port, m);
}

void Worker::send_icmp6_error_to_peer(rte_mbuf* m, uint8_t type, uint8_t code,
                                      DropReason otherwise) {
  // Back to the source's node, as the kernel answers a packet that came
  // through flannel-v6.<VNI>: through the tunnel, from our overlay address
  // (tartan routes the port the packet was for).
  const uint8_t* back_to = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, kEthLen)->src_addr;
  uint32_t hop;
  route6_lookup_bulk(ctx_.tables.routes6, &back_to, &hop, 1);
  const NextHop* nh = ctx_.tables.next_hop(hop);
  if (nh == nullptr || nh->kind == NextHopKind::kLocal) return drop(m, otherwise);
  const Ipv6Addr* ours = ctx_.overlay_address6->load(std::memory_order_acquire);
  if (!icmp6_error_made(m, ours, type, code, 0, otherwise)) return;
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, kEthLen);
  const bool sent =
      ctx_.tx_udp_cksum_offload ? encapsulate6<true>(m, *nh, ip) : encapsulate6<false>(m, *nh, ip);
  if (!sent) drop(m, DropReason::kTruncated);
}

void Worker::deliver_local6(rte_mbuf* m, const NextHop& nh, bool decrement) {
  if (decrement) {
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, kEthLen);
    if (ip->hop_limits <= 1) [[unlikely]] {
      return send_icmp6_error_to_peer(m, kIcmp6TimeExceeded, kIcmp6HopLimitExceeded,
                                      DropReason::kHopLimitExpired);
    }
    --ip->hop_limits;
  }
  // Local next hops are both families': their MACs only, the frame keeps
  // its IPv6 Ethernet type.
  rte_memcpy(rte_pktmbuf_mtod(m, uint8_t*), nh.header, 12);
  trace(m, {TraceStep::kRewrite, uint8_t(NextHopKind::kLocal), 0, 0, nh.out_port});
  // GRO merges IPv4 TCP only: what waits for it leaves first, so no flow
  // is reordered.
  if (ctx_.ports[nh.out_port].vnet_tap != nullptr && gro_count_ != 0) flush_gro();
  m->ol_flags = 0;
  tx_.push(nh.out_port, m);
}

}  // namespace tartan
