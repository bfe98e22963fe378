// What the worker's stages need to know of an address family, as traits:
// every stage (routing, rewrite, encapsulation, ICMP errors, decapsulation,
// delivery) is one template over Ipv4Family or Ipv6Family, instantiated
// once per family as VPP's ip4/ip6 node pairs are, so a burst's family is
// chosen once, when it is classified, and what differs between the
// families is written here and nowhere else.
#pragma once

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <atomic>
#include <cstring>
#include <optional>

#include "engine/backends/flow_hash.h"
#include "engine/backends/headers.h"
#include "engine/backends/inner_checksum.h"
#include "engine/checksum.h"
#include "engine/net_types.h"
#include "engine/observe/stats.h"
#include "engine/observe/trace.h"
#include "engine/path/datapath_context.h"
#include "engine/path/icmp.h"
#include "engine/path/icmp6.h"
#include "engine/path/ipv4_check.h"
#include "engine/path/ipv6_check.h"
#include "engine/tables/next_hop.h"
#include "engine/tables/tables.h"

namespace tartan {

// How encapsulated packets get their outer checksums: fixed at launch by
// the config (dataplane.udp_checksum) and the underlay port's offloads, so
// the workers' rewrite stage is compiled once per choice and tests none of
// it per packet. (The IPv4 header checksum only: IPv6 has none.)
enum class UdpChecksum : uint8_t { kZero, kOffload, kSoftware };
struct OuterChecksums {
  bool ip_offload;
  UdpChecksum udp;
};

// What the egress rewrite stage puts a routed packet in: a tunnel's headers
// at once (vxlan, udp; host-gw's and DirectRouting's plain Ethernet), or a
// wireguard transport message, a burst's sealed after the burst is read,
// behind their next hops' headers: of the inner packet's family, in one
// call (Mode separate; the launch-time OuterChecksums apply), or of each
// next hop's own, in one call per underlay family present (the one-device
// modes, DataplaneConfig::cross_family_routes).
enum class EgressTunnel : uint8_t { kEncapsulate, kSealSameFamily, kSealEitherFamily };

// The outer ECN bits as Linux's ip_tunnel_ecn_encap() sets them, for either
// family's tunnel: copied from the inner header, CE carried as ECT(0)
// (RFC 6040 normal mode); DSCP 0.
inline uint8_t outer_ecn(uint8_t inner_tos) {
  const uint8_t ecn = inner_tos & 0x03;
  return ecn == 0x03 ? 0x02 : ecn;
}

// The outer UDP checksum from the template's sums: `payload_sum`, the sum
// of everything after the template's bytes, makes it cost the same for
// any packet size; `flow_port` is the source port the flow hashed to
// (network order; zero where the template's is fixed, and summed in
// nh.udp_sum). The pseudo header's length and the UDP header's are the
// same field.
inline uint16_t outer_udp_checksum(const NextHop& nh, uint16_t flow_port, uint16_t udp_len_be,
                                   uint16_t payload_sum) {
  const uint32_t sum = nh.udp_sum + flow_port + 2 * uint32_t{udp_len_be} + payload_sum;
  const uint16_t c = static_cast<uint16_t>(~csum_fold(sum));
  return c == 0 ? 0xffff : c;  // a computed zero is sent as all ones
}

inline uint16_t udptcp_checksum(const rte_mbuf* m, const rte_ipv4_hdr* ip) {
  return rte_ipv4_udptcp_cksum_mbuf(m, ip, kEthLen + sizeof(*ip));
}
inline uint16_t udptcp_checksum(const rte_mbuf* m, const rte_ipv6_hdr* ip) {
  return rte_ipv6_udptcp_cksum_mbuf(m, ip, kEthLen + sizeof(*ip));
}
inline uint64_t tx_family_flag(const rte_ipv4_hdr*) {
  return RTE_MBUF_F_TX_IPV4;
}
inline uint64_t tx_family_flag(const rte_ipv6_hdr*) {
  return RTE_MBUF_F_TX_IPV6;
}

// The outer UDP checksum of a tunnel packet as `U` says, the rest of its
// header written, and the packet's TX offload flags and header lengths
// (`flags`: those of the outer IP header). `inner`, where the inner packet
// sum is known (inner_packet_sum), spares the software checksum a pass
// over the payload.
template <UdpChecksum U, typename Ip>
inline void finish_outer_udp(rte_mbuf* m, const NextHop& nh, const Ip* outer, rte_udp_hdr* udp,
                             uint16_t flow_port, std::optional<uint16_t> inner, uint64_t flags) {
  if constexpr (U == UdpChecksum::kZero) {
    udp->dgram_cksum = 0;  // allowed for IPv4 by RFC 7348
  } else if constexpr (U == UdpChecksum::kOffload) {
    flags |= tx_family_flag(outer) | RTE_MBUF_F_TX_UDP_CKSUM;
    udp->dgram_cksum =
        csum_fold(nh.phdr_sum + udp->dgram_len);  // the pseudo header's, as NICs want
  } else if (inner) {
    udp->dgram_cksum = outer_udp_checksum(nh, flow_port, udp->dgram_len, *inner);
  } else {
    udp->dgram_cksum = 0;
    udp->dgram_cksum = udptcp_checksum(m, outer);
  }
  m->ol_flags = flags;
  m->l2_len = kEthLen;
  m->l3_len = sizeof(Ip);
}

// The variable fields of an IPv4 tunnel packet whose template is in place
// at `h` (the frame's start): lengths, IP id, ECN (`tos`), the IPv4
// checksum and the outer UDP one, as `C` says (finish_outer_udp).
template <OuterChecksums C>
[[gnu::always_inline]] inline void finish_outer_ipv4(rte_mbuf* m, const NextHop& nh, uint8_t* h,
                                                     uint8_t tos, uint16_t src_port,
                                                     std::optional<uint16_t> inner,
                                                     uint16_t& ip_id) {
  auto* outer = reinterpret_cast<rte_ipv4_hdr*>(h + kEthLen);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(h + kEthLen + kIpv4Len);
  const uint16_t ip_len = static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - kEthLen);
  const uint16_t ip_len_be = rte_cpu_to_be_16(ip_len);
  const uint16_t udp_len_be = rte_cpu_to_be_16(static_cast<uint16_t>(ip_len - kIpv4Len));
  outer->total_length = ip_len_be;
  outer->packet_id = rte_cpu_to_be_16(ip_id++);
  outer->type_of_service = tos;
  udp->dgram_len = udp_len_be;
  uint64_t flags = 0;
  if constexpr (C.ip_offload) {
    flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    outer->hdr_checksum = 0;
  } else {
    // The template's sum plus the three fields that vary (RFC 1071 sums
    // are byte-order independent when every term is in network order).
    const uint32_t sum = nh.ip_sum + ip_len_be + outer->packet_id + rte_cpu_to_be_16(tos);
    outer->hdr_checksum = static_cast<uint16_t>(~csum_fold(sum));
  }
  finish_outer_udp<C.udp>(m, nh, outer, udp, src_port, inner, flags);
}

