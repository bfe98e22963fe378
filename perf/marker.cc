#include "perf/marker.h"

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <cstddef>

#include "perf/checksum.h"
#include "perf/family.h"

namespace tartan::perf {
namespace {

constexpr uint32_t kVlanLen = 4;

// The TCP or UDP header at `l4` (`len` bytes of segment): its length, 0
// when it is neither or cut short.
uint32_t l4_header_len(uint8_t proto, const uint8_t* l4, uint32_t len) {
  uint32_t header_len = 0;
  if (proto == IPPROTO_UDP) {
    header_len = sizeof(rte_udp_hdr);
  } else if (proto == IPPROTO_TCP) {
    if (len < sizeof(rte_tcp_hdr)) return 0;
    header_len = static_cast<uint32_t>(l4[12] >> 4) * 4;  // the data offset
    if (header_len < sizeof(rte_tcp_hdr)) return 0;
  }
  return len < header_len ? 0 : header_len;
}

bool set_segment(const uint8_t* ip, uint32_t ip_header_len, uint32_t l4_len, uint8_t proto,
                 L4View& v) {
  const uint8_t* l4 = ip + ip_header_len;
  const uint32_t header_len = l4_header_len(proto, l4, l4_len);
  if (header_len == 0) return false;
  v.ip = ip;
  v.l4 = l4;
  v.l4_len = static_cast<uint16_t>(l4_len);
  v.header_len = static_cast<uint16_t>(header_len);
  v.proto = proto;
  return true;
}

// An unfragmented IPv4 packet carrying a whole TCP or UDP header.
bool parse_ipv4(const uint8_t* p, uint32_t avail, L4View& v) {
  if (avail < sizeof(rte_ipv4_hdr)) return false;
  const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(p);
  const uint32_t ihl = static_cast<uint32_t>(ip->version_ihl & 0x0f) * 4;
  const uint32_t total = rte_be_to_cpu_16(ip->total_length);
  if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(rte_ipv4_hdr) || total < ihl || total > avail)
    return false;
  if ((rte_be_to_cpu_16(ip->fragment_offset) & 0x3fff) != 0) return false;
  v.ipv6 = false;
  return set_segment(p, ihl, total - ihl, ip->next_proto_id, v);
}

// An IPv6 packet whose next header is TCP or UDP (tartan-perf sends no
// extension headers).
bool parse_ipv6(const uint8_t* p, uint32_t avail, L4View& v) {
  if (avail < sizeof(rte_ipv6_hdr)) return false;
  const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(p);
  const uint32_t payload = rte_be_to_cpu_16(ip->payload_len);
  if ((p[0] >> 4) != 6 || payload > avail - sizeof(rte_ipv6_hdr)) return false;
  v.ipv6 = true;
  return set_segment(p, sizeof(rte_ipv6_hdr), payload, ip->proto, v);
}

// Ethernet (optionally one VLAN tag) then IPv4 or IPv6.
bool parse_ethernet(const uint8_t* p, uint32_t avail, L4View& v) {
  if (avail < kEthLen) return false;
  uint32_t off = kEthLen;
  uint16_t type = csum::load<uint16_t>(p + 12);
  if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN)) {
    if (avail < kEthLen + kVlanLen) return false;
    type = csum::load<uint16_t>(p + 16);
    off += kVlanLen;
  }
  if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) return parse_ipv4(p + off, avail - off, v);
  if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) return parse_ipv6(p + off, avail - off, v);
  return false;
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

// The IP header and TCP/UDP segment of a view, checksums included (IPv6
// has no header checksum; both families' addresses lie side by side).
bool checksums_valid(const L4View& v) {
  if (!v.ipv6 && !csum::valid(csum::bytes(v.ip, static_cast<size_t>(v.l4 - v.ip)))) return false;
  if (v.proto == IPPROTO_UDP && csum::load<uint16_t>(v.l4 + 6) == 0) return true;
  const uint8_t* addresses =
      v.ip + (v.ipv6 ? offsetof(rte_ipv6_hdr, src_addr) : offsetof(rte_ipv4_hdr, src_addr));
  const size_t address_len = v.ipv6 ? 32 : 8;
  const uint64_t sum = csum::pseudo_header(csum::bytes(addresses, address_len), v.proto, v.l4_len) +
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
