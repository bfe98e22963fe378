// Overlay -> underlay: route the inner IPv4 packet and put the next hop's
// precomputed headers in front of it.
#include <rte_memcpy.h>
#include <rte_prefetch.h>

#include <optional>

#include "engine/backends/flow_hash.h"
#include "engine/backends/inner_checksum.h"
#include "engine/checksum.h"
#include "engine/neighbours/arp.h"
#include "engine/path/icmp.h"
#include "engine/path/ipv4_check.h"
#include "engine/path/worker.h"

namespace tartan {
namespace {

// The outer ECN field as Linux's ip_tunnel_ecn_encap() sets it: copied from
// the inner header, CE carried as ECT(0) (RFC 6040 normal mode); DSCP 0.
inline uint8_t outer_tos(uint8_t inner_tos) {
  const uint8_t ecn = inner_tos & 0x03;
  return ecn == 0x03 ? 0x02 : ecn;
}

// Lengths, IP id, ECN and checksums of an outer IPv4/UDP header whose
// constant parts came from the template, the way `C` fixed at launch.
// `flow_port` is the UDP source port the flow hashed to (network order;
// zero where the template's is fixed, and summed in nh.udp_sum).
// `payload_sum`, when known, is the one's complement sum of everything
// after the template's bytes: the checksum then costs the same for any
// packet size.
template <OuterChecksums C>
inline void finish_outer(rte_mbuf* m, const NextHop& nh, rte_ipv4_hdr* ip, rte_udp_hdr* udp,
                         uint16_t ip_id, uint8_t tos, uint16_t flow_port,
                         std::optional<uint32_t> payload_sum) {
  const uint16_t ip_len = static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - kEthLen);
  const uint16_t ip_len_be = rte_cpu_to_be_16(ip_len);
  const uint16_t udp_len_be = rte_cpu_to_be_16(static_cast<uint16_t>(ip_len - kIpv4Len));
  ip->total_length = ip_len_be;
  ip->packet_id = rte_cpu_to_be_16(ip_id);
  ip->type_of_service = tos;
  udp->dgram_len = udp_len_be;
  uint64_t flags = 0;
  if constexpr (C.ip_offload) {
    flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    ip->hdr_checksum = 0;
  } else {
    // The template's sum plus the three fields that vary (RFC 1071 sums are
    // byte-order independent when every term is in network order).
    const uint32_t sum = nh.ip_sum + ip_len_be + ip->packet_id + rte_cpu_to_be_16(tos);
    ip->hdr_checksum = static_cast<uint16_t>(~csum_fold(sum));
  }
  if constexpr (C.udp == UdpChecksum::kZero) {
    udp->dgram_cksum = 0;  // allowed for IPv4 by RFC 7348
  } else if constexpr (C.udp == UdpChecksum::kOffload) {
    flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
    udp->dgram_cksum =
        csum_fold(nh.phdr_sum + udp_len_be);  // the pseudo header's, as the NIC wants
  } else if (payload_sum) {
    // The pseudo header's length and the UDP header's are the same field.
    const uint32_t sum = nh.udp_sum + flow_port + 2 * uint32_t{udp_len_be} + *payload_sum;
    const uint16_t c = static_cast<uint16_t>(~csum_fold(sum));
    udp->dgram_cksum = c == 0 ? 0xffff : c;  // a computed zero is sent as all ones
  } else {
    udp->dgram_cksum = 0;
    udp->dgram_cksum = rte_ipv4_udptcp_cksum_mbuf(m, ip, kEthLen + kIpv4Len);
  }
  m->ol_flags = flags;
  m->l2_len = kEthLen;
  m->l3_len = kIpv4Len;
}

// The inner packet's sum from its own checksums, where the outer UDP
// checksum is computed in software (finish_outer's `payload_sum`).
template <OuterChecksums C>
inline std::optional<uint16_t> payload_sum_for(const rte_mbuf* m, const rte_ipv4_hdr* ip) {
  if constexpr (C.udp == UdpChecksum::kSoftware) return inner_packet_sum(m, ip);
  return std::nullopt;
}

// The rewrite stage for packets from ports where tartan is the hop
// (`RouteHere`: TTL) or not, with the outer checksums made as `C` says.
template <bool RouteHere, OuterChecksums C>
constexpr Worker::EgressRewrite rewrite_for() {
  return &Worker::egress_rewrite<RouteHere, C>;
}

template <OuterChecksums C>
std::array<Worker::EgressRewrite, 2> rewrites_for() {
  return {rewrite_for<false, C>(), rewrite_for<true, C>()};
}

}  // namespace

