// The trace decisions of egress that take more than values at hand: read
// back from the headers encapsulate() just wrote, only while tracing.
#include "engine/backends/headers.h"
#include "engine/path/worker.h"

namespace tartan {

void Worker::trace_rewrite(const rte_mbuf* m, const NextHop& nh, bool resolved,
                           const uint8_t* dst_mac) {
  trace_->note(
      index_, m,
      {TraceStep::kNeighbour, resolved, 0, nh.adjacency, resolved ? trace_mac(dst_mac) : 0});
  TraceEvent e{TraceStep::kRewrite, static_cast<uint8_t>(nh.kind), 0, 0, nh.out_port};
  if (nh.ipv6 && nh.kind == NextHopKind::kVxlan) {
    // The outer destination is the next hop's node's public IPv6, named
    // on the control side.
    e.step = TraceStep::kRewrite6;
    e.a16 = rte_be_to_cpu_16(
        rte_pktmbuf_mtod_offset(m, const rte_udp_hdr*, kEthLen + kIpv6HeaderLen)->src_port);
    e.a32 = nh.id;
  } else if (tunnel_kind(nh.kind)) {
    const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen);
    const auto* udp = rte_pktmbuf_mtod_offset(m, const rte_udp_hdr*, kEthLen + kIpv4Len);
    e.a16 = rte_be_to_cpu_16(udp->src_port);
    e.a32 = ip->dst_addr;
  }
  trace_->note(index_, m, e);
}

}  // namespace tartan
