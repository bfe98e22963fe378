// Overlay -> underlay: classify a burst into its IPv4 and IPv6 vectors,
// route each with one bulk lookup and put the next hop's precomputed
// headers in front of every packet; or, where tartan is the hop and the
// packet cannot go on, answer with an ICMP or ICMPv6 error. One template
// per stage over the address family (family.h).
#include <rte_cycles.h>
#include <rte_memcpy.h>
#include <rte_prefetch.h>

#include <type_traits>

#include "engine/neighbours/arp.h"
#include "engine/path/family.h"
#include "engine/path/ipv4_check.h"
#include "engine/path/ipv6_check.h"
#include "engine/path/worker.h"

namespace tartan {
namespace {

// A burst's packets fit wireguard_seal_either_family's bits.
static_assert(kMaxBurst <= 64);

template <class F, OuterChecksums C, EgressTunnel T = EgressTunnel::kEncapsulate>
std::array<Worker::EgressRewrite, 2> rewrites_for() {
  return {&Worker::egress_rewrite<F, false, C, T>, &Worker::egress_rewrite<F, true, C, T>};
}

// `pick.operator()<C>()` for family F's outer checksums on this port: the
// IPv4 header's and the UDP checksum's, each offloaded, in software or (UDP
// over IPv4, dataplane.udp_checksum off) zero. Over IPv6 a UDP checksum is
// mandatory (finish_outer_ipv6) and there is no header checksum.
template <class F, class Pick>
auto with_outer_checksums(const DatapathContext& ctx, Pick pick) {
  const bool offload = ctx.tx_udp_cksum_offload;
  if constexpr (std::is_same_v<F, Ipv6Family>) {
    return offload ? pick.template operator()<OuterChecksums{false, UdpChecksum::kOffload}>()
                   : pick.template operator()<OuterChecksums{false, UdpChecksum::kSoftware}>();
  } else {
    const bool ip = ctx.tx_ipv4_cksum_offload;
    const UdpChecksum udp = !ctx.udp_checksum ? UdpChecksum::kZero
                            : offload         ? UdpChecksum::kOffload
                                              : UdpChecksum::kSoftware;
    switch (udp) {
      case UdpChecksum::kZero:
        return ip ? pick.template operator()<OuterChecksums{true, UdpChecksum::kZero}>()
                  : pick.template operator()<OuterChecksums{false, UdpChecksum::kZero}>();
      case UdpChecksum::kOffload:
        return ip ? pick.template operator()<OuterChecksums{true, UdpChecksum::kOffload}>()
                  : pick.template operator()<OuterChecksums{false, UdpChecksum::kOffload}>();
      case UdpChecksum::kSoftware:
        break;
    }
    return ip ? pick.template operator()<OuterChecksums{true, UdpChecksum::kSoftware}>()
              : pick.template operator()<OuterChecksums{false, UdpChecksum::kSoftware}>();
  }
}

template <class F>
std::array<Worker::EgressRewrite, 2> select_rewrites(const DatapathContext& ctx) {
  // Where routes may cross families, the seal stages of each underlay
  // family (select_wireguard_seal) put the outer headers on; C is unused.
  if (ctx.cross_family_routes) {
    return rewrites_for<F, OuterChecksums{false, UdpChecksum::kSoftware},
                        EgressTunnel::kSealEitherFamily>();
  }
  if (ctx.backend == BackendType::kWireguard) {
    return with_outer_checksums<F>(ctx, []<OuterChecksums C>() {
      return rewrites_for<F, C, EgressTunnel::kSealSameFamily>();
    });
  }
  return with_outer_checksums<F>(ctx, []<OuterChecksums C>() { return rewrites_for<F, C>(); });
}

}  // namespace

template <>
std::array<Worker::EgressRewrite, 2> Worker::select_egress<Ipv4Family>(const DatapathContext& ctx) {
  return select_rewrites<Ipv4Family>(ctx);
}

template <>
std::array<Worker::EgressRewrite, 2> Worker::select_egress<Ipv6Family>(const DatapathContext& ctx) {
  return select_rewrites<Ipv6Family>(ctx);
}

template <class F>
Worker::WireguardSealStage Worker::select_wireguard_seal(const DatapathContext& ctx) {
  if (!ctx.cross_family_routes) return nullptr;
  return with_outer_checksums<F>(
      ctx, []<OuterChecksums C>() -> WireguardSealStage { return &Worker::wireguard_seal<F, C>; });
}
template Worker::WireguardSealStage Worker::select_wireguard_seal<Ipv4Family>(
    const DatapathContext&);
template Worker::WireguardSealStage Worker::select_wireguard_seal<Ipv6Family>(
    const DatapathContext&);

void Worker::egress(uint16_t in_port, rte_mbuf** pkts, uint16_t n) {
  std::array<uint32_t, kMaxBurst> dst;
  std::array<rte_mbuf*, kMaxBurst> routed;
  std::array<const uint8_t*, kMaxBurst> dst6;
  std::array<rte_mbuf*, kMaxBurst> routed6;
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
        if (auto bad = check_ipv6(m, kEthLen)) {
          drop(m, *bad);
          continue;
        }
        dst6[k6] = Ipv6Family::route_key(rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, kEthLen));
        routed6[k6++] = m;
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
      egress_routed<Ipv4Family>(in_port, routed.data(), dst.data(), k);
      k = 0;
      egress_gso(in_port, m);
      continue;
    }
    dst[k] = Ipv4Family::route_key(rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen));
    routed[k++] = m;
  }
  egress_routed<Ipv4Family>(in_port, routed.data(), dst.data(), k);
  egress_routed<Ipv6Family>(in_port, routed6.data(), dst6.data(), k6);
}

