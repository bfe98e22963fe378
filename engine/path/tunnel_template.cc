#include "engine/path/tunnel_template.h"

#include <rte_byteorder.h>

#include <cstddef>

#include "engine/backends/headers.h"

namespace tartan {
namespace {

// Sets `len` bytes at `offset`: their value and that all of their bits count.
void fix(uint8_t* value, uint8_t* mask, size_t offset, const void* bytes, size_t len) {
  std::memcpy(value + offset, bytes, len);
  std::memset(mask + offset, 0xff, len);
}

// VXLAN's fixed fields from `vxlan` on: the kernel's flags word, our VNI
// and the reserved byte after it, which must be zero, and the inner
// Ethernet header: to the family's VTEP MAC, of its type (network order).
void fix_vxlan(uint8_t* value, uint8_t* mask, size_t vxlan, const DatapathContext& ctx,
               const rte_ether_addr& vtep_mac, uint16_t ether_type_be) {
  const uint32_t flags = rte_cpu_to_be_32(kVxlanFlagsWord);
  fix(value, mask, vxlan + offsetof(rte_vxlan_hdr, vx_flags), &flags, 4);
  fix(value, mask, vxlan + offsetof(rte_vxlan_hdr, vx_vni), &ctx.vni_be, 4);
  const size_t inner = vxlan + kVxlanLen;
  fix(value, mask, inner + offsetof(rte_ether_hdr, dst_addr), &vtep_mac, 6);
  fix(value, mask, inner + offsetof(rte_ether_hdr, ether_type), &ether_type_be, 2);
}

}  // namespace

TunnelTemplate::TunnelTemplate(const DatapathContext& ctx) {
  uint8_t value[kTunnelTemplateLen] = {};
  uint8_t mask[kTunnelTemplateLen] = {};
  const uint16_t ipv4 = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  const size_t ip = kEthLen;
  const size_t udp = kEthLen + kIpv4Len;
  fix(value, mask, offsetof(rte_ether_hdr, dst_addr), &ctx.underlay_mac, 6);
  fix(value, mask, offsetof(rte_ether_hdr, ether_type), &ipv4, 2);
  if (ctx.backend == BackendType::kHostGw || ctx.underlay_ip_be == 0) {
    // Version 0 is no IPv4 header: nothing matches (no IPv4 tunnel comes
    // to an IPv6-only underlay).
    const uint8_t none = 0;
    fix(value, mask, ip + offsetof(rte_ipv4_hdr, version_ihl), &none, 1);
  } else {
    const uint8_t version_ihl = 0x45;
    fix(value, mask, ip + offsetof(rte_ipv4_hdr, version_ihl), &version_ihl, 1);
    // Not a fragment: MF and the offset zero; DF and the reserved bit free.
    const uint16_t fragment = rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK | RTE_IPV4_HDR_MF_FLAG);
    std::memcpy(mask + ip + offsetof(rte_ipv4_hdr, fragment_offset), &fragment, 2);
    const uint8_t udp_proto = IPPROTO_UDP;
    fix(value, mask, ip + offsetof(rte_ipv4_hdr, next_proto_id), &udp_proto, 1);
    fix(value, mask, ip + offsetof(rte_ipv4_hdr, dst_addr), &ctx.underlay_ip_be, 4);
    fix(value, mask, udp + offsetof(rte_udp_hdr, dst_port), &ctx.tunnel_port_be, 2);
  }
  if (ctx.backend == BackendType::kVxlan)
    fix_vxlan(value, mask, udp + kUdpLen, ctx, ctx.vtep_mac, ipv4);
  set(value, mask);
}

TunnelTemplate6::TunnelTemplate6(const DatapathContext& ctx) {
  uint8_t value[kTunnel6TemplateLen] = {};
  uint8_t mask[kTunnel6TemplateLen] = {};
  const uint16_t ipv6 = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
  const size_t ip = kEthLen;
  const size_t udp = kEthLen + kIpv6HeaderLen;
  fix(value, mask, offsetof(rte_ether_hdr, dst_addr), &ctx.underlay_mac, 6);
  fix(value, mask, offsetof(rte_ether_hdr, ether_type), &ipv6, 2);
  // Version 6 in the first nibble; 0 (nothing matches) without an IPv6
  // tunnel (VXLAN, or wireguard's flannel-wg-v6).
  const bool tunnel =
      ctx.ipv6 && (ctx.backend == BackendType::kVxlan || ctx.backend == BackendType::kWireguard);
  value[ip] = tunnel ? 0x60 : 0x00;
  mask[ip] = 0xf0;
  const uint8_t udp_proto = IPPROTO_UDP;
  fix(value, mask, ip + offsetof(rte_ipv6_hdr, proto), &udp_proto, 1);
  fix(value, mask, ip + offsetof(rte_ipv6_hdr, dst_addr), ctx.underlay_ip6.data(), 16);
  fix(value, mask, udp + offsetof(rte_udp_hdr, dst_port), &ctx.tunnel_port6_be, 2);
  if (ctx.backend == BackendType::kVxlan)
    fix_vxlan(value, mask, udp + kUdpLen, ctx, ctx.vtep_mac6, ipv6);
  set(value, mask);
}

}  // namespace tartan