// The variable fields of an IPv6 tunnel packet whose template is in place
// at `h` (the frame's start): traffic class (ECN), payload and UDP
// lengths, and the UDP checksum IPv6 requires, as `U` says
// (finish_outer_udp; never kZero: RFC 8200 8.1, and Linux refuses a zero
// one unless udp6zerocsumrx is set, which flannel never sets).
template <UdpChecksum U>
[[gnu::always_inline]] inline void finish_outer_ipv6(rte_mbuf* m, const NextHop& nh, uint8_t* h,
                                                     uint8_t tc, uint16_t src_port,
                                                     std::optional<uint16_t> inner) {
  static_assert(U != UdpChecksum::kZero);
  auto* outer = reinterpret_cast<rte_ipv6_hdr*>(h + kEthLen);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(h + kEthLen + kIpv6HeaderLen);
  const uint16_t udp_len_be =
      rte_cpu_to_be_16(static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - kEthLen - kIpv6HeaderLen));
  outer->vtc_flow = rte_cpu_to_be_32(6u << 28 | uint32_t{tc} << 20);
  outer->payload_len = udp_len_be;
  udp->dgram_len = udp_len_be;
  finish_outer_udp<U>(m, nh, outer, udp, src_port, inner, 0);
}

struct Ipv4Family {
  using Header = rte_ipv4_hdr;
  using Address = Ipv4Addr;
  using RouteKey = uint32_t;  // the destination in host order, as DIR-24-8 takes it
  static constexpr unsigned kIndex = 0;
  static constexpr uint16_t kEtherType = RTE_ETHER_TYPE_IPV4;
  static constexpr uint16_t kVxlanOverhead = tartan::kVxlanOverhead;
  // Outer Ethernet, IP and UDP headers (the wireguard backend's).
  static constexpr uint16_t kUdpTunnelHeaders = tartan::kUdpTunnelHeaders;
  static constexpr TraceStep kRouteStep = TraceStep::kRoute;
  static constexpr uint32_t kIcmpTraceTag = 0;
  static constexpr DropReason kHopLimitExpired = DropReason::kTtlExpired;
  static constexpr DropReason kTooBig = DropReason::kTooBig;
  static constexpr DropReason kInnerNotOurs = DropReason::kInnerNotIpv4;
  static constexpr uint8_t kTimeExceeded = kIcmpTimeExceeded, kTimeExceededCode = 0;
  static constexpr uint8_t kUnreachable = kIcmpDestUnreachable, kNoRouteCode = kIcmpNetUnreachable;
  static constexpr uint8_t kTooBigType = kIcmpDestUnreachable,
                           kTooBigCode = kIcmpFragmentationNeeded;
  static constexpr bool kGro = true;                // the GRO stage merges IPv4 TCP
  static constexpr bool kProbes = true;             // tunnel probes are IPv4 (probe.h)
  static constexpr bool kZeroUdpChecksumOk = true;  // "none" (RFC 7348)
  // The next hop's cache lines encapsulation reads: the fields and the
  // 64-byte template.
  static constexpr unsigned kNextHopLines = 2;

