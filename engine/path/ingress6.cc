// Underlay -> overlay for IPv6 (flannel-v6): accept VXLAN over IPv6 only
// from known nodes' public IPv6 addresses, for our VNI and IPv6 VTEP MAC,
// with the UDP checksum IPv6 requires; strip the outer headers and deliver
// the inner IPv6 packet to the overlay port of our IPv6 podCIDR.
// Neighbour solicitations and advertisements go to the control thread.
#include <rte_hash.h>
#include <rte_prefetch.h>

#include <optional>

#include "engine/backends/tunnel_checksum.h"
#include "engine/path/ipv6_check.h"
#include "engine/path/tunnel_template.h"
#include "engine/path/worker.h"

namespace tartan {
namespace {

constexpr uint8_t kNeighbourSolicitation = 135;
constexpr uint8_t kNeighbourAdvertisement = 136;

inline uint32_t sender_id6(const void* data) {
  return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data));
}

// The common IPv6 tunnel packet: its fixed fields match the template and
// its lengths agree (UDP right after the fixed header, so the UDP length is
// the payload length). Returns that length, having trimmed any Ethernet
// padding; nullopt, having changed nothing, for the field-by-field path.
inline std::optional<uint16_t> common_tunnel6_packet(rte_mbuf* m, const TunnelTemplate6& tunnel) {
  if (rte_pktmbuf_data_len(m) < kTunnel6TemplateLen ||
      !tunnel.matches(rte_pktmbuf_mtod(m, const uint8_t*))) {
    return std::nullopt;
  }
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, kEthLen);
  const auto* udp = reinterpret_cast<const rte_udp_hdr*>(ip + 1);
  const uint16_t payload = rte_be_to_cpu_16(ip->payload_len);
  const uint32_t end = kEthLen + kIpv6HeaderLen + uint32_t{payload};
  const uint32_t pkt_len = rte_pktmbuf_pkt_len(m);
  if (end > pkt_len || payload < kUdpLen || udp->dgram_len != ip->payload_len) return std::nullopt;
  if (pkt_len > end) rte_pktmbuf_trim(m, static_cast<uint16_t>(pkt_len - end));
  return payload;
}

}  // namespace

void Worker::ingress6(rte_mbuf** pkts, unsigned n) {
  std::array<TunnelPacket, kMaxBurst> tunnel;
  std::array<const void*, kMaxBurst> keys;
  unsigned k = 0;
  for (unsigned i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    auto udp_len = common_tunnel6_packet(m, tunnel_template6_);
    if (!udp_len) udp_len = underlay_ipv6(m);
    if (!udp_len) continue;
    // The key is the packet's own source address: nothing changes it
    // before the lookup.
    keys[k] = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, kEthLen)->src_addr;
    tunnel[k++] = {m, kEthLen + kIpv6HeaderLen, *udp_len};
  }
  if (k == 0) return;
  std::array<void*, kMaxBurst> senders;
  uint64_t known = 0;
  rte_hash_lookup_bulk_data(ctx_.tables.senders6, keys.data(), k, &known, senders.data());
  for (unsigned j = 0; j < k; ++j) {
    if (known & (uint64_t{1} << j)) rte_prefetch0(&peers_[sender_id6(senders[j])]);
  }
  if (trace_ != nullptr) [[unlikely]] {
    for (unsigned j = 0; j < k; ++j) {
      const bool is_known = (known & (uint64_t{1} << j)) != 0;
      trace_->note(index_, tunnel[j].m,
                   {TraceStep::kSender, is_known, 0, 0, is_known ? sender_id6(senders[j]) : 0});
    }
  }
  (this->*decap6_stage_)(tunnel.data(), senders.data(), known, k);
}

