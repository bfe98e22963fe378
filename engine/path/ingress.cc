// Underlay -> overlay: classify a burst into its IPv4 and IPv6 tunnel
// packets; accept them only from known nodes (one bulk sender lookup per
// family), for our VNI and the family's VTEP MAC; strip the outer headers
// and deliver the inner packet to the overlay port that owns its
// destination. One template per stage over the address family (family.h).
#include <rte_cycles.h>
#include <rte_hash.h>
#include <rte_prefetch.h>

#include <optional>

#include "engine/backends/tunnel_checksum.h"
#include "engine/neighbours/arp.h"
#include "engine/path/family.h"
#include "engine/path/ipv4_check.h"
#include "engine/path/probe.h"
#include "engine/path/tunnel_template.h"
#include "engine/path/worker.h"

namespace tartan {
namespace {

inline bool is_multicast(const rte_ether_addr& a) {
  return (a.addr_bytes[0] & 1) != 0;
}

// The inner Ethernet header of decapsulated VXLAN, as the kernel checks it:
// to the family's VTEP MAC (flannel.<VNI> or flannel-v6.<VNI>), carrying
// the same family (each device carries its own).
template <class F>
std::optional<DropReason> check_inner_ethernet(const rte_ether_hdr* inner,
                                               const DatapathContext& ctx) {
  if (!rte_is_same_ether_addr(&inner->dst_addr, &F::vtep_mac(ctx)))
    return DropReason::kNotOurVtepMac;
  if (inner->ether_type != rte_cpu_to_be_16(F::kEtherType)) return F::kInnerNotOurs;
  return std::nullopt;
}

// The common tunnel packet, checked in one go: its fixed fields match the
// worker's template, its outer IPv4 header checksum is good and its
// lengths agree. Returns its UDP length, having trimmed any Ethernet
// padding; nullopt, having changed nothing, for the field-by-field path,
// which names what is wrong (or, for a multicast frame or one with IPv4
// options, accepts it).
inline std::optional<uint16_t> common_tunnel_packet(rte_mbuf* m, const TunnelTemplate& tunnel) {
  if (rte_pktmbuf_data_len(m) < kTunnelTemplateLen ||
      !tunnel.matches(rte_pktmbuf_mtod(m, const uint8_t*))) {
    return std::nullopt;
  }
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen);
  if (!ipv4_checksum_ok(m, ip, kIpv4Len, true)) return std::nullopt;
  const auto* udp = reinterpret_cast<const rte_udp_hdr*>(ip + 1);
  const uint32_t end = kEthLen + uint32_t{rte_be_to_cpu_16(ip->total_length)};
  const uint16_t udp_len = rte_be_to_cpu_16(udp->dgram_len);
  const uint32_t pkt_len = rte_pktmbuf_pkt_len(m);
  if (end > pkt_len || udp_len < kUdpLen || kEthLen + kIpv4Len + uint32_t{udp_len} > end)
    return std::nullopt;
  if (pkt_len > end) rte_pktmbuf_trim(m, static_cast<uint16_t>(pkt_len - end));
  return udp_len;
}

// The sender table's data is the sender's next-hop id.
inline uint32_t sender_id(const void* data) {
  return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data));
}

}  // namespace