std::array<Worker::EgressRewrite, 2> Worker::select_egress(const DatapathContext& ctx) {
  const bool ip = ctx.tx_ipv4_cksum_offload;
  const UdpChecksum udp = !ctx.udp_checksum          ? UdpChecksum::kZero
                          : ctx.tx_udp_cksum_offload ? UdpChecksum::kOffload
                                                     : UdpChecksum::kSoftware;
  switch (udp) {
    case UdpChecksum::kZero:
      return ip ? rewrites_for<OuterChecksums{true, UdpChecksum::kZero}>()
                : rewrites_for<OuterChecksums{false, UdpChecksum::kZero}>();
    case UdpChecksum::kOffload:
      return ip ? rewrites_for<OuterChecksums{true, UdpChecksum::kOffload}>()
                : rewrites_for<OuterChecksums{false, UdpChecksum::kOffload}>();
    case UdpChecksum::kSoftware:
      break;
  }
  return ip ? rewrites_for<OuterChecksums{true, UdpChecksum::kSoftware}>()
            : rewrites_for<OuterChecksums{false, UdpChecksum::kSoftware}>();
}

void Worker::egress(uint16_t in_port, rte_mbuf** pkts, uint16_t n) {
  std::array<uint32_t, kMaxBurst> dst;
  std::array<rte_mbuf*, kMaxBurst> routed;
  std::array<rte_mbuf*, kMaxBurst> ip6;  // the burst's IPv6 vector
  unsigned k = 0, k6 = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (i + 3 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 3], void*));
    rte_mbuf* m = pkts[i];
    if (rte_pktmbuf_data_len(m) < kEthLen) {
      drop(m, DropReason::kRunt);
      continue;
    }
    const uint16_t type = rte_pktmbuf_mtod(m, const rte_ether_hdr*)->ether_type;
    if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
      trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kArp)});
      egress_arp(in_port, m);
      continue;
    }
    if (type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
      if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6) && ctx_.ipv6) {
        trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kIpv6)});
        ip6[k6++] = m;
        continue;
      }
      trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kNotIpv4)});
      drop(m, DropReason::kNotIpv4);
      continue;
    }
    trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kIpv4)});
    if (auto bad = check_ipv4(m, kEthLen, true)) {
      drop(m, *bad);
      continue;
    }
    if (m->ol_flags & RTE_MBUF_F_RX_LRO) {
      trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kGsoPacket)});
      // What came before it leaves before its segments: no flow reordered.
      egress_routed(in_port, routed.data(), dst.data(), k);
      k = 0;
      egress_gso(in_port, m);
      continue;
    }
    dst[k] = rte_be_to_cpu_32(rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen)->dst_addr);
    routed[k++] = m;
  }
  egress_routed(in_port, routed.data(), dst.data(), k);
  if (k6 != 0) egress6(in_port, ip6.data(), k6);
}