// Packets of family F whose headers checked, with their route keys: one
// bulk route lookup, then each one on its way. (`dst` is not const only
// so GCC 12 does not take the burst's unfilled tail for a read of
// uninitialised memory.)
template <class F>
void Worker::egress_routed(uint16_t in_port, rte_mbuf** routed, typename F::RouteKey* dst,
                           unsigned k) {
  if (k == 0) return;
  std::array<uint32_t, kMaxBurst> hops;
  F::route_bulk(ctx_.tables, dst, hops.data(), k);
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
      for (unsigned line = 0; line < F::kNextHopLines; ++line)
        rte_prefetch0(reinterpret_cast<const uint8_t*>(nh) + line * RTE_CACHE_LINE_SIZE);
    }
    nhs[j] = nh;
  }
  for (unsigned j = 0; j < k; ++j) {
    if (nhs[j] != nullptr) ctx_.tables.adjacency->prefetch(nhs[j]->adjacency);
  }
  (this->*stages_[F::kIndex].rewrite[ctx_.ports[in_port].tartan_routes])(in_port, routed,
                                                                         nhs.data(), k);
}

template <class F, bool RouteHere, OuterChecksums C, EgressTunnel T>
void Worker::egress_rewrite(uint16_t in_port, rte_mbuf** pkts, const NextHop* const* nhs,
                            unsigned k) {
  constexpr bool kWireguard = T != EgressTunnel::kEncapsulate;
  // The wireguard backend's packets wait to be sealed as one burst.
  [[maybe_unused]] std::array<WireguardSeal, kMaxBurst> sealing;
  [[maybe_unused]] unsigned s = 0;
  [[maybe_unused]] uint64_t over_ipv6 = 0;  // kSealEitherFamily: bit s, sealing[s]'s underlay
  [[maybe_unused]] const uint64_t now = kWireguard ? rte_rdtsc() : 0;
  for (unsigned j = 0; j < k; ++j) {
    rte_mbuf* m = pkts[j];
    const NextHop* nh = nhs[j];
    auto* ip = rte_pktmbuf_mtod_offset(m, typename F::Header*, kEthLen);
    trace_route(m, nh, F::traced_dst(ip, kEthLen), F::kRouteStep);
    if (nh == nullptr) [[unlikely]] {
      if (F::answers_no_route(ctx_, RouteHere)) {
        send_icmp_error<F>(m, in_port, F::kUnreachable, F::kNoRouteCode, 0, DropReason::kNoRoute);
      } else {
        drop(m, DropReason::kNoRoute);
      }
      continue;
    }
    // As a kernel router: Time Exceeded back to the sender.
    if (RouteHere && F::hops_left(ip) <= 1) [[unlikely]] {
      send_icmp_error<F>(m, in_port, F::kTimeExceeded, F::kTimeExceededCode, 0,
                         F::kHopLimitExpired);
      continue;
    }
    if (nh->kind == NextHopKind::kLocal) {
      if constexpr (RouteHere) F::decrement_hops(ip);
      deliver_local<F>(m, *nh, false);
      continue;
    }
    if (F::length(ip) > F::overlay_mtu(ctx_)) [[unlikely]] {
      if (F::answers_too_big(ip)) {
        send_icmp_error<F>(m, in_port, F::kTooBigType, F::kTooBigCode, F::overlay_mtu(ctx_),
                           F::kTooBig);
      } else {
        drop(m, F::kTooBig);
      }
      continue;
    }
    if constexpr (RouteHere) F::decrement_hops(ip);
    if constexpr (kWireguard) {
      if (wireguard_prepare<F>(m, *nh, ip, now, sealing[s])) {
        if constexpr (T == EgressTunnel::kSealEitherFamily) over_ipv6 |= uint64_t{nh->ipv6} << s;
        ++s;
      }
    } else if (!encapsulate<F, C>(m, *nh, ip)) [[unlikely]] {
      drop(m, DropReason::kTruncated);
      continue;
    }
  }
  if constexpr (kWireguard) {
    if (s == 0) return;  // each packet dropped, answered or delivered here
    if constexpr (T == EgressTunnel::kSealSameFamily) {
      wireguard_seal<F, C>(sealing.data(), s);
    } else {
      wireguard_seal_either_family(sealing.data(), s, over_ipv6);
    }
  }
}

