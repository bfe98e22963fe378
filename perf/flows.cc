#include "perf/flows.h"

#include <rte_hash_crc.h>

#include <algorithm>

#include "perf/marker.h"

namespace tartan::perf {
namespace {

constexpr uint32_t kLocalHosts = 251;
constexpr uint32_t kSrcPorts = 50000;
constexpr uint16_t kSrcPortBase = 10000;

// An outer UDP source port as Linux's udp_flow_src_port() picks one: a hash
// of the inner flow scaled into 32768..60998.
template <class F>
uint16_t tunnel_src_port(const FlowAddressOf<F>& a, uint8_t proto) {
  uint32_t h = rte_hash_crc(&a.src_ip, sizeof a.src_ip, 0x7a87a87a);
  h = rte_hash_crc(&a.dst_ip, sizeof a.dst_ip, h);
  h = rte_hash_crc_1byte(proto, h);
  h = rte_hash_crc_4byte(static_cast<uint32_t>(a.src_port) << 16 | a.dst_port, h);
  h ^= h << 16;
  return static_cast<uint16_t>(((static_cast<uint64_t>(h) * (60999 - 32768)) >> 32) + 32768);
}

// Host addresses of a remote podCIDR that flows use, from .2 on: as many
// as fit below the broadcast address (of the low 32 host bits at most),
// lowered until coprime with the local host and source port counts (251,
// 50000 = 2^4 * 5^5).
uint32_t remote_hosts(unsigned host_bits) {
  uint64_t n = (uint64_t{1} << std::min(host_bits, 32u)) - 3;
  while (n % 2 == 0 || n % 5 == 0 || n % kLocalHosts == 0) --n;
  return static_cast<uint32_t>(n);
}

Mac mac_with_index(uint8_t b0, uint8_t b1, uint32_t index) {
  return {b0,
          b1,
          static_cast<uint8_t>(index >> 24),
          static_cast<uint8_t>(index >> 16),
          static_cast<uint8_t>(index >> 8),
          static_cast<uint8_t>(index)};
}

}  // namespace

template <class F>
FlowAddressOf<F> flow_address(const TrafficOptions& o, uint32_t flow) {
  using A = typename F::Addr;
  FlowAddressOf<F> a;
  a.node = flow % o.dst_subnets;
  const uint32_t j = flow / o.dst_subnets;
  const A remote = remote_subnet<F>(o, a.node) + 2 + j % remote_hosts(F::kBits - F::subnet_len(o));
  const A local = F::local_subnet(o) + 2 + j % kLocalHosts;
  a.src_port = static_cast<uint16_t>(kSrcPortBase + j % kSrcPorts);
  if (o.encap == Encap::kNone) {
    a.src_ip = local;
    a.dst_ip = remote;
    return a;
  }
  a.src_ip = remote;
  a.dst_ip = local;
  a.outer_src_ip = remote_public_ip<F>(o, a.node);
  a.outer_dst_ip = F::local_ip(o);
  if (o.encap == Encap::kVxlan) {
    a.outer_src_port = tunnel_src_port(a, o.proto == Proto::kTcp ? 6 : 17);
    a.outer_dst_port = kVxlanPort;
  } else {
    a.outer_src_port = a.outer_dst_port = kUdpBackendPort;
  }
  return a;
}

template FlowAddressOf<Ipv4Family> flow_address<Ipv4Family>(const TrafficOptions&, uint32_t);
template FlowAddressOf<Ipv6Family> flow_address<Ipv6Family>(const TrafficOptions&, uint32_t);

template <>
Mac remote_vtep_mac<Ipv4Family>(uint32_t node) {
  return mac_with_index(0x0e, 0x00, 2 + node);
}

template <>
Mac remote_vtep_mac<Ipv6Family>(uint32_t node) {
  return mac_with_index(0x0e, 0x06, 2 + node);
}

Mac remote_underlay_mac(uint32_t node) {
  return mac_with_index(0x02, 0x0b, 2 + node);
}

}  // namespace tartan::perf
