#include "tests/support/packets.h"

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>
#include <stdexcept>

namespace tartan::testing {

std::vector<uint8_t> udp_frame(const UdpFrameSpec& s) {
  const size_t l3 = sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr) + s.payload_size;
  std::vector<uint8_t> f(sizeof(rte_ether_hdr) + l3, 0);
  auto* eth = reinterpret_cast<rte_ether_hdr*>(f.data());
  std::memcpy(eth->dst_addr.addr_bytes, s.dst_mac.bytes.data(), 6);
  std::memcpy(eth->src_addr.addr_bytes, s.src_mac.bytes.data(), 6);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->type_of_service = s.tos;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(l3));
  ip->packet_id = rte_cpu_to_be_16(1);
  ip->fragment_offset = s.dont_fragment ? rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG) : 0;
  ip->time_to_live = s.ttl;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = s.src_ip.be();
  ip->dst_addr = s.dst_ip.be();
  auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  udp->src_port = rte_cpu_to_be_16(s.src_port);
  udp->dst_port = rte_cpu_to_be_16(s.dst_port);
  udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(sizeof(rte_udp_hdr) + s.payload_size));
  std::memset(udp + 1, s.payload_fill, s.payload_size);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
  return f;
}

rte_mbuf* to_mbuf(rte_mempool* pool, const std::vector<uint8_t>& bytes) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) throw std::runtime_error("mempool exhausted");
  char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(bytes.size()));
  if (p == nullptr) throw std::runtime_error("frame larger than an mbuf");
  std::memcpy(p, bytes.data(), bytes.size());
  return m;
}

std::vector<uint8_t> from_mbuf(const rte_mbuf* m) {
  std::vector<uint8_t> out(rte_pktmbuf_pkt_len(m));
  const void* p = rte_pktmbuf_read(m, 0, out.size(), out.data());
  if (p != out.data()) std::memcpy(out.data(), p, out.size());
  return out;
}

void free_all(const std::vector<rte_mbuf*>& pkts) {
  for (rte_mbuf* m : pkts) rte_pktmbuf_free(m);
}

}  // namespace tartan::testing