  static RouteKey route_key(const Header* ip) { return rte_be_to_cpu_32(ip->dst_addr); }
  static RouteKey source_key(const Header* ip) { return rte_be_to_cpu_32(ip->src_addr); }
  static void route_bulk(const TableReaders& t, RouteKey* keys, uint32_t* hops, unsigned n) {
    route_lookup_bulk(t.routes, keys, hops, n);
  }
  // The next-hop id of the route holding the packet's source.
  static uint32_t source_route(const TableReaders& t, const Header* ip) {
    return route_lookup(t.routes, source_key(ip));
  }
  static const rte_hash* senders(const TableReaders& t) { return t.senders; }
  // The destination as kRoute traces it (`l3`, where the header was in the
  // frame as received, is IPv6's).
  static uint32_t traced_dst(const Header* ip, uint16_t /*l3*/) { return ip->dst_addr; }
  // The sender lookup's trace event (`key`: the outer source, network order).
  static TraceEvent sender_event(bool known, const void* key, uint32_t id) {
    uint32_t src;
    std::memcpy(&src, key, 4);
    return {TraceStep::kSender, known, 0, src, id};
  }
  static uint8_t hops_left(const Header* ip) { return ip->time_to_live; }
  static void decrement_hops(Header* ip) { decrement_ttl(ip); }
  static uint8_t traffic_class(const Header* ip) { return ip->type_of_service; }
  static uint32_t length(const Header* ip) { return rte_be_to_cpu_16(ip->total_length); }
  static uint16_t overlay_mtu(const DatapathContext& c) { return c.overlay_mtu; }
  static const rte_ether_addr& vtep_mac(const DatapathContext& c) { return c.vtep_mac; }
  [[gnu::always_inline]] static std::optional<DropReason> check_inner(rte_mbuf* m) {
    return check_ipv4(m, kEthLen, false);
  }

  // flannel's udp backend answers an unroutable destination with ICMP net
  // unreachable; the kernel's vxlan path has no route and drops.
  static bool answers_no_route(const DatapathContext& c, bool /*route_here*/) {
    return c.backend == BackendType::kUdp;
  }
  // Too big with DF set: fragmentation needed (RFC 1191); without, dropped.
  static bool answers_too_big(const Header* ip) { return ipv4_dont_fragment(ip); }
  static std::optional<Address> overlay_address(const DatapathContext& c) {
    const uint32_t be = c.overlay_address_be->load(std::memory_order_relaxed);
    if (be == 0) return std::nullopt;
    return Ipv4Addr::from_be(be);
  }
  static std::optional<Address> destination(const Header* ip) {
    if (ip->dst_addr == 0) return std::nullopt;
    return Ipv4Addr::from_be(ip->dst_addr);
  }
  static bool error_allowed(const rte_mbuf* m, uint8_t /*type*/) {
    return icmp_error_allowed(m, kEthLen);
  }
  static void make_error(rte_mbuf* m, uint8_t type, uint8_t code, uint32_t mtu,
                         const Address& src) {
    make_icmp_error(m, kEthLen, type, code, static_cast<uint16_t>(mtu), src);
  }

