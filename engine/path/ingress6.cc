// The classification of an underlay burst's IPv6 frames (flannel-v6): VXLAN
// or WireGuard (flannel-wg-v6, on ListenPortV6) over IPv6 to our address
// and port goes on to the stages ingress.cc runs for both families; neighbour solicitations and
// advertisements go to the control thread; pod traffic from host-gw and DirectRouting peers is
// delivered; the rest is the host's or dropped, by its reason.
#include <optional>

#include "engine/path/family.h"
#include "engine/path/ipv6_check.h"
#include "engine/path/tunnel_template.h"
#include "engine/path/worker.h"

namespace tartan {
namespace {

constexpr uint8_t kNeighbourSolicitation = 135;
constexpr uint8_t kNeighbourAdvertisement = 136;

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

std::optional<uint16_t> Worker::tunnel6_packet(rte_mbuf* m) {
  if (const auto udp_len = common_tunnel6_packet(m, tunnel_template6_)) {
    trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kTunnel)});
    return udp_len;
  }
  return underlay_ipv6(m);  // which classifies (and traces) the rest itself
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
      trace(m, {TraceStep::kClassify, uint8_t(TraceClass::kNd)});
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
        trace_route(m, nh, kEthLen + offsetof(rte_ipv6_hdr, dst_addr), TraceStep::kRoute6);
        deliver_from_peer<Ipv6Family>(m, *nh);
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
  // flannel's udp and host-gw backends have no IPv6 tunnel.
  const auto* udp = reinterpret_cast<const rte_udp_hdr*>(ip + 1);
  if (udp->dst_port != ctx_.tunnel_port6_be ||
      (ctx_.backend != BackendType::kVxlan && ctx_.backend != BackendType::kWireguard)) {
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

}  // namespace tartan
