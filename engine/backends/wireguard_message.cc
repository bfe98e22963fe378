#include "engine/backends/wireguard_message.h"

#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>

#include "engine/backends/headers.h"

namespace tartan {

std::optional<WireguardMessage> take_wireguard_message(const rte_mbuf* m) {
  // The worker made the frame one segment before it looked at the type.
  const uint32_t len = rte_pktmbuf_data_len(m);
  if (len < kEthLen + 1) return std::nullopt;
  WireguardMessage message;
  uint32_t l4;
  const auto version = *rte_pktmbuf_mtod_offset(m, const uint8_t*, kEthLen) >> 4;
  if (version == 6) {
    // The worker took UDP right after the fixed header only.
    if (len < kEthLen + kIpv6HeaderLen) return std::nullopt;
    const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, kEthLen);
    Ipv6Addr src;
    std::memcpy(src.bytes.data(), ip->src_addr, 16);
    message.source = src;
    l4 = kEthLen + kIpv6HeaderLen;
  } else {
    if (len < kEthLen + kIpv4Len) return std::nullopt;
    const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen);
    message.source = Ipv4Addr::from_be(ip->src_addr);
    l4 = kEthLen + ipv4_header_len(ip);
  }
  if (l4 + kUdpLen > len) return std::nullopt;
  const auto* udp = rte_pktmbuf_mtod_offset(m, const rte_udp_hdr*, l4);
  const uint16_t udp_len = rte_be_to_cpu_16(udp->dgram_len);
  if (udp_len < kUdpLen || l4 + udp_len > len) return std::nullopt;
  const auto* payload = reinterpret_cast<const uint8_t*>(udp + 1);
  message.source_port = rte_be_to_cpu_16(udp->src_port);
  message.bytes.assign(payload, payload + udp_len - kUdpLen);
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  std::memcpy(message.source_mac.bytes.data(), eth->src_addr.addr_bytes, 6);
  return message;
}

}  // namespace tartan