  // Puts a tunnel next hop's outer headers (vxlan or udp) in front of `m`,
  // with lengths, IP id, ECN and checksums made as `C` says. Returns the
  // frame's new start; null, having changed nothing, when there is no
  // headroom.
  template <OuterChecksums C>
  [[gnu::always_inline]] static uint8_t* encapsulate(rte_mbuf* m, const NextHop& nh, Header* ip,
                                                     uint16_t& ip_id) {
    const uint8_t tos = outer_ecn(traffic_class(ip));
    std::optional<uint16_t> inner;
    if constexpr (C.udp == UdpChecksum::kSoftware) inner = inner_packet_sum(m, ip);
    uint16_t src_port = 0;
    uint8_t* h;
    if (nh.kind == NextHopKind::kVxlan) {
      src_port = rte_cpu_to_be_16(
          linux_udp_src_port(inner_flow_hash(ip, rte_pktmbuf_pkt_len(m) - kEthLen)));
      // The template covers the outer headers and the inner Ethernet header,
      // which replaces the one the frame arrived with.
      h = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kVxlanOverhead));
      if (h == nullptr) return nullptr;
      rte_mov64(h, nh.header);
      reinterpret_cast<rte_udp_hdr*>(h + kEthLen + kIpv4Len)->src_port = src_port;
    } else {
      // The udp backend: the inner Ethernet header goes; the IPv4 packet
      // is the UDP payload.
      h = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kUdpTunnelHeaders - kEthLen));
      if (h == nullptr) return nullptr;
      rte_memcpy(h, nh.header, kUdpTunnelHeaders);
    }
    finish_outer_ipv4<C>(m, nh, h, tos, src_port, inner, ip_id);
    return h;
  }
  // The variable fields of the outer headers in place at `h`: as
  // finish_outer_ipv4 (`tos`: the outer ECN).
  template <OuterChecksums C>
  [[gnu::always_inline]] static void finish_outer(rte_mbuf* m, const NextHop& nh, uint8_t* h,
                                                  uint8_t tos, uint16_t src_port,
                                                  std::optional<uint16_t> inner, uint16_t& ip_id) {
    finish_outer_ipv4<C>(m, nh, h, tos, src_port, inner, ip_id);
  }
};

struct Ipv6Family {
  using Header = rte_ipv6_hdr;
  using Address = Ipv6Addr;
  using RouteKey = const uint8_t*;  // the destination's 16 bytes in the frame
  static constexpr unsigned kIndex = 1;
  static constexpr uint16_t kEtherType = RTE_ETHER_TYPE_IPV6;
  static constexpr uint16_t kVxlanOverhead = kVxlan6Overhead;
  static constexpr uint16_t kUdpTunnelHeaders = kUdp6TunnelHeaders;
  static constexpr TraceStep kRouteStep = TraceStep::kRoute6;
  static constexpr uint32_t kIcmpTraceTag = 6;
  static constexpr DropReason kHopLimitExpired = DropReason::kHopLimitExpired;
  static constexpr DropReason kTooBig = DropReason::kIpv6TooBig;
  static constexpr DropReason kInnerNotOurs = DropReason::kInnerNotIpv6;
  static constexpr uint8_t kTimeExceeded = kIcmp6TimeExceeded,
                           kTimeExceededCode = kIcmp6HopLimitExceeded;
  static constexpr uint8_t kUnreachable = kIcmp6DestUnreachable, kNoRouteCode = kIcmp6NoRoute;
  static constexpr uint8_t kTooBigType = kIcmp6PacketTooBig, kTooBigCode = 0;
  static constexpr bool kGro = false;
  static constexpr bool kProbes = false;
  // Linux refuses a zero UDP checksum over IPv6 unless udp6zerocsumrx is
  // set, which flannel never sets.
  static constexpr bool kZeroUdpChecksumOk = false;
  // The fields and the 84-byte template's three lines.
  static constexpr unsigned kNextHopLines = 3;