std::optional<uint16_t> Worker::underlay_ipv6(rte_mbuf* m) {
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  const bool multicast = (eth->dst_addr.addr_bytes[0] & 1) != 0;
  if (!multicast && !rte_is_same_ether_addr(&eth->dst_addr, &ctx_.underlay_mac)) {
    drop(m, DropReason::kNotOurMac);
    return std::nullopt;
  }
  if (auto bad = check_ipv6(m, kEthLen)) {
    drop(m, *bad);
    return std::nullopt;
  }
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, kEthLen);
  // Neighbour discovery, whatever its destination (solicitations go to a
  // solicited-node multicast address): the neighbour table's, on the
  // control thread, through the slow-path worker as ARP goes.
  if (ip->proto == IPPROTO_ICMPV6 && rte_pktmbuf_data_len(m) > kEthLen + kIpv6HeaderLen) {
    const uint8_t type = *rte_pktmbuf_mtod_offset(m, const uint8_t*, kEthLen + kIpv6HeaderLen);
    if (type == kNeighbourSolicitation || type == kNeighbourAdvertisement) {
      if (!handed_to_slow_path(m)) to_control(m, kToControlNd);
      return std::nullopt;
    }
  }
  if (std::memcmp(ip->dst_addr, ctx_.underlay_ip6.data(), 16) != 0) {
    // host-gw and DirectRouting peers send pod traffic unencapsulated.
    if (ctx_.backend == BackendType::kHostGw || ctx_.direct_routing) {
      const uint8_t* dst = ip->dst_addr;
      uint32_t hop;
      route6_lookup_bulk(ctx_.tables.routes6, &dst, &hop, 1);
      const NextHop* nh = ctx_.tables.next_hop(hop);
      if (nh != nullptr && nh->kind == NextHopKind::kLocal) {
        trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kUnencapsulated)});
        deliver_local6(m, *nh, ctx_.ports[nh->out_port].tartan_routes);
        return std::nullopt;
      }
    }
    underlay_exception(m, DropReason::kWrongDstIp);
    return std::nullopt;
  }
  // Extension headers and everything but UDP to our address are the
  // host's, never parsed past here. A fragment too: unlike IPv4's, outer
  // IPv6 fragments are not put together here (a flannel-v6 device's MTU
  // keeps what it sends within the underlay's, and routers on the way
  // never fragment IPv6).
  if (ip->proto != IPPROTO_UDP) {
    const bool fragment = ip->proto == IPPROTO_FRAGMENT;
    trace(m, {TraceStep::kClassify,
              uint8_t(fragment ? TraceClass::kOuterFragment : TraceClass::kNotForUs)});
    underlay_exception(m, fragment ? DropReason::kOuterFragment : DropReason::kNotTunnel);
    return std::nullopt;
  }
  if (rte_pktmbuf_data_len(m) < kEthLen + kIpv6HeaderLen + kUdpLen) {
    drop(m, DropReason::kTruncated);
    return std::nullopt;
  }
  const auto* udp = reinterpret_cast<const rte_udp_hdr*>(ip + 1);
  if (udp->dst_port != ctx_.tunnel_port_be || ctx_.backend != BackendType::kVxlan) {
    underlay_exception(m, DropReason::kWrongDstPort);
    return std::nullopt;
  }
  const uint16_t udp_len = rte_be_to_cpu_16(udp->dgram_len);
  if (udp_len < kUdpLen || udp->dgram_len != ip->payload_len) {
    drop(m, DropReason::kTruncated);
    return std::nullopt;
  }
  trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kTunnel)});
  return udp_len;
}

template <bool RxVerdict>
void Worker::decap6_stage(const TunnelPacket* tunnel, void* const* senders, uint64_t known,
                          unsigned k) {
  std::array<rte_mbuf*, kMaxBurst> inner;
  std::array<uint32_t, kMaxBurst> inner_sender;
  unsigned d = 0;
  for (unsigned j = 0; j < k; ++j) {
    if ((known & (uint64_t{1} << j)) == 0) {
      drop(tunnel[j].m, DropReason::kUnknownSender);
      continue;
    }
    if (decapsulate6<RxVerdict>(tunnel[j])) {
      inner[d] = tunnel[j].m;
      inner_sender[d++] = sender_id6(senders[j]);
    }
  }
  deliver_decapped6(inner.data(), inner_sender.data(), d);
}