void Worker::ingress(rte_mbuf** pkts, uint16_t n) {
  std::array<TunnelPacket, kMaxBurst> tunnel;
  std::array<uint32_t, kMaxBurst> src;
  std::array<const void*, kMaxBurst> keys;
  std::array<TunnelPacket, kMaxBurst> tunnel6;
  std::array<const void*, kMaxBurst> keys6;
  unsigned k = 0, k6 = 0;
  // A tunnel packet whose outer headers checked, queued for the bulk sender
  // lookup. The key is copied out: the trace reports it after the lookup.
  const auto to_sender_lookup = [&](rte_mbuf* m, uint16_t l4, uint16_t udp_len) {
    trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kTunnel)});
    src[k] = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen)->src_addr;
    keys[k] = &src[k];
    tunnel[k++] = {m, l4, udp_len};
  };
  for (uint16_t i = 0; i < n; ++i) {
    // Both of the frame's first cache lines: decapsulation reads the inner
    // headers from byte 64 (IPv4's) or 84 (IPv6's), and flannel-v6's
    // template spans 96 bytes.
    if (i + 3 < n) {
      const auto* ahead = rte_pktmbuf_mtod(pkts[i + 3], const uint8_t*);
      rte_prefetch0(ahead);
      rte_prefetch0(ahead + RTE_CACHE_LINE_SIZE);
    }
    rte_mbuf* m = pkts[i];
    if (ctx_.hw_decap && (m->ol_flags & RTE_MBUF_F_RX_FDIR_ID)) {
      trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kOffloadedDecap)});
      ingress_offloaded(m);
      continue;
    }
    if (const auto udp_len = common_tunnel_packet(m, tunnel_template_)) {
      trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kIpv4)});
      to_sender_lookup(m, kEthLen + kIpv4Len, *udp_len);
      continue;
    }
    if (rte_pktmbuf_data_len(m) < kEthLen) {
      drop(m, DropReason::kRunt);
      continue;
    }
    const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
      trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kArp)});
      if (!handed_to_slow_path(m)) underlay_arp(m);
      continue;
    }
    if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
      if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6) && ctx_.ipv6) {
        trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kIpv6)});
        if (const auto udp_len = tunnel6_packet(m)) {
          // The key is the packet's own source address: nothing changes it
          // before the lookup.
          keys6[k6] = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, kEthLen)->src_addr;
          tunnel6[k6++] = {m, kEthLen + kIpv6HeaderLen, *udp_len};
        }
        continue;
      }
      trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kNotIpv4)});
      underlay_exception(m, DropReason::kNotIpv4);
      continue;
    }
    trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kIpv4)});
    if (!rte_is_same_ether_addr(&eth->dst_addr, &ctx_.underlay_mac) &&
        !is_multicast(eth->dst_addr)) {
      drop(m, DropReason::kNotOurMac);
      continue;
    }
    if (auto bad = check_ipv4(m, kEthLen, true)) {
      drop(m, *bad);
      continue;
    }
    const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen);
    // 0.0.0.0 is never a destination (RFC 1122), nor our address on an
    // IPv6-only underlay, where underlay_ip_be is 0.
    if (ip->dst_addr != ctx_.underlay_ip_be || ip->dst_addr == 0) {
      // host-gw and DirectRouting peers send pod traffic unencapsulated.
      if (ctx_.backend == BackendType::kHostGw || ctx_.direct_routing) {
        const NextHop* nh = ctx_.tables.route(rte_be_to_cpu_32(ip->dst_addr));
        if (nh != nullptr && nh->kind == NextHopKind::kLocal) {
          trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kUnencapsulated)});
          trace_route(m, nh, ip->dst_addr);
          deliver_from_peer<Ipv4Family>(m, *nh);
          continue;
        }
      }
      trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kNotForUs)});
      underlay_exception(m, DropReason::kWrongDstIp);
      continue;
    }
    if (ipv4_is_fragment(ip)) {
      // A node's UDP is put together here (tunnel packets a router on the
      // way fragmented); anything else is the host's, as before.
      trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kOuterFragment)});
      if (ip->next_proto_id != IPPROTO_UDP || !known_sender(ip->src_addr)) {
        underlay_exception(m, DropReason::kOuterFragment);
        continue;
      }
      rte_mbuf* whole = reassembly_->add(m, rte_rdtsc(), counters_);
      // Held, refused, or folded into another fragment's packet: this
      // fragment's trace ends; only the one that goes on is followed.
      if (whole != m) trace_end(m, {TraceStep::kReassembly, 0});
      trace(whole, {TraceStep::kReassembly, 1});
      m = whole;
      if (m == nullptr) continue;
      ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen);
    }
    if (ip->next_proto_id != IPPROTO_UDP) {
      trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kNotForUs)});
      underlay_exception(m, DropReason::kNotTunnel);
      continue;
    }
    const uint16_t ihl = ipv4_header_len(ip);
    const uint16_t l4 = kEthLen + ihl;
    if (rte_pktmbuf_data_len(m) < l4 + kUdpLen) {
      drop(m, DropReason::kTruncated);
      continue;
    }
    const auto* udp = rte_pktmbuf_mtod_offset(m, const rte_udp_hdr*, l4);
    if (udp->dst_port != ctx_.tunnel_port_be) {
      trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kNotForUs)});
      underlay_exception(m, DropReason::kWrongDstPort);
      continue;
    }
    const uint16_t udp_len = rte_be_to_cpu_16(udp->dgram_len);
    if (udp_len < kUdpLen || l4 + udp_len > rte_pktmbuf_pkt_len(m)) {
      drop(m, DropReason::kTruncated);
      continue;
    }
    to_sender_lookup(m, l4, udp_len);
  }
  decap_tunnel_packets<Ipv6Family>(tunnel6.data(), keys6.data(), k6);
  decap_tunnel_packets<Ipv4Family>(tunnel.data(), keys.data(), k);
}

