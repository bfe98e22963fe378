#include "engine/tables/next_hop.h"

#include <cstring>

#include "engine/backends/headers.h"
#include "engine/checksum.h"

namespace tartan {
namespace {

void write_eth(uint8_t* p, const MacAddr& dst, const MacAddr& src, bool ipv6 = false) {
  auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
  std::memcpy(eth->dst_addr.addr_bytes, dst.bytes.data(), 6);
  std::memcpy(eth->src_addr.addr_bytes, src.bytes.data(), 6);
  eth->ether_type = rte_cpu_to_be_16(ipv6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
}

// Outer IPv6 as Linux's vxlan driver sends it for flannel-v6
// (udp_tunnel6_xmit_skb): traffic class 0 (ECN is copied per packet), flow
// label 0 (the device's `flowlabel` is unset, so fixed 0), hop limit from
// ip6_dst_hoplimit(): 64; no extension headers. Returns the pseudo
// header's sum of addresses and next header (unfolded, network-order terms).
uint32_t write_outer_ipv6(uint8_t* p, const Ipv6Addr& src, const Ipv6Addr& dst) {
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(p);
  ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
  ip->proto = IPPROTO_UDP;
  ip->hop_limits = kIpv6HopLimit;
  std::memcpy(ip->src_addr, src.bytes.data(), 16);
  std::memcpy(ip->dst_addr, dst.bytes.data(), 16);
  uint32_t sum = 0;
  for (int i = 0; i < 16; ++i) {
    uint16_t word;
    std::memcpy(&word, p + 8 + 2 * i, 2);
    sum += word;
  }
  return sum + rte_cpu_to_be_16(IPPROTO_UDP);
}

// Outer IPv4 as the Linux vxlan driver sends it for flannel: TTL 64, DF
// clear, DSCP 0 (ECN is copied per packet), no options.
uint32_t write_outer_ipv4(uint8_t* p, Ipv4Addr src, Ipv4Addr dst) {
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = src.be();
  ip->dst_addr = dst.be();
  // Word by word through memcpy: the header struct is packed.
  uint32_t sum = 0;
  for (int i = 0; i < 10; ++i) {
    uint16_t word;
    std::memcpy(&word, p + 2 * i, 2);
    sum += word;
  }
  return sum;
}

void write_udp(uint8_t* p, uint16_t src_port, uint16_t dst_port) {
  auto* udp = reinterpret_cast<rte_udp_hdr*>(p);
  udp->src_port = rte_cpu_to_be_16(src_port);
  udp->dst_port = rte_cpu_to_be_16(dst_port);
}

// What the outer UDP checksum covers of a tunnel template besides the
// pseudo header: the UDP header's ports at `udp` and the template's bytes
// after it, up to `end`.
uint32_t udp_template_sum(const NextHop& nh, size_t udp, size_t end) {
  const auto* u = reinterpret_cast<const rte_udp_hdr*>(nh.header + udp);
  const size_t payload = udp + kUdpLen;
  return uint32_t{u->src_port} + u->dst_port + raw_checksum(nh.header + payload, end - payload);
}

// The outer UDP checksum's constant terms of an IPv4 tunnel template whose
// own bytes end at `end`.
void sum_udp_constants(NextHop& nh, size_t end) {
  const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(nh.header + kEthLen);
  nh.phdr_sum = (ip->src_addr & 0xffff) + (ip->src_addr >> 16) + (ip->dst_addr & 0xffff) +
                (ip->dst_addr >> 16) + rte_cpu_to_be_16(IPPROTO_UDP);
  nh.udp_sum = nh.phdr_sum + udp_template_sum(nh, kEthLen + kIpv4Len, end);
}

// flannel-v6's kinds: VXLAN over IPv6, or a plain L2 rewrite (host-gw,
// DirectRouting) whose Ethernet type is IPv6. Local next hops are shared
// by both families (the worker copies only their MACs for IPv6).
void build_next_hop6(const NextHopParams& p, NextHop& nh) {
  uint8_t* h = nh.header;
  switch (p.kind) {
    case NextHopKind::kVxlan: {
      write_eth(h, MacAddr{}, p.src_mac, true);
      nh.phdr_sum = write_outer_ipv6(h + kEthLen, p.local_ip6, p.public_ip6);
      const size_t udp = kEthLen + kIpv6HeaderLen;
      write_udp(h + udp, 0, p.udp_port);
      auto* vx = reinterpret_cast<rte_vxlan_hdr*>(h + udp + kUdpLen);
      vx->vx_flags = rte_cpu_to_be_32(kVxlanFlagsWord);
      vx->vx_vni = rte_cpu_to_be_32(p.vni << 8);
      write_eth(h + kVxlan6Overhead, p.remote_vtep_mac, p.our_vtep_mac, true);
      nh.header_len = kVxlan6Overhead + kEthLen;
      nh.udp_sum = nh.phdr_sum + udp_template_sum(nh, udp, nh.header_len);
      break;
    }
    case NextHopKind::kWireguard: {
      // flannel-wg-v6: from our ListenPortV6 to the peer's endpoint, which
      // flannel sets to its public IPv6 and the Port of its backend-v6-data
      // (our ListenPortV6 when it names none), and which follows the peer
      // when it roams.
      write_eth(h, MacAddr{}, p.src_mac, true);
      nh.phdr_sum = write_outer_ipv6(h + kEthLen, p.local_ip6,
                                     p.endpoint6 ? p.endpoint6->first : p.public_ip6);
      write_udp(h + kEthLen + kIpv6HeaderLen, p.udp_port,
                p.endpoint6 ? p.endpoint6->second : (p.peer_port ? p.peer_port : p.udp_port));
      nh.header_len = kUdp6TunnelHeaders;
      nh.udp_sum = nh.phdr_sum + udp_template_sum(nh, kEthLen + kIpv6HeaderLen, nh.header_len);
      break;
    }
    case NextHopKind::kDirect:
      write_eth(h, MacAddr{}, p.src_mac, true);
      nh.header_len = kEthLen;
      break;
    case NextHopKind::kUdp:    // flannel's udp backend is IPv4 only (refused before)
    case NextHopKind::kLocal:  // shared with IPv4 (ForwardingTables::create)
      break;
  }
}

}  // namespace

const char* next_hop_kind_name(NextHopKind kind) {
  switch (kind) {
    case NextHopKind::kVxlan:
      return "vxlan";
    case NextHopKind::kUdp:
      return "udp";
    case NextHopKind::kDirect:
      return "direct";
    case NextHopKind::kLocal:
      return "local";
    case NextHopKind::kWireguard:
      return "wireguard";
  }
  return "?";
}

void build_next_hop(const NextHopParams& p, NextHop& nh) {
  nh.kind = p.kind;
  nh.out_port = p.out_port;
  nh.adjacency = p.adjacency;
  nh.public_ip = p.public_ip;
  nh.vtep_mac = p.remote_vtep_mac;
  std::memset(nh.header, 0, sizeof nh.header);
  uint8_t* h = nh.header;
  nh.ipv6 = p.ipv6;
  nh.public_ip6 = p.public_ip6;
  if (p.ipv6) {
    build_next_hop6(p, nh);
    return;
  }
  switch (p.kind) {
    case NextHopKind::kVxlan: {
      write_eth(h, MacAddr{}, p.src_mac);
      nh.ip_sum = write_outer_ipv4(h + kEthLen, p.local_ip, p.public_ip);
      write_udp(h + kEthLen + kIpv4Len, 0, p.udp_port);
      auto* vx = reinterpret_cast<rte_vxlan_hdr*>(h + kEthLen + kIpv4Len + kUdpLen);
      vx->vx_flags = rte_cpu_to_be_32(kVxlanFlagsWord);
      vx->vx_vni = rte_cpu_to_be_32(p.vni << 8);
      write_eth(h + kVxlanOverhead, p.remote_vtep_mac, p.our_vtep_mac);
      nh.header_len = kVxlanOverhead + kEthLen;
      // The source port varies per flow: zero in the template.
      sum_udp_constants(nh, nh.header_len);
      break;
    }
    case NextHopKind::kUdp:
    case NextHopKind::kWireguard:
      write_eth(h, MacAddr{}, p.src_mac);
      nh.ip_sum =
          write_outer_ipv4(h + kEthLen, p.local_ip, p.endpoint ? p.endpoint->first : p.public_ip);
      // flannel's udp backend sends from and to its configured port; its
      // wireguard backend from our ListenPort to the peer's endpoint,
      // which it sets to the peer's public IP and the Port of its backend
      // data (our own ListenPort when it has none), and which follows the
      // peer when it roams. (The transport header differs per packet: not
      // in the template.)
      write_udp(h + kEthLen + kIpv4Len, p.udp_port,
                p.endpoint ? p.endpoint->second : (p.peer_port ? p.peer_port : p.udp_port));
      nh.header_len = kUdpTunnelHeaders;
      sum_udp_constants(nh, kUdpTunnelHeaders);
      break;
    case NextHopKind::kDirect:
      write_eth(h, MacAddr{}, p.src_mac);
      nh.header_len = kEthLen;
      break;
    case NextHopKind::kLocal:
      write_eth(h, p.dst_mac, p.src_mac);
      nh.header_len = kEthLen;
      break;
  }
}

}  // namespace tartan