// Packets whose IPv4 headers checked, with their destinations in host
// order: one bulk route lookup, then each one on its way. (`dst` is not
// const only so GCC 12 does not take the burst's unfilled tail for a read
// of uninitialised memory.)
void Worker::egress_routed(uint16_t in_port, rte_mbuf** routed, uint32_t* dst, unsigned k) {
  if (k == 0) return;
  std::array<uint32_t, kMaxBurst> hops;
  route_lookup_bulk(ctx_.tables.routes, dst, hops.data(), k);
  // With many remote nodes the next-hop slots, next hops, their neighbours
  // and per-peer counters miss the cache; issue every load of the burst
  // before using any so the misses overlap instead of queueing one by one.
  for (unsigned j = 0; j < k; ++j) {
    if (hops[j] == kNoRoute) continue;
    const uint32_t id = hops[j];
    rte_prefetch0(&ctx_.tables.next_hops[id]);
    rte_prefetch0(&peers_[id]);
  }
  std::array<const NextHop*, kMaxBurst> nhs;
  for (unsigned j = 0; j < k; ++j) {
    const NextHop* nh = ctx_.tables.next_hop(hops[j]);
    if (nh != nullptr) {
      rte_prefetch0(nh);
      rte_prefetch0(reinterpret_cast<const uint8_t*>(nh) + RTE_CACHE_LINE_SIZE);
    }
    nhs[j] = nh;
  }
  for (unsigned j = 0; j < k; ++j) {
    if (nhs[j] != nullptr) ctx_.tables.adjacency->prefetch(nhs[j]->adjacency);
  }
  (this->*egress_rewrite_[ctx_.ports[in_port].tartan_routes])(in_port, routed, nhs.data(), k);
}

template <bool RouteHere, OuterChecksums C>
void Worker::egress_rewrite(uint16_t in_port, rte_mbuf** pkts, const NextHop* const* nhs,
                            unsigned k) {
  for (unsigned j = 0; j < k; ++j) {
    rte_mbuf* m = pkts[j];
    const NextHop* nh = nhs[j];
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, kEthLen);
    trace_route(m, nh, ip->dst_addr);
    if (nh == nullptr) [[unlikely]] {
      // flannel's udp backend answers an unroutable destination with ICMP
      // net unreachable; the kernel's vxlan path has no route and drops.
      if (ctx_.backend == BackendType::kUdp) {
        send_icmp_error(m, in_port, kIcmpDestUnreachable, kIcmpNetUnreachable, 0,
                        DropReason::kNoRoute);
      } else {
        drop(m, DropReason::kNoRoute);
      }
      continue;
    }
    if (RouteHere && ip->time_to_live <= 1) [[unlikely]] {
      drop(m, DropReason::kTtlExpired);
      continue;
    }
    if (nh->kind == NextHopKind::kLocal) {
      if constexpr (RouteHere) decrement_ttl(ip);
      deliver_local(m, *nh, false);
      continue;
    }
    if (rte_be_to_cpu_16(ip->total_length) > ctx_.overlay_mtu) [[unlikely]] {
      if (ipv4_dont_fragment(ip)) {
        send_icmp_error(m, in_port, kIcmpDestUnreachable, kIcmpFragmentationNeeded,
                        ctx_.overlay_mtu, DropReason::kTooBig);
      } else {
        drop(m, DropReason::kTooBig);
      }
      continue;
    }
    if constexpr (RouteHere) decrement_ttl(ip);
    if (!encapsulate<C>(m, *nh, ip)) [[unlikely]] {
      drop(m, DropReason::kTruncated);
      continue;
    }
  }
}

template <OuterChecksums C>
bool Worker::encapsulate(rte_mbuf* m, const NextHop& nh, rte_ipv4_hdr* ip) {
  uint8_t dst_mac[6];
  const bool resolved = ctx_.tables.adjacency->lookup(nh.adjacency, dst_mac);
  switch (nh.kind) {
    case NextHopKind::kVxlan: {
      const uint16_t src_port = rte_cpu_to_be_16(
          linux_udp_src_port(inner_flow_hash(ip, rte_pktmbuf_pkt_len(m) - kEthLen)));
      const uint8_t tos = outer_tos(ip->type_of_service);
      const std::optional<uint16_t> inner = payload_sum_for<C>(m, ip);
      // The template covers the outer headers and the inner Ethernet header,
      // which replaces the one the frame arrived with.
      auto* h = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kVxlanOverhead));
      if (h == nullptr) return false;
      rte_mov64(h, nh.header);
      if (resolved) std::memcpy(h, dst_mac, 6);
      auto* udp = reinterpret_cast<rte_udp_hdr*>(h + kEthLen + kIpv4Len);
      udp->src_port = src_port;
      finish_outer<C>(m, nh, reinterpret_cast<rte_ipv4_hdr*>(h + kEthLen), udp, ip_id_++, tos,
                      src_port, inner);
      break;
    }
    case NextHopKind::kUdp: {
      const uint8_t tos = outer_tos(ip->type_of_service);
      const std::optional<uint16_t> inner = payload_sum_for<C>(m, ip);
      // The inner Ethernet header goes; the IPv4 packet is the UDP payload.
      auto* h = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kUdpTunnelHeaders - kEthLen));
      if (h == nullptr) return false;
      rte_memcpy(h, nh.header, kUdpTunnelHeaders);
      if (resolved) std::memcpy(h, dst_mac, 6);
      finish_outer<C>(m, nh, reinterpret_cast<rte_ipv4_hdr*>(h + kEthLen),
                      reinterpret_cast<rte_udp_hdr*>(h + kEthLen + kIpv4Len), ip_id_++, tos, 0,
                      inner);
      break;
    }
    case NextHopKind::kDirect: {
      auto* h = rte_pktmbuf_mtod(m, uint8_t*);
      rte_memcpy(h, nh.header, kEthLen);
      if (resolved) std::memcpy(h, dst_mac, 6);
      m->ol_flags = 0;
      break;
    }
    case NextHopKind::kLocal:
      break;  // never here: delivered before
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

