#include "perf/marker.h"

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "perf/checksum.h"

namespace tartan::perf {
namespace {

constexpr uint32_t kEthLen = sizeof(rte_ether_hdr);
constexpr uint32_t kVlanLen = 4;
constexpr uint32_t kVxlanLen = 8;

// An unfragmented IPv4 packet carrying a whole TCP or UDP header.
bool parse_ipv4(const uint8_t* p, uint32_t avail, L4View& v) {
  if (avail < sizeof(rte_ipv4_hdr)) return false;
  const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(p);
  const uint32_t ihl = static_cast<uint32_t>(ip->version_ihl & 0x0f) * 4;
  const uint32_t total = rte_be_to_cpu_16(ip->total_length);
  if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(rte_ipv4_hdr) || total < ihl || total > avail)
    return false;
  if ((rte_be_to_cpu_16(ip->fragment_offset) & 0x3fff) != 0) return false;
  uint32_t header_len = 0;
  if (ip->next_proto_id == IPPROTO_UDP) {
    header_len = sizeof(rte_udp_hdr);
  } else if (ip->next_proto_id == IPPROTO_TCP) {
    if (total - ihl < sizeof(rte_tcp_hdr)) return false;
    header_len = static_cast<uint32_t>(p[ihl + 12] >> 4) * 4;  // the data offset
    if (header_len < sizeof(rte_tcp_hdr)) return false;
  } else {
    return false;
  }
  if (total - ihl < header_len) return false;
  v.ip = ip;
  v.l4 = p + ihl;
  v.l4_len = static_cast<uint16_t>(total - ihl);
  v.header_len = static_cast<uint16_t>(header_len);
  v.proto = ip->next_proto_id;
  return true;
}

// Ethernet (optionally one VLAN tag) then IPv4.
bool parse_ethernet(const uint8_t* p, uint32_t avail, L4View& v) {
  if (avail < kEthLen) return false;
  uint32_t off = kEthLen;
  uint16_t type = csum::load<uint16_t>(p + 12);
  if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN)) {
    if (avail < kEthLen + kVlanLen) return false;
    type = csum::load<uint16_t>(p + 16);
    off += kVlanLen;
  }
  if (type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) return false;
  return parse_ipv4(p + off, avail - off, v);
}

bool read_marker(const L4View& seg, MarkerView& view) {
  const uint16_t len = seg.payload_len();
  const uint8_t* p = seg.payload();
  if (len < kMarkerSeqOffset || csum::load<uint32_t>(p) != rte_cpu_to_be_32(kMarkerMagic))
    return false;
  view.inner = seg;
  view.marker_len = marker_bytes(len);
  view.flow = rte_be_to_cpu_32(csum::load<uint32_t>(p + kMarkerFlowOffset));
  if (view.marker_len > kMarkerSeqOffset)
    view.seq = rte_be_to_cpu_64(csum::load<uint64_t>(p + kMarkerSeqOffset));
  if (view.marker_len == kMarkerLen)
    view.tsc = rte_be_to_cpu_64(csum::load<uint64_t>(p + kMarkerTscOffset));
  return true;
}

// The IPv4 header and TCP/UDP segment of a view, checksums included.
bool checksums_valid(const L4View& v) {
  if (!csum::valid(
          csum::bytes(v.ip, static_cast<size_t>(v.l4 - reinterpret_cast<const uint8_t*>(v.ip)))))
    return false;
  if (v.proto == IPPROTO_UDP && csum::load<uint16_t>(v.l4 + 6) == 0) return true;
  const uint64_t sum = csum::pseudo_header(v.ip->src_addr, v.ip->dst_addr, v.proto, v.l4_len) +
                       csum::bytes(v.l4, v.l4_len);
  return csum::valid(sum);
}

}  // namespace

bool locate_marker(const uint8_t* frame, uint32_t len, MarkerView& view) {
  L4View seg;
  if (!parse_ethernet(frame, len, seg)) return false;
  view.outer = L4View{};
  if (read_marker(seg, view)) return true;
  if (seg.proto != IPPROTO_UDP) return false;
  const uint16_t sport = rte_be_to_cpu_16(csum::load<uint16_t>(seg.l4));
  const uint16_t dport = rte_be_to_cpu_16(csum::load<uint16_t>(seg.l4 + 2));
  const uint8_t* p = seg.payload();
  const uint16_t plen = seg.payload_len();
  L4View inner;
  bool found = false;
  if ((dport == kVxlanPort || dport == kIanaVxlanPort) && plen > kVxlanLen && (p[0] & 0x08) != 0) {
    found = parse_ethernet(p + kVxlanLen, plen - kVxlanLen, inner);
  } else if (dport == kUdpBackendPort && sport == kUdpBackendPort) {
    found = parse_ipv4(p, plen, inner);
  }
  if (!found || !read_marker(inner, view)) return false;
  view.outer = seg;
  return true;
}

bool verify_frame(const MarkerView& view) {
  if (!checksums_valid(view.inner)) return false;
  if (view.outer.ip != nullptr && !checksums_valid(view.outer)) return false;
  const uint8_t* p = view.inner.payload();
  const uint16_t len = view.inner.payload_len();
  for (uint32_t o = view.marker_len; o < len; ++o) {
    if (p[o] != fill_byte(o)) return false;
  }
  return true;
}

}  // namespace tartan::perf