// flannel and the kernel accept tunnel packets from anyone; tartan only
// from the public IPs of nodes it has routes for. With many nodes the
// sender table and per-peer counters miss the cache: one bulk lookup and
// prefetches overlap those misses across the burst.
template <class F>
void Worker::decap_tunnel_packets(const TunnelPacket* tunnel, const void** keys, unsigned k) {
  if (k == 0) return;
  std::array<void*, kMaxBurst> senders;
  uint64_t known = 0;
  rte_hash_lookup_bulk_data(F::senders(ctx_.tables), keys, k, &known, senders.data());
  for (unsigned j = 0; j < k; ++j) {
    if (known & (uint64_t{1} << j)) rte_prefetch0(&peers_[sender_id(senders[j])]);
  }
  if (trace_ != nullptr) [[unlikely]] {
    for (unsigned j = 0; j < k; ++j) {
      const bool is_known = (known & (uint64_t{1} << j)) != 0;
      trace_->note(index_, tunnel[j].m,
                   F::sender_event(is_known, keys[j], is_known ? sender_id(senders[j]) : 0));
    }
  }
  (this->*stages_[F::kIndex].decap)(tunnel, senders.data(), known, k);
}

template <class F, BackendType B, bool RxVerdict>
void Worker::decap_stage(const TunnelPacket* tunnel, void* const* senders, uint64_t known,
                         unsigned k) {
  // Decapsulated packets gather into one vector for one bulk route lookup.
  std::array<rte_mbuf*, kMaxBurst> inner;
  std::array<uint32_t, kMaxBurst> inner_sender;
  unsigned d = 0;
  for (unsigned j = 0; j < k; ++j) {
    if ((known & (uint64_t{1} << j)) == 0) {
      drop(tunnel[j].m, DropReason::kUnknownSender);
      continue;
    }
    if (decapsulate<F, B, RxVerdict>(tunnel[j])) {
      inner[d] = tunnel[j].m;
      inner_sender[d++] = sender_id(senders[j]);
    }
  }
  deliver_decapped<F>(inner.data(), inner_sender.data(), d);
}

template <>
Worker::DecapStage Worker::select_decap<Ipv4Family>(const DatapathContext& ctx) {
  using F = Ipv4Family;
  if (ctx.backend == BackendType::kVxlan) {
    return ctx.rx_udp_cksum_offload ? &Worker::decap_stage<F, BackendType::kVxlan, true>
                                    : &Worker::decap_stage<F, BackendType::kVxlan, false>;
  }
  if (ctx.backend == BackendType::kWireguard) {
    return ctx.rx_udp_cksum_offload ? &Worker::wireguard_stage<F, true>
                                    : &Worker::wireguard_stage<F, false>;
  }
  // host-gw has no tunnel senders: nothing of its reaches the stage.
  return ctx.rx_udp_cksum_offload ? &Worker::decap_stage<F, BackendType::kUdp, true>
                                  : &Worker::decap_stage<F, BackendType::kUdp, false>;
}

template <>
Worker::DecapStage Worker::select_decap<Ipv6Family>(const DatapathContext& ctx) {
  // flannel-v6 is VXLAN, or wireguard: flannel-wg-v6 in Mode separate,
  // flannel-wg's IPv6 side in the one-device modes.
  using F = Ipv6Family;
  if (ctx.backend == BackendType::kWireguard) {
    return ctx.rx_udp_cksum_offload ? &Worker::wireguard_stage<F, true>
                                    : &Worker::wireguard_stage<F, false>;
  }
  return ctx.rx_udp_cksum_offload ? &Worker::decap_stage<F, BackendType::kVxlan, true>
                                  : &Worker::decap_stage<F, BackendType::kVxlan, false>;
}

bool Worker::known_sender(uint32_t src_be) const {
  return rte_hash_lookup(ctx_.tables.senders, &src_be) >= 0;
}

