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

constexpr uint8_t kTtl = 64;  // IPv4's TTL and IPv6's hop limit

using csum::store;

void put_mac(uint8_t* p, const Mac& m) {
  std::copy(m.begin(), m.end(), p);
}

template <class F>
void put_ethernet(uint8_t* p, const Mac& dst, const Mac& src) {
  put_mac(p, dst);
  put_mac(p + 6, src);
  store<uint16_t>(p + 12, rte_cpu_to_be_16(F::kEtherType));
}

// An IP header without addresses or checksum (they are per flow), carrying
// `payload_len` bytes. IPv6 has flow label 0 and no DF (it never fragments
// on the way).
template <class F>
void put_ip(uint8_t* p, uint16_t payload_len, uint8_t proto, bool dont_fragment) {
  if constexpr (F::kFamily == Family::kIpv6) {
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(p);
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->payload_len = rte_cpu_to_be_16(payload_len);
    ip->proto = proto;
    ip->hop_limits = kTtl;
  } else {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(payload_len + F::kHeaderLen);
    ip->fragment_offset = rte_cpu_to_be_16(dont_fragment ? RTE_IPV4_HDR_DF_FLAG : 0);
    ip->time_to_live = kTtl;
    ip->next_proto_id = proto;
  }
}

// The checksum words of an address as stored.
uint32_t words(uint32_t stored) {
  return csum::word32(stored);
}
uint32_t words(const Ipv6Bytes& stored) {
  return csum::bytes(stored.data(), stored.size());
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
  with_family(o.family, [&](auto family) { init<decltype(family)>(o, port_mac); });
}

template <class F>
void FrameFactory::init(const TrafficOptions& o, const Mac& port_mac) {
  build_ = &FrameFactory::build_as<F>;
  Layout& L = layout_;
  L.outer = o.encap != Encap::kNone;
  L.vxlan = o.encap == Encap::kVxlan;
  L.node_src_mac = L.outer && !o.src_mac;
  L.tcp = o.proto == Proto::kTcp;
  if (L.outer) {
    L.outer_ip = kEthLen;
    L.outer_udp = L.outer_ip + F::kHeaderLen;
    L.inner_eth = L.outer_udp + kUdpLen + kVxlanLen;
    L.ip = L.vxlan ? L.inner_eth + kEthLen : L.outer_udp + kUdpLen;
  } else {
    L.ip = kEthLen;
  }
  L.l4 = L.ip + F::kHeaderLen;
  L.payload = L.l4 + (L.tcp ? kTcpLen : kUdpLen);

  for (uint16_t size : o.sizes) {
    auto it = std::find_if(templates_.begin(), templates_.end(), [&](const Template& t) {
      return t.len == static_cast<uint16_t>(size - kFcsLen - kEthLen + L.ip);
    });
    if (it == templates_.end()) {
      templates_.push_back(make_template<F>(o, size, port_mac));
      it = templates_.end() - 1;
    }
    slot_template_.push_back(static_cast<uint8_t>(it - templates_.begin()));
  }
  for (uint32_t k = 0; k < o.dst_subnets; ++k)
    nodes_.push_back({remote_underlay_mac(k), remote_vtep_mac<F>(k)});
  flow_count_ = o.flows;
  flows<F>().reserve(o.flows);
  for (uint32_t f = 0; f < o.flows; ++f) flows<F>().push_back(make_flow<F>(o, f));
}

uint16_t FrameFactory::max_frame_len() const {
  uint16_t m = 0;
  for (const Template& t : templates_) m = std::max(m, t.len);
  return m;
}

