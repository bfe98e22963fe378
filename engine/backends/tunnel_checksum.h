// The checksums of a tunnel packet on receive, as a Linux node checks them:
// the outer UDP checksum is verified (Linux's UDP layer does so before
// vxlan_rcv() sees the packet; a zero one is accepted, RFC 7348 section 5),
// and an inner TCP or UDP checksum a Linux sender left partial is finished.
//
// Why partial: a Linux VTEP hands its device packets whose inner L4
// checksum is CHECKSUM_PARTIAL (the field holds only the pseudo-header sum;
// the NIC finishes it) and computes the outer UDP checksum as if the inner
// were finished (local checksum offload, LCO); where the inner packet is
// complete, it leaves the outer checksum partial instead. Over a wire the
// NIC has finished it. Over a veth, or a VM's virtio-net, the frame
// reaches the af_packet socket under tartan's underlay still partial,
// marked TP_STATUS_CSUMNOTREADY, which DPDK 22.11's af_packet PMD does not
// pass on (it copies tp_snaplen bytes and no status). A partial outer
// checksum holds exactly its pseudo-header sum; an LCO frame's outer
// checksum verifies only once the inner one is finished. Finished from the bytes as
// they came, the inner checksum leaves the outer one vouching for all but
// the inner TCP or UDP segment, which nothing ever summed: as for Linux,
// which trusts a CHECKSUM_PARTIAL packet from a veth (it crossed no wire).
#pragma once

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <cstddef>
#include <optional>

#include "engine/backends/headers.h"
#include "engine/checksum.h"

namespace tartan {

// What the receiving port said of the outer UDP checksum: its L4 verdict,
// or the outer L4 one where it parsed the packet as a tunnel (then its L4
// verdict is the inner packet's). RTE_MBUF_F_RX_L4_CKSUM_* values.
inline uint64_t rx_outer_udp_verdict(const rte_mbuf* m) {
  if (m->packet_type & RTE_PTYPE_TUNNEL_MASK) {
    switch (m->ol_flags & RTE_MBUF_F_RX_OUTER_L4_CKSUM_MASK) {
      case RTE_MBUF_F_RX_OUTER_L4_CKSUM_GOOD:
        return RTE_MBUF_F_RX_L4_CKSUM_GOOD;
      case RTE_MBUF_F_RX_OUTER_L4_CKSUM_BAD:
        return RTE_MBUF_F_RX_L4_CKSUM_BAD;
      default:
        return RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN;
    }
  }
  return m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
}

// Finishes a TCP or UDP checksum left partial in the IP packet at `l3`
// of `m`: one whose field holds exactly the pseudo-header sum (what Linux
// writes for CHECKSUM_PARTIAL) and that does not verify as it is. Returns
// the field's old and new values (network order), or nullopt when there
// was none to finish. One pass over the L4 bytes, only for such packets.
struct FinishedChecksum {
  uint16_t was, now;
};
// The part both families share: the TCP or UDP segment of `l4_len` bytes at
// `l4` (protocol `proto`) whose pseudo header sums to `pseudo`.
inline std::optional<FinishedChecksum> finish_partial_l4_at(rte_mbuf* m, uint32_t l4,
                                                            uint16_t l4_len, uint8_t proto,
                                                            uint32_t pseudo) {
  size_t field;
  if (proto == IPPROTO_TCP) {
    field = offsetof(rte_tcp_hdr, cksum);
  } else if (proto == IPPROTO_UDP) {
    field = offsetof(rte_udp_hdr, dgram_cksum);
  } else {
    return std::nullopt;
  }
  if (l4_len < field + 2 || rte_pktmbuf_data_len(m) < l4 + field + 2 ||
      l4 + uint32_t{l4_len} > rte_pktmbuf_pkt_len(m)) {
    return std::nullopt;
  }
  auto* check = rte_pktmbuf_mtod_offset(m, unaligned_uint16_t*, l4 + field);
  const uint16_t was = *check;
  if (was != csum_fold(pseudo)) return std::nullopt;
  uint16_t sum = 0;  // of the L4 bytes as they are, `was` included
  if (raw_checksum_mbuf(m, l4, l4_len, &sum) != 0) return std::nullopt;
  if (csum_fold(uint32_t{sum} + pseudo) == 0xffff) return std::nullopt;  // valid as it is
  uint16_t now =
      static_cast<uint16_t>(~csum_fold(uint32_t{sum} + static_cast<uint16_t>(~was) + pseudo));
  if (now == 0 && proto == IPPROTO_UDP) now = 0xffff;  // zero means "none" for UDP
  *check = now;
  return FinishedChecksum{was, now};
}

// The partial checksum of the TCP or UDP segment after the IPv4 or IPv6
// header at `l3` of `m` (its family: `Ip`), finished as above.
template <typename Ip>
std::optional<FinishedChecksum> finish_partial_l4_checksum(rte_mbuf* m, uint16_t l3);

template <>
inline std::optional<FinishedChecksum> finish_partial_l4_checksum<rte_ipv4_hdr>(rte_mbuf* m,
                                                                                uint16_t l3) {
  const uint32_t data_len = rte_pktmbuf_data_len(m);
  if (data_len < l3 + uint32_t{kIpv4Len}) return std::nullopt;
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, l3);
  if ((ip->version_ihl >> 4) != 4 || ipv4_is_fragment(ip)) return std::nullopt;
  const uint16_t ihl = ipv4_header_len(ip);
  const uint16_t total = rte_be_to_cpu_16(ip->total_length);
  if (ihl < kIpv4Len || total < ihl || data_len < l3 + uint32_t{ihl}) return std::nullopt;
  const uint16_t l4_len = static_cast<uint16_t>(total - ihl);
  return finish_partial_l4_at(m, l3 + ihl, l4_len, ip->next_proto_id,
                              ipv4_pseudo_header_sum(ip, ip->next_proto_id, l4_len));
}