template <bool RxVerdict>
bool Worker::decapsulate6(const TunnelPacket& t) {
  rte_mbuf* m = t.m;
  const uint16_t l4 = t.l4;
  const uint16_t udp_len = t.udp_len;
  if (udp_len < kUdpLen + kVxlanLen + kEthLen ||
      rte_pktmbuf_data_len(m) < l4 + kUdpLen + kVxlanLen + kEthLen) {
    return dropped(m, DropReason::kTruncated);
  }
  // Linux refuses a zero UDP checksum over IPv6 unless udp6zerocsumrx is
  // set, which flannel never sets.
  if (rte_pktmbuf_mtod_offset(m, const rte_udp_hdr*, l4)->dgram_cksum == 0)
    return dropped(m, DropReason::kUdp6ZeroChecksum);
  const uint16_t inner_eth = l4 + kUdpLen + kVxlanLen;
  const bool inner_ipv6 = rte_pktmbuf_mtod_offset(m, const rte_ether_hdr*, inner_eth)->ether_type ==
                          rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
  const uint64_t verdict = RxVerdict ? rx_outer_udp_verdict(m) : RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN;
  if (!tunnel6_checksums_ok(m, l4, udp_len, inner_ipv6 ? inner_eth + kEthLen : 0, verdict))
    return dropped(m, DropReason::kBadUdpChecksum);
  const auto* vx = rte_pktmbuf_mtod_offset(m, const rte_vxlan_hdr*, l4 + kUdpLen);
  if (vx->vx_flags != rte_cpu_to_be_32(kVxlanFlagsWord) ||
      (vx->vx_vni & rte_cpu_to_be_32(0xff)) != 0) {
    return dropped(m, DropReason::kBadVxlanFlags);
  }
  trace(m, {TraceStep::kVni, 0, 0, rte_be_to_cpu_32(vx->vx_vni) >> 8});
  if (vx->vx_vni != ctx_.vni_be) return dropped(m, DropReason::kBadVni);
  const auto* eth = reinterpret_cast<const rte_ether_hdr*>(vx + 1);
  if (!rte_is_same_ether_addr(&eth->dst_addr, &ctx_.vtep_mac6))
    return dropped(m, DropReason::kNotOurVtepMac);
  // flannel-v6 carries IPv6 only; IPv4 pods' traffic comes over IPv4.
  if (!inner_ipv6) return dropped(m, DropReason::kInnerNotIpv6);
  rte_pktmbuf_adj(m, inner_eth);  // the inner Ethernet frame remains
  trace(m, {TraceStep::kDecap, uint8_t(TraceDecap::kVxlan)});
  if (auto bad = check_ipv6(m, kEthLen)) return dropped(m, *bad);
  return true;
}

void Worker::deliver_decapped6(rte_mbuf** pkts, const uint32_t* sender, unsigned n) {
  if (n == 0) return;
  std::array<const uint8_t*, kMaxBurst> dst;
  for (unsigned j = 0; j < n; ++j)
    dst[j] = rte_pktmbuf_mtod_offset(pkts[j], const rte_ipv6_hdr*, kEthLen)->dst_addr;
  std::array<uint32_t, kMaxBurst> hops;
  route6_lookup_bulk(ctx_.tables.routes6, dst.data(), hops.data(), n);
  for (unsigned j = 0; j < n; ++j) {
    rte_mbuf* m = pkts[j];
    const NextHop* nh = ctx_.tables.next_hop(hops[j]);
    trace_route(m, nh, 0);
    if (nh == nullptr || nh->kind != NextHopKind::kLocal) {
      drop(m, DropReason::kInnerDstNotLocal);
      continue;
    }
    PeerCounters& peer = peers_[sender[j]];
    peer.decap_packets.add(1);
    peer.decap_bytes.add(rte_pktmbuf_pkt_len(m));
    deliver_local6(m, *nh, ctx_.ports[nh->out_port].tartan_routes);
  }
}

Worker::DecapStage Worker::select_decap6(const DatapathContext& ctx) {
  return ctx.rx_udp_cksum_offload ? &Worker::decap6_stage<true> : &Worker::decap6_stage<false>;
}

}  // namespace tartan