template <class F>
FrameFactory::Template FrameFactory::make_template(const TrafficOptions& o, uint16_t size,
                                                   const Mac& port_mac) const {
  const Layout& L = layout_;
  const uint8_t proto = L.tcp ? IPPROTO_TCP : IPPROTO_UDP;
  const uint16_t ip_len = static_cast<uint16_t>(size - kFcsLen - kEthLen);
  const uint16_t l4_len = ip_len - F::kHeaderLen;
  Template t;
  t.len = static_cast<uint16_t>(L.ip + ip_len);
  t.bytes.assign(t.len, 0);
  uint8_t* d = t.bytes.data();

  // Outermost Ethernet; an encapsulated frame's source MAC is per node.
  put_ethernet<F>(d, o.dst_mac, o.src_mac.value_or(L.outer ? Mac{} : port_mac));
  put_ip<F>(d + L.ip, l4_len, proto, true);
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
  t.ip_sum = csum::bytes(d + L.ip, F::kHeaderLen);
  t.l4_sum = csum::fold(csum::pseudo_header(0, proto, l4_len) + csum::bytes(d + L.l4, l4_len));

  if (L.outer) {
    const uint16_t udp_len = static_cast<uint16_t>(t.len - L.outer_udp);
    // The outer header as the Linux vxlan driver sends it: TTL (hop limit)
    // 64, DF clear, flow label 0.
    put_ip<F>(d + L.outer_ip, udp_len, IPPROTO_UDP, false);
    const typename F::Wire local = F::wire(F::local_ip(o));
    store(d + L.outer_ip + F::kSrcOffset + sizeof local, local);
    put_udp(d + L.outer_udp, L.vxlan ? kVxlanPort : kUdpBackendPort, udp_len);
    if (L.vxlan) {
      store<uint32_t>(d + L.outer_udp + kUdpLen, rte_cpu_to_be_32(0x08000000));  // I flag
      store<uint32_t>(d + L.outer_udp + kUdpLen + 4, rte_cpu_to_be_32(o.vni << 8));
      put_ethernet<F>(d + L.inner_eth, o.vtep_mac, Mac{});
    }
    t.outer_ip_sum = csum::bytes(d + L.outer_ip, F::kHeaderLen);
    // The outer UDP checksum covers the pseudo header, the UDP, VXLAN and
    // inner Ethernet headers, the inner IP header (IPv4: zero when valid;
    // IPv6: its fixed words here, the addresses per flow) and a valid inner
    // segment (minus its pseudo header; the flow adds the addresses).
    t.outer_l4_sum = csum::fold(csum::pseudo_header(words(local), IPPROTO_UDP, udp_len) +
                                csum::bytes(d + L.outer_udp, L.ip - L.outer_udp) +
                                (F::kHeaderChecksum ? 0 : t.ip_sum) +
                                csum::negate(csum::pseudo_header(0, proto, l4_len)));
  }
  return t;
}

template <class F>
FrameFactory::FlowFields<F> FrameFactory::make_flow(const TrafficOptions& o, uint32_t flow) const {
  const FlowAddressOf<F> a = flow_address<F>(o, flow);
  FlowFields<F> f{};
  f.node = a.node;
  f.src_ip = F::wire(a.src_ip);
  f.dst_ip = F::wire(a.dst_ip);
  f.src_port = rte_cpu_to_be_16(a.src_port);
  const uint64_t addresses = words(f.src_ip) + words(f.dst_ip);
  f.ip_sum = csum::fold(addresses);
  f.l4_sum = csum::fold(addresses + f.src_port);
  if (layout_.outer) {
    f.outer_src_ip = F::wire(a.outer_src_ip);
    f.outer_src_port = rte_cpu_to_be_16(a.outer_src_port);
    f.outer_ip_sum = csum::fold(words(f.outer_src_ip));
    const Mac vtep = remote_vtep_mac<F>(a.node);
    // An inner IPv6 header's addresses cancel the inner pseudo header's.
    f.outer_l4_sum = csum::fold(words(f.outer_src_ip) + f.outer_src_port +
                                (layout_.vxlan ? csum::bytes(vtep.data(), vtep.size()) : 0) +
                                (F::kHeaderChecksum ? csum::negate(addresses) : 0));
  }
  return f;
}

template <class F>
void FrameFactory::build_as(uint8_t* d, uint32_t flow, unsigned slot, uint64_t seq,
                            Pending& pending) const {
  const Layout& L = layout_;
  const Template& t = templates_[slot_template_[slot]];
  const FlowFields<F>& f = flows<F>()[flow];
  rte_memcpy(d, t.bytes.data(), t.len);
  if (L.outer) {
    const NodeMacs& node = nodes_[f.node];
    if (L.node_src_mac) put_mac(d + 6, node.underlay);
    store(d + L.outer_ip + F::kSrcOffset, f.outer_src_ip);
    if constexpr (F::kHeaderChecksum)
      store(d + L.outer_ip + 10, csum::finish(t.outer_ip_sum + f.outer_ip_sum));
    store(d + L.outer_udp, f.outer_src_port);
    if (L.vxlan) put_mac(d + L.inner_eth + 6, node.vtep);
    store(d + L.outer_udp + 6, csum::finish_udp(t.outer_l4_sum + f.outer_l4_sum));
  }
  store(d + L.ip + F::kSrcOffset, f.src_ip);
  store(d + L.ip + F::kSrcOffset + sizeof f.src_ip, f.dst_ip);
  if constexpr (F::kHeaderChecksum) store(d + L.ip + 10, csum::finish(t.ip_sum + f.ip_sum));
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
  const uint32_t n = flow_count_;
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
