#include "perf/flows.h"

#include <rte_hash_crc.h>

#include "perf/marker.h"

namespace tartan::perf {
namespace {

constexpr uint32_t kRemoteHosts = 253;
constexpr uint32_t kLocalHosts = 251;
constexpr uint32_t kSrcPorts = 50000;
constexpr uint16_t kSrcPortBase = 10000;

constexpr uint32_t ipv4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return a << 24 | b << 16 | c << 8 | d;
}

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

}  // namespace

FlowAddress flow_address(const TrafficOptions& o, uint32_t flow) {
  FlowAddress a;
  a.node = flow % o.dst_subnets;
  const uint32_t j = flow / o.dst_subnets;
  const uint32_t remote = ipv4(10, 244, 2 + a.node, 2 + j % kRemoteHosts);
  const uint32_t local = o.local_subnet + 2 + j % kLocalHosts;
  a.src_port = static_cast<uint16_t>(kSrcPortBase + j % kSrcPorts);
  if (o.encap == Encap::kNone) {
    a.src_ip = local;
    a.dst_ip = remote;
    return a;
  }
  a.src_ip = remote;
  a.dst_ip = local;
  a.outer_src_ip = ipv4(192, 0, 2, 20 + a.node);
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
  return {0x0e, 0, 0, 0, 0, static_cast<uint8_t>(2 + node)};
}

Mac remote_underlay_mac(uint32_t node) {
  return {0x02, 0, 0, 0, 0x0b, static_cast<uint8_t>(2 + node)};
}

}  // namespace tartan::perf
