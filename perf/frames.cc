#include "perf/frames.h"

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_memcpy.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <algorithm>

#include "perf/checksum.h"
#include "perf/flows.h"
#include "perf/marker.h"

namespace tartan::perf {
namespace {

constexpr uint16_t kEthLen = 14;
constexpr uint16_t kIpLen = 20;
constexpr uint16_t kUdpLen = 8;
constexpr uint16_t kTcpLen = 20;
constexpr uint16_t kVxlanLen = 8;
constexpr uint16_t kFcsLen = 4;
constexpr uint8_t kTtl = 64;

using csum::store;

void put_mac(uint8_t* p, const Mac& m) {
  std::copy(m.begin(), m.end(), p);
}

void put_ethernet(uint8_t* p, const Mac& dst, const Mac& src) {
  put_mac(p, dst);
  put_mac(p + 6, src);
  store<uint16_t>(p + 12, rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4));
}

// An IPv4 header without addresses or checksum (they are per flow).
void put_ipv4(uint8_t* p, uint16_t total_len, uint8_t proto, bool dont_fragment) {
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = rte_cpu_to_be_16(total_len);
  ip->fragment_offset = rte_cpu_to_be_16(dont_fragment ? RTE_IPV4_HDR_DF_FLAG : 0);
  ip->time_to_live = kTtl;
  ip->next_proto_id = proto;
}

void put_udp(uint8_t* p, uint16_t dst_port, uint16_t len) {
  store<uint16_t>(p + 2, rte_cpu_to_be_16(dst_port));
  store<uint16_t>(p + 4, rte_cpu_to_be_16(len));
}

void put_tcp(uint8_t* p, uint16_t dst_port) {
  auto* tcp = reinterpret_cast<rte_tcp_hdr*>(p);
  tcp->dst_port = rte_cpu_to_be_16(dst_port);
  tcp->sent_seq = rte_cpu_to_be_32(1);
  tcp->recv_ack = rte_cpu_to_be_32(1);
  tcp->data_off = (kTcpLen / 4) << 4;
  tcp->tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG;
  tcp->rx_win = rte_cpu_to_be_16(65535);
}

}  // namespace

FrameFactory::FrameFactory(const TrafficOptions& o, const Mac& port_mac) {
  Layout& L = layout_;
  L.outer = o.encap != Encap::kNone;
  L.vxlan = o.encap == Encap::kVxlan;
  L.node_src_mac = L.outer && !o.src_mac;
  L.tcp = o.proto == Proto::kTcp;
  if (L.outer) {
    L.outer_ip = kEthLen;
    L.outer_udp = L.outer_ip + kIpLen;
    L.inner_eth = L.outer_udp + kUdpLen + kVxlanLen;
    L.ip = L.vxlan ? L.inner_eth + kEthLen : L.outer_udp + kUdpLen;
  } else {
    L.ip = kEthLen;
  }
  L.l4 = L.ip + kIpLen;
  L.payload = L.l4 + (L.tcp ? kTcpLen : kUdpLen);

  for (uint16_t size : o.sizes) {
    auto it = std::find_if(templates_.begin(), templates_.end(), [&](const Template& t) {
      return t.len == static_cast<uint16_t>(size - kFcsLen - kEthLen + L.ip);
    });
    if (it == templates_.end()) {
      templates_.push_back(make_template(o, size, port_mac));
      it = templates_.end() - 1;
    }
    slot_template_.push_back(static_cast<uint8_t>(it - templates_.begin()));
  }
  for (uint32_t k = 0; k < o.dst_subnets; ++k)
    nodes_.push_back({remote_underlay_mac(k), remote_vtep_mac(k)});
  flows_.reserve(o.flows);
  for (uint32_t f = 0; f < o.flows; ++f) flows_.push_back(make_flow(o, f));
}

uint16_t FrameFactory::max_frame_len() const {
  uint16_t m = 0;
  for (const Template& t : templates_) m = std::max(m, t.len);
  return m;
}