// A tunnel packet from a known sender, its outer headers checked up to UDP.
template <class F, BackendType B, bool RxVerdict>
bool Worker::decapsulate(const TunnelPacket& t) {
  rte_mbuf* m = t.m;
  const uint16_t l4 = t.l4;
  const uint16_t udp_len = t.udp_len;
  const uint64_t verdict = RxVerdict ? rx_outer_udp_verdict(m) : RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN;
  if constexpr (B == BackendType::kVxlan) {
    if (udp_len < kUdpLen + kVxlanLen + kEthLen ||
        rte_pktmbuf_data_len(m) < l4 + kUdpLen + kVxlanLen + kEthLen) {
      return dropped(m, DropReason::kTruncated);
    }
    if constexpr (!F::kZeroUdpChecksumOk) {
      if (rte_pktmbuf_mtod_offset(m, const rte_udp_hdr*, l4)->dgram_cksum == 0)
        return dropped(m, DropReason::kUdp6ZeroChecksum);
    }
    const uint16_t inner_eth = l4 + kUdpLen + kVxlanLen;
    const bool inner_ours =
        rte_pktmbuf_mtod_offset(m, const rte_ether_hdr*, inner_eth)->ether_type ==
        rte_cpu_to_be_16(F::kEtherType);
    if (!tunnel_checksums_ok<typename F::Header>(m, l4, udp_len,
                                                 inner_ours ? inner_eth + kEthLen : 0, verdict))
      return dropped(m, DropReason::kBadUdpChecksum);
    const auto* vx = rte_pktmbuf_mtod_offset(m, const rte_vxlan_hdr*, l4 + kUdpLen);
    // As the kernel: the flags word must be exactly the I flag and the
    // reserved byte after the VNI zero.
    if (vx->vx_flags != rte_cpu_to_be_32(kVxlanFlagsWord) ||
        (vx->vx_vni & rte_cpu_to_be_32(0xff)) != 0) {
      return dropped(m, DropReason::kBadVxlanFlags);
    }
    trace(m, {TraceStep::kVni, 0, 0, rte_be_to_cpu_32(vx->vx_vni) >> 8});
    if (vx->vx_vni != ctx_.vni_be) return dropped(m, DropReason::kBadVni);
    const auto* inner = reinterpret_cast<const rte_ether_hdr*>(vx + 1);
    if (auto bad = check_inner_ethernet<F>(inner, ctx_)) return dropped(m, *bad);
    rte_pktmbuf_adj(m, inner_eth);  // the inner Ethernet frame remains
    trace(m, {TraceStep::kDecap, uint8_t(TraceDecap::kVxlan)});
  } else {
    if (udp_len < kUdpLen + kIpv4Len) return dropped(m, DropReason::kTruncated);
    if (!tunnel_checksums_ok<typename F::Header>(m, l4, udp_len, l4 + kUdpLen, verdict))
      return dropped(m, DropReason::kBadUdpChecksum);
    // Keep 14 bytes in front of the inner IPv4 packet for its new Ethernet
    // header.
    rte_pktmbuf_adj(m, l4 - kEthLen + kUdpLen);
    trace(m, {TraceStep::kDecap, uint8_t(TraceDecap::kUdp)});
  }
  if (auto bad = F::check_inner(m)) return dropped(m, *bad);
  return true;
}

// What the NIC decapsulated (flow_offload.h): the mark is the next hop of
// the sender its rule admitted; only the inner frame is left to check.
void Worker::ingress_offloaded(rte_mbuf* m) {
  const uint32_t id = m->hash.fdir.hi;
  const NextHop* nh = id < ctx_.next_hop_capacity
                          ? ctx_.tables.next_hops[id].load(std::memory_order_acquire)
                          : nullptr;
  // A node's rule outlives its route by the time it takes to destroy it:
  // what it marks meanwhile is from a sender we no longer know.
  trace(m, {TraceStep::kSender, nh != nullptr && nh->kind == NextHopKind::kVxlan, 0, 0, id});
  if (nh == nullptr || nh->kind != NextHopKind::kVxlan) return drop(m, DropReason::kUnknownSender);
  if (rte_pktmbuf_data_len(m) < kEthLen) return drop(m, DropReason::kTruncated);
  if (auto bad = check_inner_ethernet<Ipv4Family>(rte_pktmbuf_mtod(m, const rte_ether_hdr*), ctx_))
    return drop(m, *bad);
  if (auto bad = check_ipv4(m, kEthLen, false)) return drop(m, *bad);
  counters_.events.decap_offloaded.add(1);
  trace(m, {TraceStep::kDecap, uint8_t(TraceDecap::kOffloaded)});
  deliver_decapped<Ipv4Family>(&m, &id, 1);
}

