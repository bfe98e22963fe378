#include "perf/flows.h"

#include <rte_hash_crc.h>

#include "perf/marker.h"

namespace tartan::perf {
namespace {

constexpr uint32_t kLocalHosts = 251;
constexpr uint32_t kSrcPorts = 50000;
constexpr uint16_t kSrcPortBase = 10000;

// An outer UDP source port as Linux's udp_flow_src_port() picks one: a hash
// of the inner flow scaled into 32768..60998.
uint16_t tunnel_src_port(const FlowAddress& a, uint8_t proto) {
  uint32_t h = rte_hash_crc_4byte(a.src_ip, 0x7a87a87a);
  h = rte_hash_crc_4byte(a.dst_ip, h);
  h = rte_hash_crc_1byte(proto, h);
  h = rte_hash_crc_4byte(static_cast<uint32_t>(a.src_port) << 16 | a.dst_port, h);
  h ^= h << 16;
  return static_cast<uint16_t>(((static_cast<uint64_t>(h) * (60999 - 32768)) >> 32) + 32768);
}

// Host addresses of a remote podCIDR that flows use, from .2 on: as many
// as fit below the broadcast address, lowered until coprime with the local
// host and source port counts (251, 50000 = 2^4 * 5^5).
uint32_t remote_hosts(uint8_t subnet_len) {
  uint32_t n = (1u << (32 - subnet_len)) - 3;
  while (n % 2 == 0 || n % 5 == 0 || n % kLocalHosts == 0) --n;
  return n;
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

uint32_t remote_subnet(const TrafficOptions& o, uint32_t node) {
  return o.pod_network + ((2 + node) << (32 - o.subnet_len));
}

uint32_t remote_public_ip(const TrafficOptions& o, uint32_t node) {
  return o.vtep_base + node;
}

FlowAddress flow_address(const TrafficOptions& o, uint32_t flow) {
  FlowAddress a;
  a.node = flow % o.dst_subnets;
  const uint32_t j = flow / o.dst_subnets;
  const uint32_t remote = remote_subnet(o, a.node) + 2 + j % remote_hosts(o.subnet_len);
  const uint32_t local = o.local_subnet + 2 + j % kLocalHosts;
  a.src_port = static_cast<uint16_t>(kSrcPortBase + j % kSrcPorts);
  if (o.encap == Encap::kNone) {
    a.src_ip = local;
    a.dst_ip = remote;
    return a;
  }
  a.src_ip = remote;
  a.dst_ip = local;
  a.outer_src_ip = remote_public_ip(o, a.node);
  a.outer_dst_ip = o.local_ip;
  if (o.encap == Encap::kVxlan) {
    a.outer_src_port = tunnel_src_port(a, o.proto == Proto::kTcp ? 6 : 17);
    a.outer_dst_port = kVxlanPort;
  } else {
    a.outer_src_port = a.outer_dst_port = kUdpBackendPort;
  }
  return a;
}

Mac remote_vtep_mac(uint32_t node) {
  return mac_with_index(0x0e, 0x00, 2 + node);
}

Mac remote_underlay_mac(uint32_t node) {
  return mac_with_index(0x02, 0x0b, 2 + node);
}

}  // namespace tartan::perf