FrameFactory::Template FrameFactory::make_template(const TrafficOptions& o, uint16_t size,
                                                   const Mac& port_mac) const {
  const Layout& L = layout_;
  const uint8_t proto = L.tcp ? IPPROTO_TCP : IPPROTO_UDP;
  const uint16_t ip_len = static_cast<uint16_t>(size - kFcsLen - kEthLen);
  const uint16_t l4_len = ip_len - kIpLen;
  Template t;
  t.len = static_cast<uint16_t>(L.ip + ip_len);
  t.bytes.assign(t.len, 0);
  uint8_t* d = t.bytes.data();

  // Outermost Ethernet; an encapsulated frame's source MAC is per node.
  put_ethernet(d, o.dst_mac, o.src_mac.value_or(L.outer ? Mac{} : port_mac));
  if (L.outer) {
    const uint16_t udp_len = static_cast<uint16_t>(t.len - L.outer_udp);
    // Outer IPv4 as the Linux vxlan driver sends it: TTL 64, DF clear.
    put_ipv4(d + L.outer_ip, static_cast<uint16_t>(t.len - L.outer_ip), IPPROTO_UDP, false);
    store<uint32_t>(d + L.outer_ip + 16, rte_cpu_to_be_32(o.local_ip));
    put_udp(d + L.outer_udp, L.vxlan ? kVxlanPort : kUdpBackendPort, udp_len);
    if (L.vxlan) {
      store<uint32_t>(d + L.outer_udp + kUdpLen, rte_cpu_to_be_32(0x08000000));  // I flag
      store<uint32_t>(d + L.outer_udp + kUdpLen + 4, rte_cpu_to_be_32(o.vni << 8));
      put_ethernet(d + L.inner_eth, o.vtep_mac, Mac{});
    }
    t.outer_ip_sum = csum::bytes(d + L.outer_ip, kIpLen);
    // The outer UDP checksum covers the pseudo header, the UDP, VXLAN and
    // inner Ethernet headers, a valid inner IPv4 header (zero) and a valid
    // inner segment (minus its pseudo header; the flow adds the addresses).
    t.outer_l4_sum =
        csum::fold(csum::pseudo_header(0, rte_cpu_to_be_32(o.local_ip), IPPROTO_UDP, udp_len) +
                   csum::bytes(d + L.outer_udp, L.ip - L.outer_udp) +
                   csum::negate(csum::pseudo_header(0, 0, proto, l4_len)));
  }
  put_ipv4(d + L.ip, ip_len, proto, true);
  if (L.tcp) {
    put_tcp(d + L.l4, kDstPort);
  } else {
    put_udp(d + L.l4, kDstPort, l4_len);
  }
  const uint16_t payload_len = static_cast<uint16_t>(t.len - L.payload);
  t.marker_len = marker_bytes(payload_len);
  uint8_t* payload = d + L.payload;
  if (t.marker_len > 0) store<uint32_t>(payload, rte_cpu_to_be_32(kMarkerMagic));
  for (uint32_t i = t.marker_len; i < payload_len; ++i) payload[i] = fill_byte(i);
  t.ip_sum = csum::bytes(d + L.ip, kIpLen);
  t.l4_sum = csum::fold(csum::pseudo_header(0, 0, proto, l4_len) + csum::bytes(d + L.l4, l4_len));
  return t;
}

FrameFactory::FlowFields FrameFactory::make_flow(const TrafficOptions& o, uint32_t flow) const {
  const FlowAddress a = flow_address(o, flow);
  FlowFields f{};
  f.node = a.node;
  f.src_ip = rte_cpu_to_be_32(a.src_ip);
  f.dst_ip = rte_cpu_to_be_32(a.dst_ip);
  f.src_port = rte_cpu_to_be_16(a.src_port);
  const uint32_t addresses = csum::word32(f.src_ip) + csum::word32(f.dst_ip);
  f.ip_sum = csum::fold(addresses);
  f.l4_sum = csum::fold(addresses + f.src_port);
  if (layout_.outer) {
    f.outer_src_ip = rte_cpu_to_be_32(a.outer_src_ip);
    f.outer_src_port = rte_cpu_to_be_16(a.outer_src_port);
    f.outer_ip_sum = csum::fold(csum::word32(f.outer_src_ip));
    const Mac vtep = remote_vtep_mac(a.node);
    f.outer_l4_sum = csum::fold(csum::word32(f.outer_src_ip) + f.outer_src_port +
                                (layout_.vxlan ? csum::bytes(vtep.data(), vtep.size()) : 0) +
                                csum::negate(addresses));
  }
  return f;
}