template <class F, OuterChecksums C>
bool Worker::encapsulate(rte_mbuf* m, const NextHop& nh, typename F::Header* ip) {
  uint8_t* h;
  if (nh.kind == NextHopKind::kDirect) {
    h = rte_pktmbuf_mtod(m, uint8_t*);
    rte_memcpy(h, nh.header, kEthLen);
    m->ol_flags = 0;
  } else {
    h = F::template encapsulate<C>(m, nh, ip, ip_id_);
    if (h == nullptr) return false;
  }
  to_underlay(m, nh, h);
  return true;
}

void Worker::to_underlay(rte_mbuf* m, const NextHop& nh, uint8_t* h) {
  uint8_t dst_mac[6];
  const bool resolved = ctx_.tables.adjacency->lookup(nh.adjacency, dst_mac);
  if (resolved) std::memcpy(h, dst_mac, 6);
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
}

template <class F>
void Worker::deliver_local(rte_mbuf* m, const NextHop& nh, bool decrement) {
  if (decrement) {
    auto* ip = rte_pktmbuf_mtod_offset(m, typename F::Header*, kEthLen);
    if (F::hops_left(ip) <= 1) [[unlikely]] {
      return send_icmp_error_to_peer<F>(m, F::kTimeExceeded, F::kTimeExceededCode,
                                        F::kHopLimitExpired);
    }
    F::decrement_hops(ip);
  }
  // Local next hops are both families': their MACs, then the family's type
  // (what the udp backend decapsulated has no Ethernet header of its own).
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  rte_memcpy(eth, nh.header, 12);
  eth->ether_type = rte_cpu_to_be_16(F::kEtherType);
  trace(m, {TraceStep::kRewrite, uint8_t(NextHopKind::kLocal), 0, 0, nh.out_port});
  if (ctx_.ports[nh.out_port].vnet_tap != nullptr) {
    if constexpr (F::kGro) return stage_for_gro(nh.out_port, m);
    // What waits for GRO leaves first, so no flow is reordered.
    if (gro_count_ != 0) flush_gro();
  }
  m->ol_flags = 0;
  tx_.push(nh.out_port, m);
}
template void Worker::deliver_local<Ipv4Family>(rte_mbuf*, const NextHop&, bool);
template void Worker::deliver_local<Ipv6Family>(rte_mbuf*, const NextHop&, bool);

template <class F>
bool Worker::icmp_error_made(rte_mbuf* m, const std::optional<typename F::Address>& src,
                             uint8_t type, uint8_t code, uint32_t mtu, DropReason otherwise) {
  if (!src || !F::error_allowed(m, type)) return dropped(m, otherwise);
  if (!icmp_allowed()) return dropped(m, DropReason::kIcmpRateLimited);
  F::make_error(m, type, code, mtu, *src);
  trace(m, {TraceStep::kIcmpError, type, code, F::kIcmpTraceTag});
  counters_.events.icmp_errors.add(1);
  return true;
}

template <class F>
void Worker::send_icmp_error(rte_mbuf* m, uint16_t in_port, uint8_t type, uint8_t code,
                             uint32_t mtu, DropReason otherwise) {
  // Where tartan is the hop, from our overlay address. Where the host is (a
  // tap standing where flannel.1 does), that address is the host's own on
  // the tap: an error from it is a martian source to the host. The
  // packet's destination is an address the host routes into the tap, so
  // an error from there passes its martian and reverse-path checks.
  const std::optional<typename F::Address> src =
      ctx_.ports[in_port].tartan_routes
          ? F::overlay_address(ctx_)
          : F::destination(rte_pktmbuf_mtod_offset(m, const typename F::Header*, kEthLen));
  if (icmp_error_made<F>(m, src, type, code, mtu, otherwise)) tx_.push(in_port, m);
}

template <class F>
void Worker::send_icmp_error_to_peer(rte_mbuf* m, uint8_t type, uint8_t code,
                                     DropReason otherwise) {
  // Back to the source's node, as the kernel answers a packet that came
  // through its VXLAN device: through the tunnel, from our overlay address
  // (tartan routes the port the packet was for).
  typename F::RouteKey back_to =
      F::source_key(rte_pktmbuf_mtod_offset(m, const typename F::Header*, kEthLen));
  uint32_t hop;
  F::route_bulk(ctx_.tables, &back_to, &hop, 1);
  const NextHop* nh = ctx_.tables.next_hop(hop);
  if (nh == nullptr || nh->kind == NextHopKind::kLocal) return drop(m, otherwise);
  if (!icmp_error_made<F>(m, F::overlay_address(ctx_), type, code, 0, otherwise)) return;
  // The error takes the way a packet from a port tartan does not route
  // takes: no hop limit of ours to spend on it.
  (this->*stages_[F::kIndex].rewrite[false])(ctx_.underlay_port, &m, &nh, 1);
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
