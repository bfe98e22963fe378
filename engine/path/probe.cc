#include "engine/path/probe.h"

#include <rte_icmp.h>
#include <rte_ip.h>

#include <cstring>

#include "engine/backends/headers.h"

namespace tartan {
namespace {

constexpr char kMarker[8] = {'t', 'a', 'r', 't', 'a', 'n', 'p', 'r'};
constexpr uint16_t kMarkerAt = sizeof(rte_icmp_hdr);
constexpr uint16_t kRequestTscAt = kMarkerAt + 8;
constexpr uint16_t kReplyTscAt = kRequestTscAt + 8;
static_assert(kReplyTscAt + 8 == kProbeIcmpLen);

// The ICMP message of the IPv4 packet behind the Ethernet header, when it
// is long enough to be a probe's.
const uint8_t* probe_icmp(const rte_mbuf* m) {
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen);
  if (ip->next_proto_id != IPPROTO_ICMP || ipv4_is_fragment(ip)) return nullptr;
  const uint16_t ihl = ipv4_header_len(ip);
  if (rte_be_to_cpu_16(ip->total_length) < ihl + kProbeIcmpLen ||
      rte_pktmbuf_data_len(m) < kEthLen + ihl + kProbeIcmpLen)
    return nullptr;
  return rte_pktmbuf_mtod_offset(m, const uint8_t*, kEthLen + ihl);
}

}  // namespace

bool build_probe(rte_mbuf* m, Ipv4Addr src, Ipv4Addr dst, uint16_t ident, uint16_t seq,
                 uint64_t tsc) {
  constexpr uint16_t kLen = kEthLen + kIpv4Len + kProbeIcmpLen;
  auto* frame = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kLen));
  if (frame == nullptr) return false;
  std::memset(frame, 0, kLen);
  auto* eth = reinterpret_cast<rte_ether_hdr*>(frame);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = rte_cpu_to_be_16(kIpv4Len + kProbeIcmpLen);
  ip->packet_id = rte_cpu_to_be_16(seq);
  ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_ICMP;
  ip->src_addr = src.be();
  ip->dst_addr = dst.be();
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* icmp = reinterpret_cast<uint8_t*>(ip + 1);
  auto* h = reinterpret_cast<rte_icmp_hdr*>(icmp);
  h->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
  h->icmp_ident = rte_cpu_to_be_16(ident);
  h->icmp_seq_nb = rte_cpu_to_be_16(seq);
  std::memcpy(icmp + kMarkerAt, kMarker, sizeof kMarker);
  std::memcpy(icmp + kRequestTscAt, &tsc, sizeof tsc);
  h->icmp_cksum = static_cast<uint16_t>(~rte_raw_cksum(icmp, kProbeIcmpLen));
  return true;
}

bool take_probe_reply(rte_mbuf* m, uint16_t ident_be, uint64_t tsc) {
  const uint8_t* icmp = probe_icmp(m);
  if (icmp == nullptr) return false;
  const auto* h = reinterpret_cast<const rte_icmp_hdr*>(icmp);
  if (h->icmp_type != RTE_IP_ICMP_ECHO_REPLY || h->icmp_code != 0 || h->icmp_ident != ident_be ||
      std::memcmp(icmp + kMarkerAt, kMarker, sizeof kMarker) != 0)
    return false;
  // The reply is ours from here on: the ICMP checksum no longer matters.
  std::memcpy(const_cast<uint8_t*>(icmp) + kReplyTscAt, &tsc, sizeof tsc);
  return true;
}

std::optional<ProbeReply> parse_probe_reply(const rte_mbuf* m, uint64_t tsc_hz) {
  const uint8_t* icmp = probe_icmp(m);
  if (icmp == nullptr || tsc_hz == 0) return std::nullopt;
  uint64_t sent = 0, taken = 0;
  std::memcpy(&sent, icmp + kRequestTscAt, sizeof sent);
  std::memcpy(&taken, icmp + kReplyTscAt, sizeof taken);
  ProbeReply r;
  r.from = Ipv4Addr::from_be(rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen)->src_addr);
  r.seq = rte_be_to_cpu_16(reinterpret_cast<const rte_icmp_hdr*>(icmp)->icmp_seq_nb);
  // A peer that mangles the payload gets no negative round trip.
  const uint64_t cycles = taken > sent ? taken - sent : 0;
  r.rtt_ns = static_cast<uint64_t>(static_cast<double>(cycles) * 1e9 / static_cast<double>(tsc_hz));
  return r;
}

}  // namespace tartan
