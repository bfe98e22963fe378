// The addressing scheme: which 5-tuple, and which remote node, flow i uses.
//
// Remote node k (k < M = --dst-subnets) has podCIDR number 2+k of
// --pod-network cut into /--subnet-len subnets (10.244.(2+k).0/24 by
// default), public IP (VTEP) --vtep-base + k (192.0.2.(20+k)), underlay MAC
// 02:0b:(2+k as 32 bits) and VtepMAC 0e:00:(2+k as 32 bits), so the same k
// names the same node in the traffic and in a control plane fed by
// tartan-nodeload. Flow i belongs to remote node k = i % M and takes
// j = i / M as its index within that node:
//   remote pod   podCIDR(k) + 2 + j % R   (R: the largest count of host
//                addresses from .2 on that is coprime with 251 and 50000;
//                253 for a /24)
//   local pod    --local-subnet + (2 + j % 251)       (.2 .. .252)
//   source port  10000 + j % 50000, destination port 5001
// R, 251 and 50000 are pairwise coprime, so the 5-tuples of up to
// R * 251 * 50000 flows per node are distinct, and consecutive flows
// differ in every one of them. Plain frames go local pod -> remote pod (what
// the overlay sends, to be encapsulated); encapsulated frames go remote pod ->
// local pod (what arrives from remote node k, to be decapsulated), from
// node k's VTEP to --local-ip.
#pragma once

#include <cstdint>

#include "perf/options.h"

namespace tartan::perf {

inline constexpr uint16_t kDstPort = 5001;

struct FlowAddress {  // host byte order
  uint32_t node = 0;  // k
  uint32_t src_ip = 0, dst_ip = 0;
  uint16_t src_port = 0, dst_port = kDstPort;
  uint32_t outer_src_ip = 0, outer_dst_ip = 0;  // with --encap
  uint16_t outer_src_port = 0, outer_dst_port = 0;
};

FlowAddress flow_address(const TrafficOptions& o, uint32_t flow);

// Remote node k's podCIDR (network address, host order; its length is
// o.subnet_len) and public IP.
uint32_t remote_subnet(const TrafficOptions& o, uint32_t node);
uint32_t remote_public_ip(const TrafficOptions& o, uint32_t node);
Mac remote_vtep_mac(uint32_t node);
Mac remote_underlay_mac(uint32_t node);

}  // namespace tartan::perf