void Worker::deliver_local(rte_mbuf* m, const NextHop& nh, bool decrement) {
  if (decrement) {
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, kEthLen);
    if (ip->time_to_live <= 1) return drop(m, DropReason::kTtlExpired);
    decrement_ttl(ip);
  }
  rte_memcpy(rte_pktmbuf_mtod(m, uint8_t*), nh.header, kEthLen);
  trace(m, {TraceStep::kRewrite, uint8_t(NextHopKind::kLocal), 0, 0, nh.out_port});
  if (ctx_.ports[nh.out_port].vnet_tap != nullptr) return stage_for_gro(nh.out_port, m);
  m->ol_flags = 0;
  tx_.push(nh.out_port, m);
}

void Worker::send_icmp_error(rte_mbuf* m, uint16_t in_port, uint8_t type, uint8_t code,
                             uint16_t mtu, DropReason otherwise) {
  // Where tartan is the hop, from our overlay address. Where the host is (a
  // tap standing where flannel.1 does), that address is the host's own on
  // the tap: an error from it is a martian source to the host. The
  // packet's destination is an address the host routes into the tap, so
  // an error from there passes its martian and reverse-path checks.
  const uint32_t src = ctx_.ports[in_port].tartan_routes
                           ? ctx_.overlay_address_be->load(std::memory_order_relaxed)
                           : rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen)->dst_addr;
  if (src == 0 || !icmp_error_allowed(m, kEthLen)) return drop(m, otherwise);
  if (!icmp_allowed()) return drop(m, DropReason::kIcmpRateLimited);
  make_icmp_error(m, kEthLen, type, code, mtu, Ipv4Addr::from_be(src));
  trace(m, {TraceStep::kIcmpError, type, code});
  counters_.events.icmp_errors.add(1);
  tx_.push(in_port, m);
}

void Worker::egress_arp(uint16_t in_port, rte_mbuf* m) {
  // Proxy ARP for the overlay's hosts: a remote podCIDR's address is "at"
  // the VTEP MAC flannel's permanent neighbour entry would name.
  const auto arp = parse_arp(m);
  if (!arp || arp->op != RTE_ARP_OP_REQUEST) return drop(m, DropReason::kArpNotForUs);
  const NextHop* nh = ctx_.tables.route(arp->target_ip.value);
  if (nh == nullptr || nh->kind == NextHopKind::kLocal) return drop(m, DropReason::kArpNotForUs);
  MacAddr answer = nh->vtep_mac;
  if (nh->kind != NextHopKind::kVxlan)
    std::memcpy(answer.bytes.data(), ctx_.vtep_mac.addr_bytes, 6);
  make_arp_reply(m, answer);
  if (trace_ != nullptr) [[unlikely]]
    trace_->note(index_, m, {TraceStep::kArpReply, 0, 0, arp->target_ip.be(), trace_mac(answer)});
  counters_.events.arp_replies.add(1);
  tx_.push(in_port, m);
}

}  // namespace tartan
