// The addressing scheme: which 5-tuple, and which remote node, flow i uses.
//
// With M = --dst-subnets, flow i belongs to remote node k = i % M and takes
// j = i / M as its index within that node:
//   remote pod   10.244.(2+k).(2 + j % 253)          (.2 .. .254)
//   local pod    --local-subnet + (2 + j % 251)       (.2 .. .252)
//   source port  10000 + j % 50000, destination port 5001
// 253, 251 and 50000 are pairwise coprime, so the 5-tuples of up to
// 253 * 251 * 50000 flows per node are distinct, and consecutive flows
// differ in every one of them. Plain frames go local pod -> remote pod (what
// the overlay sends, to be encapsulated); encapsulated frames go remote pod ->
// local pod (what arrives from remote node k, to be decapsulated), from VTEP
// 192.0.2.(20+k) with MAC 02:00:00:00:0b:(2+k) and VtepMAC
// 0e:00:00:00:00:(2+k) to --local-ip.
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

Mac remote_vtep_mac(uint32_t node);
Mac remote_underlay_mac(uint32_t node);

}  // namespace tartan::perf