// Inner packets of family F behind their Ethernet headers, checked:
// routed with one bulk lookup, delivered to the overlay port of our
// podCIDR and counted for the nodes that sent them (`sender`: next-hop
// ids).
template <class F>
void Worker::deliver_decapped(rte_mbuf** pkts, const uint32_t* sender, unsigned n) {
  if (n == 0) return;
  std::array<typename F::RouteKey, kMaxBurst> dst;
  for (unsigned j = 0; j < n; ++j)
    dst[j] = F::route_key(rte_pktmbuf_mtod_offset(pkts[j], const typename F::Header*, kEthLen));
  std::array<uint32_t, kMaxBurst> hops;
  F::route_bulk(ctx_.tables, dst.data(), hops.data(), n);
  for (unsigned j = 0; j < n; ++j) {
    rte_mbuf* m = pkts[j];
    const NextHop* nh = ctx_.tables.next_hop(hops[j]);
    // (IPv6's destination is traced where it was, behind the outer headers
    // decapsulation removed.)
    trace_route(m, nh,
                F::traced_dst(rte_pktmbuf_mtod_offset(m, const typename F::Header*, kEthLen),
                              F::kVxlanOverhead + kEthLen),
                F::kRouteStep);
    if (nh == nullptr || nh->kind != NextHopKind::kLocal) {
      drop(m, DropReason::kInnerDstNotLocal);
      continue;
    }
    PeerCounters& peer = peers_[sender[j]];
    peer.decap_packets.add(1);
    peer.decap_bytes.add(rte_pktmbuf_pkt_len(m));
    deliver_from_peer<F>(m, *nh);
  }
}

template <class F>
void Worker::deliver_from_peer(rte_mbuf* m, const NextHop& nh) {
  if constexpr (F::kProbes) {
    // Only a packet for our own overlay address (the .0, rare: pods have
    // others) is looked at further.
    if (rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen)->dst_addr ==
        ctx_.overlay_address_be->load(std::memory_order_relaxed)) [[unlikely]] {
      if (take_probe_reply(m, ctx_.probe_ident_be, rte_rdtsc()))
        return to_control(m, kToControlProbe);
    }
  }
  deliver_local<F>(m, nh, ctx_.ports[nh.out_port].tartan_routes);
}
template void Worker::deliver_from_peer<Ipv4Family>(rte_mbuf*, const NextHop&);
template void Worker::deliver_from_peer<Ipv6Family>(rte_mbuf*, const NextHop&);

// A worker other than the slow-path one hands it what needs ARP or the
// host, so only one worker ever answers ARP or writes to the exception
// port. When that worker is behind (its ring full), this one does it.
bool Worker::handed_to_slow_path(rte_mbuf* m) {
  if (to_slow_ == nullptr || rte_ring_sp_enqueue(to_slow_, m) != 0) return false;
  // Only its address is used: the slow-path worker owns it now.
  trace_end(m, {TraceStep::kSlowPath});
  counters_.events.to_slow_path.add(1);
  return true;
}

void Worker::underlay_exception(rte_mbuf* m, DropReason otherwise) {
  if (ctx_.exception_port == kNoPort) return drop(m, otherwise);
  if (!handed_to_slow_path(m)) to_exception(m, otherwise);
}

void Worker::underlay_arp(rte_mbuf* m) {
  const auto arp = parse_arp(m);
  if (!arp) return drop(m, DropReason::kArpNotForUs);
  // (An IPv6-only underlay's 0 is no address to answer for.)
  if (arp->op == RTE_ARP_OP_REQUEST && arp->target_ip.be() == ctx_.underlay_ip_be &&
      ctx_.underlay_ip_be != 0) {
    MacAddr ours;
    std::memcpy(ours.bytes.data(), ctx_.underlay_mac.addr_bytes, 6);
    make_arp_reply(m, ours);
    if (trace_ != nullptr) [[unlikely]]
      trace_->note(index_, m, {TraceStep::kArpReply, 0, 0, arp->target_ip.be(), trace_mac(ours)});
    counters_.events.arp_replies.add(1);
    tx_.push(ctx_.underlay_port, m);
    return;
  }
  // Replies and announcements may resolve a neighbour we send to.
  if (arp->op == RTE_ARP_OP_REPLY || arp->sender_ip == arp->target_ip)
    return to_control(m, kToControlArp);
  drop(m, DropReason::kArpNotForUs);
}

}  // namespace tartan
