// Segmentation and merging for a vnet tap (vnet_tap.h): the kernel hands
// over TCP in GSO packets of up to 64 KB and takes merged ones back, so the
// host path costs a system call per 64 KB instead of per 1,450 bytes.
//
// Egress segments the inner TCP packet before encapsulation: each segment
// then takes the ordinary path (route, template, checksums from the inner
// ones), whatever the backend. Ingress merges decapsulated segments of one
// flow per burst with rte_gro, after checking each one's TCP checksum: the
// kernel trusts a merged packet's payload (its checksum is left partial),
// so nothing unverified may be folded into one.
#include <rte_ip.h>
#include <rte_tcp.h>

#include "engine/checksum.h"
#include "engine/path/worker.h"

namespace tartan {
namespace {

constexpr uint16_t kMaxSegments = 128;

inline uint16_t tcp_header_len(const rte_tcp_hdr* tcp) {
  return static_cast<uint16_t>((tcp->data_off >> 4) * 4);
}

}  // namespace

void Worker::egress_gso(uint16_t in_port, rte_mbuf* m) {
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, kEthLen);
  const uint16_t ihl = ipv4_header_len(ip);
  if (ip->next_proto_id != IPPROTO_TCP ||
      rte_pktmbuf_data_len(m) < kEthLen + ihl + sizeof(rte_tcp_hdr)) {
    return drop(m, DropReason::kGsoFailed);
  }
  const auto* tcp = rte_pktmbuf_mtod_offset(m, const rte_tcp_hdr*, kEthLen + ihl);
  const uint16_t headers = static_cast<uint16_t>(kEthLen + ihl + tcp_header_len(tcp));
  // The kernel sized its segments for the tap's MTU; where that was raised
  // past the overlay's, the overlay's wins.
  const uint16_t mss =
      std::min<uint16_t>(m->tso_segsz, static_cast<uint16_t>(kEthLen + ctx_.overlay_mtu - headers));
  m->l2_len = kEthLen;
  m->l3_len = ihl;
  m->l4_len = tcp_header_len(tcp);
  m->ol_flags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4;
  gso_.gso_size = static_cast<uint16_t>(headers + mss);
  std::array<rte_mbuf*, kMaxSegments> segs;
  const int n = rte_gso_segment(m, &gso_, segs.data(), segs.size());
  if (n <= 0) {
    // 0: it fitted one segment after all (nothing was cut).
    if (n < 0) return drop(m, DropReason::kGsoFailed);
    segs[0] = m;
  } else {
    // Its segments are new packets, not followed.
    trace_end(m, {TraceStep::kGso, 0, static_cast<uint16_t>(n)});
    rte_pktmbuf_free(m);  // the segments hold references to what they need
  }
  const auto count = static_cast<uint16_t>(n <= 0 ? 1 : n);
  counters_.events.gso_packets.add(1);
  counters_.events.gso_segments.add(count);
  for (uint16_t i = 0; i < count; ++i) {
    rte_mbuf* s = segs[i];
    s->ol_flags = 0;
    auto* sip = rte_pktmbuf_mtod_offset(s, rte_ipv4_hdr*, kEthLen);
    sip->hdr_checksum = 0;
    sip->hdr_checksum = rte_ipv4_cksum(sip);
    auto* stcp = rte_pktmbuf_mtod_offset(s, rte_tcp_hdr*, kEthLen + ihl);
    // The kernel left the pseudo header's sum for the whole packet; each
    // segment gets its own full checksum.
    stcp->cksum = 0;
    uint16_t payload_sum = 0;
    const uint32_t l4 = kEthLen + ihl;
    raw_checksum_mbuf(s, l4, rte_pktmbuf_pkt_len(s) - l4, &payload_sum);
    stcp->cksum = static_cast<uint16_t>(~csum_fold(rte_ipv4_phdr_cksum(sip, 0) + payload_sum));
  }
  for (uint16_t i = 0; i < count; i += kMaxBurst)
    egress(in_port, &segs[i], static_cast<uint16_t>(std::min<int>(kMaxBurst, count - i)));
}

void Worker::stage_for_gro(uint16_t port, rte_mbuf* m) {
  if (gro_count_ == gro_batch_.size() || (gro_count_ != 0 && port != gro_port_)) flush_gro();
  gro_port_ = port;
  m->ol_flags = 0;
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen);
  const uint16_t ihl = ipv4_header_len(ip);
  const uint16_t total = rte_be_to_cpu_16(ip->total_length);
  bool mergeable = false;
  if (ip->next_proto_id == IPPROTO_TCP && !ipv4_is_fragment(ip) && m->nb_segs == 1 &&
      total >= ihl + sizeof(rte_tcp_hdr)) {
    const auto* tcp =
        reinterpret_cast<const rte_tcp_hdr*>(reinterpret_cast<const uint8_t*>(ip) + ihl);
    const uint16_t thl = tcp_header_len(tcp);
    // What rte_gro merges: data segments with only ACK set.
    if (thl >= sizeof(rte_tcp_hdr) && ihl + thl < total && tcp->tcp_flags == RTE_TCP_ACK_FLAG) {
      const uint32_t sum =
          rte_ipv4_phdr_cksum(ip, 0) + raw_checksum(tcp, static_cast<size_t>(total - ihl));
      mergeable = csum_fold(sum) == 0xffff;
      m->l2_len = kEthLen;
      m->l3_len = ihl;
      m->l4_len = thl;
      m->tso_segsz = static_cast<uint16_t>(total - ihl - thl);  // this segment's payload
    }
  }
  if (!mergeable) {
    // rte_gro would put it after everything it merged: sent now, behind
    // what came before it, so no flow is reordered (TCP would take that
    // for loss).
    flush_gro();
    tx_.push(port, m);
    return;
  }
  m->packet_type = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_TCP;
  // Sent with the batch, perhaps merged with others: followed no further.
  trace_end(m, {TraceStep::kGro, 0, port});
  if (gro_count_ == 0) gro_since_ = rte_rdtsc();
  gro_batch_[gro_count_++] = m;
}

bool Worker::gro_due(unsigned received) const {
  return gro_count_ != 0 && (received == 0 || gro_count_ + burst_ > gro_batch_.size() ||
                             rte_rdtsc() - gro_since_ > gro_hold_cycles_);
}

void Worker::flush_gro() {
  if (gro_count_ == 0) return;
  const uint16_t n =
      gro_count_ > 1 ? rte_gro_reassemble_burst(gro_batch_.data(), gro_count_, &gro_) : gro_count_;
  gro_count_ = 0;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = gro_batch_[i];
    if ((m->packet_type & RTE_PTYPE_L4_MASK) == RTE_PTYPE_L4_TCP) {
      auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, kEthLen);
      const uint16_t payload =
          static_cast<uint16_t>(rte_be_to_cpu_16(ip->total_length) - m->l3_len - m->l4_len);
      if (payload > m->tso_segsz) {
        // Merged: its IPv4 length changed, and its TCP checksum is left
        // partial for the kernel, as a NIC's LRO hands it over.
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        rte_pktmbuf_mtod_offset(m, rte_tcp_hdr*, kEthLen + m->l3_len)->cksum =
            rte_ipv4_phdr_cksum(ip, 0);
        m->ol_flags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
        counters_.events.gro_merged.add(1);
        counters_.events.gro_segments.add(m->nb_segs);  // one mbuf per merged segment
      }
    }
    tx_.push(gro_port_, m);
  }
}

}  // namespace tartan