template <>
inline std::optional<FinishedChecksum> finish_partial_l4_checksum<rte_ipv6_hdr>(rte_mbuf* m,
                                                                                uint16_t l3) {
  if (rte_pktmbuf_data_len(m) < l3 + uint32_t{kIpv6HeaderLen}) return std::nullopt;
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, l3);
  const uint16_t l4_len = rte_be_to_cpu_16(ip->payload_len);
  return finish_partial_l4_at(m, l3 + kIpv6HeaderLen, l4_len, ip->proto,
                              ipv6_pseudo_header_sum(ip, ip->proto, l4_len));
}

inline uint32_t pseudo_header_sum(const rte_ipv4_hdr* ip, uint8_t proto, uint16_t len) {
  return ipv4_pseudo_header_sum(ip, proto, len);
}
inline uint32_t pseudo_header_sum(const rte_ipv6_hdr* ip, uint8_t proto, uint16_t len) {
  return ipv6_pseudo_header_sum(ip, proto, len);
}

// Checks the outer UDP checksum of the tunnel packet in `m` (outer header
// of family `Ip` at kEthLen, UDP header at `l4`, `udp_len` bytes of UDP)
// and finishes a partial checksum of the inner packet of the same family
// at `inner_l3` (0: the payload is none). `rx_verdict` is the port's
// (rx_outer_udp_verdict), RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN when it has none.
// False when the packet must be dropped: a non-zero outer checksum that
// is wrong. A zero one means none over IPv4 (RFC 7348); over IPv6 it is
// refused before it gets here (RFC 8200 8.1; RFC 6935/6936 allow it only
// where configured, as Linux's udp6zerocsumrx, off by default, does).
// Inlined into the decapsulation stage it belongs to, as check_ipv4().
template <typename Ip>
[[gnu::always_inline]] inline bool tunnel_checksums_ok(rte_mbuf* m, uint16_t l4, uint16_t udp_len,
                                                       uint16_t inner_l3, uint64_t rx_verdict) {
  const auto* udp = rte_pktmbuf_mtod_offset(m, const rte_udp_hdr*, l4);
  const auto* outer = rte_pktmbuf_mtod_offset(m, const Ip*, kEthLen);
  const uint32_t pseudo = pseudo_header_sum(outer, IPPROTO_UDP, udp_len);
  // No outer checksum, or one a Linux sender left partial: nothing to hold
  // a finished inner one to; the partial pattern and the inner checksum
  // failing as it is must do.
  if (udp->dgram_cksum == 0 || udp->dgram_cksum == csum_fold(pseudo)) {
    if (inner_l3 != 0) finish_partial_l4_checksum<Ip>(m, inner_l3);
    return true;
  }
  if (rx_verdict == RTE_MBUF_F_RX_L4_CKSUM_GOOD) return true;
  if (rx_verdict == RTE_MBUF_F_RX_L4_CKSUM_BAD) return false;
  uint16_t sum = 0;
  if (raw_checksum_mbuf(m, l4, udp_len, &sum) != 0) return false;
  uint32_t total = uint32_t{sum} + pseudo;
  if (csum_fold(total) == 0xffff) return true;
  if (inner_l3 == 0) return false;
  const auto finished = finish_partial_l4_checksum<Ip>(m, inner_l3);
  if (!finished) return false;
  // The field's change, in one's complement: minus the old value, plus the new.
  total += static_cast<uint16_t>(~finished->was) + uint32_t{finished->now};
  return csum_fold(total) == 0xffff;
}

}  // namespace tartan
