#include "engine/path/icmp.h"

#include <rte_icmp.h>
#include <rte_ip.h>
#include <sanitizer/asan_interface.h>

#include <algorithm>
#include <cstring>

#include "engine/backends/headers.h"

namespace tartan {

bool icmp_error_allowed(const rte_mbuf* m, uint16_t l3_offset) {
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, l3_offset);
  if ((ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK)) != 0) return false;
  const uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);
  if (dst == 0xffffffff || (dst >> 28) == 0xe) return false;
  if (ip->next_proto_id == IPPROTO_ICMP) {
    const uint16_t ihl = ipv4_header_len(ip);
    if (rte_pktmbuf_data_len(m) < l3_offset + ihl + 1u) return false;
    const uint8_t icmp_type = *rte_pktmbuf_mtod_offset(m, const uint8_t*, l3_offset + ihl);
    // Only echo request/reply, timestamp and the like may trigger errors.
    if (icmp_type != RTE_IP_ICMP_ECHO_REQUEST && icmp_type != RTE_IP_ICMP_ECHO_REPLY) return false;
  }
  return true;
}

void make_icmp_error(rte_mbuf* m, uint16_t l3_offset, uint8_t type, uint8_t code, uint16_t mtu,
                     Ipv4Addr src) {
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  const auto* offender = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, l3_offset);
  const uint16_t ihl = ipv4_header_len(offender);
  const uint32_t offender_src = offender->src_addr;
  const uint16_t available = static_cast<uint16_t>(rte_pktmbuf_data_len(m) - l3_offset);
  const uint16_t quoted = std::min<uint16_t>(available, ihl + 8);

  // New layout: Ethernet | IPv4 (20) | ICMP (8) | quoted bytes. The quote
  // moves back from l3_offset to kEthLen + 28; memmove handles the overlap.
  uint8_t quote[60 + 8];
  std::memcpy(quote, offender, quoted);
  const uint16_t total = kEthLen + kIpv4Len + 8 + quoted;
  if (rte_pktmbuf_data_len(m) < total) {
    const uint16_t grow = static_cast<uint16_t>(total - rte_pktmbuf_data_len(m));
    // The fuzz targets poison the tailroom of the frames they feed in, so a
    // read past a frame's end is caught in DPDK's memory too: what is
    // appended belongs to the frame now (a no-op without AddressSanitizer).
    if (char* tail = rte_pktmbuf_append(m, grow)) ASAN_UNPOISON_MEMORY_REGION(tail, grow);
  } else
    rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - total));
  eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);

  const rte_ether_addr sender_mac = eth->src_addr;
  eth->src_addr = eth->dst_addr;
  eth->dst_addr = sender_mac;
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);

  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  std::memset(ip, 0, kIpv4Len);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(kIpv4Len + 8 + quoted));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_ICMP;
  ip->src_addr = src.be();
  ip->dst_addr = offender_src;
  ip->hdr_checksum = rte_ipv4_cksum(ip);

  auto* icmp = reinterpret_cast<uint8_t*>(ip + 1);
  icmp[0] = type;
  icmp[1] = code;
  icmp[2] = icmp[3] = 0;
  icmp[4] = icmp[5] = 0;  // unused
  const uint16_t mtu_be = rte_cpu_to_be_16(mtu);
  std::memcpy(icmp + 6, &mtu_be, 2);  // next-hop MTU (RFC 1191), zero for other errors
  std::memcpy(icmp + 8, quote, quoted);
  const uint16_t sum = static_cast<uint16_t>(~rte_raw_cksum(icmp, 8 + quoted));
  std::memcpy(icmp + 2, &sum, 2);
  m->ol_flags = 0;
}

}  // namespace tartan