  static RouteKey route_key(const Header* ip) { return ip->dst_addr; }
  static RouteKey source_key(const Header* ip) { return ip->src_addr; }
  static void route_bulk(const TableReaders& t, RouteKey* keys, uint32_t* hops, unsigned n) {
    route6_lookup_bulk(t.routes6, keys, hops, n);
  }
  static uint32_t source_route(const TableReaders& t, const Header* ip) {
    RouteKey key = source_key(ip);
    uint32_t hop;
    route_bulk(t, &key, &hop, 1);
    return hop;
  }
  static const rte_hash* senders(const TableReaders& t) { return t.senders6; }
  // 16 bytes do not fit an event: where they are in the frame as received
  // (the trace record's head holds them).
  static uint32_t traced_dst(const Header* /*ip*/, uint16_t l3) {
    return l3 + offsetof(rte_ipv6_hdr, dst_addr);
  }
  static TraceEvent sender_event(bool known, const void* /*key*/, uint32_t id) {
    return {TraceStep::kSender, known, kEthLen + offsetof(rte_ipv6_hdr, src_addr), 0, id};
  }
  static uint8_t hops_left(const Header* ip) { return ip->hop_limits; }
  static void decrement_hops(Header* ip) { --ip->hop_limits; }  // no header checksum in IPv6
  static uint8_t traffic_class(const Header* ip) { return ipv6_traffic_class(ip); }
  static uint32_t length(const Header* ip) {
    return kIpv6HeaderLen + uint32_t{rte_be_to_cpu_16(ip->payload_len)};
  }
  static uint16_t overlay_mtu(const DatapathContext& c) { return c.overlay_mtu6; }
  static const rte_ether_addr& vtep_mac(const DatapathContext& c) { return c.vtep_mac6; }
  [[gnu::always_inline]] static std::optional<DropReason> check_inner(rte_mbuf* m) {
    return check_ipv6(m, kEthLen);
  }

  // A router without a route answers (RFC 4443 3.1). Behind a tap the
  // host routes, the host chose the tap, and the kernel's flannel-v6
  // device drops what it cannot send: so does tartan.
  static bool answers_no_route(const DatapathContext&, bool route_here) { return route_here; }
  // IPv6 routers never fragment (RFC 8200 5): the sender learns the MTU.
  static bool answers_too_big(const Header*) { return true; }
  static std::optional<Address> overlay_address(const DatapathContext& c) {
    const Ipv6Addr* a = c.overlay_address6->load(std::memory_order_acquire);
    if (a == nullptr) return std::nullopt;
    return *a;
  }
  // Not a multicast one (Packet Too Big may be about a packet to a group).
  static std::optional<Address> destination(const Header* ip) {
    if (ip->dst_addr[0] == 0xff) return std::nullopt;
    Ipv6Addr a;
    std::memcpy(a.bytes.data(), ip->dst_addr, 16);
    return a;
  }
  static bool error_allowed(const rte_mbuf* m, uint8_t type) {
    return icmp6_error_allowed(m, kEthLen, type);
  }
  static void make_error(rte_mbuf* m, uint8_t type, uint8_t code, uint32_t mtu,
                         const Address& src) {
    make_icmp6_error(m, kEthLen, type, code, mtu, src);
  }

  // Ethernet/IPv6/UDP/VXLAN (flannel-v6 has no udp backend) with the UDP
  // checksum IPv6 requires: the underlay port's or computed (`C.udp` is
  // never kZero: dataplane.udp_checksum does not apply over IPv6, as
  // Linux's vxlan sends one unless udp6zerocsumtx).
  template <OuterChecksums C>
  [[gnu::always_inline]] static uint8_t* encapsulate(rte_mbuf* m, const NextHop& nh, Header* ip,
                                                     uint16_t& /*ip_id*/) {
    const uint16_t src_port = rte_cpu_to_be_16(
        linux_udp_src_port(inner_flow_hash6(ip, rte_pktmbuf_pkt_len(m) - kEthLen)));
    const uint8_t tc = outer_ecn(traffic_class(ip));
    std::optional<uint16_t> inner;
    if constexpr (C.udp == UdpChecksum::kSoftware) inner = inner_packet_sum6(m, ip);
    auto* h = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kVxlan6Overhead));
    if (h == nullptr) return nullptr;
    rte_mov64(h, nh.header);
    rte_mov16(h + 64, nh.header + 64);
    std::memcpy(h + 80, nh.header + 80, kVxlan6Overhead + kEthLen - 80);
    reinterpret_cast<rte_udp_hdr*>(h + kEthLen + kIpv6HeaderLen)->src_port = src_port;
    finish_outer_ipv6<C.udp>(m, nh, h, tc, src_port, inner);
    return h;
  }
  // The variable fields of the outer headers in place at `h`: as
  // finish_outer_ipv6 (`tos`: the outer ECN; IPv6 has no IP id).
  template <OuterChecksums C>
  [[gnu::always_inline]] static void finish_outer(rte_mbuf* m, const NextHop& nh, uint8_t* h,
                                                  uint8_t tos, uint16_t src_port,
                                                  std::optional<uint16_t> inner,
                                                  uint16_t& /*ip_id*/) {
    finish_outer_ipv6<C.udp>(m, nh, h, tos, src_port, inner);
  }
};

}  // namespace tartan
