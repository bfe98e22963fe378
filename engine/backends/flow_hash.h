// The outer UDP source port of an encapsulated packet: a hash of the inner
// flow mapped into the local port range exactly as Linux's
// udp_flow_src_port() does, so a flow keeps its port and flows spread over
// 32768..60998 (RFC 7348 section 5, "Source Port").
#pragma once

#include <rte_hash_crc.h>
#include <rte_ip.h>

#include <cstdint>

#include "engine/backends/headers.h"

namespace tartan {

inline constexpr uint32_t kLinuxPortMin = 32768;  // net.ipv4.ip_local_port_range defaults
inline constexpr uint32_t kLinuxPortMax = 60999;

// CRC32-C over the inner 5-tuple (addresses and protocol, plus ports for
// unfragmented TCP/UDP/SCTP). `l3_len` is how many bytes of the IPv4 packet
// are present, so ports are only read when they are there.
inline uint32_t inner_flow_hash(const rte_ipv4_hdr* ip, uint32_t l3_len) {
  uint32_t h = rte_hash_crc_4byte(ip->src_addr, 0x7a87a87a);
  h = rte_hash_crc_4byte(ip->dst_addr, h);
  h = rte_hash_crc_1byte(ip->next_proto_id, h);
  const uint16_t ihl = ipv4_header_len(ip);
  const uint8_t proto = ip->next_proto_id;
  if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP) &&
      !ipv4_is_fragment(ip) && l3_len >= ihl + 4u) {
    uint32_t ports;
    __builtin_memcpy(&ports, reinterpret_cast<const uint8_t*>(ip) + ihl, 4);
    h = rte_hash_crc_4byte(ports, h);
  }
  return h;
}

// The same over an inner IPv6 packet: addresses, next header and, when it
// is TCP, UDP or SCTP directly after the fixed header, the ports.
inline uint32_t inner_flow_hash6(const rte_ipv6_hdr* ip, uint32_t l3_len) {
  uint64_t a[4];
  __builtin_memcpy(a, ip->src_addr, 32);
  uint32_t h = 0x7a87a87a;
  for (uint64_t w : a) h = rte_hash_crc_8byte(w, h);
  const uint8_t proto = ip->proto;
  h = rte_hash_crc_1byte(proto, h);
  if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP) &&
      l3_len >= kIpv6HeaderLen + 4u) {
    uint32_t ports;
    __builtin_memcpy(&ports, reinterpret_cast<const uint8_t*>(ip) + kIpv6HeaderLen, 4);
    h = rte_hash_crc_4byte(ports, h);
  }
  return h;
}

// Linux: hash ^= hash << 16; port = ((u64)hash * (max - min)) >> 32) + min.
inline uint16_t linux_udp_src_port(uint32_t hash) {
  hash ^= hash << 16;
  return static_cast<uint16_t>(
      ((static_cast<uint64_t>(hash) * (kLinuxPortMax - kLinuxPortMin)) >> 32) + kLinuxPortMin);
}

}  // namespace tartan