void FrameFactory::build(uint8_t* d, uint32_t flow, unsigned slot, uint64_t seq,
                         Pending& pending) const {
  const Layout& L = layout_;
  const Template& t = templates_[slot_template_[slot]];
  const FlowFields& f = flows_[flow];
  rte_memcpy(d, t.bytes.data(), t.len);
  if (L.outer) {
    const NodeMacs& node = nodes_[f.node];
    if (L.node_src_mac) put_mac(d + 6, node.underlay);
    store(d + L.outer_ip + 12, f.outer_src_ip);
    store(d + L.outer_ip + 10, csum::finish(t.outer_ip_sum + f.outer_ip_sum));
    store(d + L.outer_udp, f.outer_src_port);
    if (L.vxlan) put_mac(d + L.inner_eth + 6, node.vtep);
    store(d + L.outer_udp + 6, csum::finish_udp(t.outer_l4_sum + f.outer_l4_sum));
  }
  store(d + L.ip + 12, f.src_ip);
  store(d + L.ip + 16, f.dst_ip);
  store(d + L.ip + 10, csum::finish(t.ip_sum + f.ip_sum));
  store(d + L.l4, f.src_port);
  uint64_t sum = t.l4_sum + f.l4_sum;
  uint8_t* marker = d + L.payload;
  if (t.marker_len >= kMarkerSeqOffset) {
    const uint32_t id = rte_cpu_to_be_32(flow);
    store(marker + kMarkerFlowOffset, id);
    sum += csum::word32(id);
  }
  if (t.marker_len >= kMarkerTscOffset) {
    const uint64_t s = rte_cpu_to_be_64(seq);
    store(marker + kMarkerSeqOffset, s);
    sum += csum::word64(s);
  }
  pending.l4_csum = d + L.l4 + (L.tcp ? 16 : 6);
  pending.sum = sum;
  pending.udp = !L.tcp;
  if (t.marker_len == kMarkerLen) {
    pending.tsc = marker + kMarkerTscOffset;
  } else {
    pending.tsc = nullptr;
    store(pending.l4_csum, L.tcp ? csum::finish(sum) : csum::finish_udp(sum));
  }
}

void FrameFactory::finish_l4(const Pending& p, uint64_t tsc) {
  const uint64_t stored = rte_cpu_to_be_64(tsc);
  store(p.tsc, stored);
  const uint64_t sum = p.sum + csum::word64(stored);
  store(p.l4_csum, p.udp ? csum::finish_udp(sum) : csum::finish(sum));
}

std::string FrameFactory::self_check() const {
  std::vector<uint8_t> buf(max_frame_len());
  const uint32_t n = static_cast<uint32_t>(flows_.size());
  for (uint32_t flow : {0u, n / 2, n - 1}) {
    for (unsigned slot = 0; slot < slots(); ++slot) {
      Pending p;
      const uint64_t seq = 0x0102030405060708ull + slot;
      build(buf.data(), flow, slot, seq, p);
      stamp(p, 0x1122334455667788ull);
      MarkerView v;
      const std::string where =
          "flow " + std::to_string(flow) + ", frame size slot " + std::to_string(slot) + ": ";
      const bool marked = templates_[slot_template_[slot]].marker_len > 0;
      if (!marked) continue;  // too short for a marker: nothing to find
      if (!locate_marker(buf.data(), frame_len(slot), v)) return where + "marker not found";
      if (v.flow != flow || (v.marker_len > kMarkerSeqOffset && v.seq != seq))
        return where + "marker fields differ";
      if (!verify_frame(v)) return where + "a checksum or the fill is wrong";
    }
  }
  return "";
}

}  // namespace tartan::perf
