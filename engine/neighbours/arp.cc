#include "engine/neighbours/arp.h"

#include <rte_ether.h>

#include <cstring>

namespace tartan {
namespace {

constexpr uint16_t kArpFrameLen = sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr);  // 42

// ARP headers are packed: copy MACs by address, never bind references.
MacAddr to_mac(const void* a) {
  MacAddr m;
  std::memcpy(m.bytes.data(), a, 6);
  return m;
}

void from_mac(void* a, const MacAddr& m) {
  std::memcpy(a, m.bytes.data(), 6);
}

}  // namespace

std::optional<ArpInfo> parse_arp(const rte_mbuf* m) {
  if (rte_pktmbuf_data_len(m) < kArpFrameLen) return std::nullopt;
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) return std::nullopt;
  const auto* arp = reinterpret_cast<const rte_arp_hdr*>(eth + 1);
  if (arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
      arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || arp->arp_hlen != 6 ||
      arp->arp_plen != 4) {
    return std::nullopt;
  }
  const uint16_t op = rte_be_to_cpu_16(arp->arp_opcode);
  if (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY) return std::nullopt;
  ArpInfo info;
  info.op = op;
  info.sender_mac = to_mac(&arp->arp_data.arp_sha);
  info.sender_ip = Ipv4Addr::from_be(arp->arp_data.arp_sip);
  info.target_ip = Ipv4Addr::from_be(arp->arp_data.arp_tip);
  return info;
}

void make_arp_reply(rte_mbuf* m, const MacAddr& answer_mac) {
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  const rte_ether_addr asker_mac = arp->arp_data.arp_sha;
  const uint32_t asker_ip = arp->arp_data.arp_sip;
  arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
  arp->arp_data.arp_tha = asker_mac;
  arp->arp_data.arp_sip = arp->arp_data.arp_tip;
  arp->arp_data.arp_tip = asker_ip;
  from_mac(&arp->arp_data.arp_sha, answer_mac);
  eth->dst_addr = asker_mac;
  from_mac(&eth->src_addr, answer_mac);
  // Drop any Ethernet padding the request carried.
  rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - kArpFrameLen));
}

bool build_arp_request(rte_mbuf* m, const MacAddr& src_mac, Ipv4Addr src_ip, Ipv4Addr target) {
  char* frame = rte_pktmbuf_append(m, kArpFrameLen);
  if (frame == nullptr) return false;
  std::memset(frame, 0, kArpFrameLen);
  auto* eth = reinterpret_cast<rte_ether_hdr*>(frame);
  std::memset(eth->dst_addr.addr_bytes, 0xff, 6);
  from_mac(&eth->src_addr, src_mac);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
  arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  arp->arp_hlen = 6;
  arp->arp_plen = 4;
  arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
  from_mac(&arp->arp_data.arp_sha, src_mac);
  arp->arp_data.arp_sip = src_ip.be();
  arp->arp_data.arp_tip = target.be();
  return true;
}

}  // namespace tartan
