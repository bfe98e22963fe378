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
//
// With --family ipv6 the same k and j give the IPv6 side (flannel's
// IPv6Network scheme): podCIDR number 2+k of --pod-network6 cut into
// /--subnet-len6 subnets (fd00:0:0:(2+k)::/64 by default), public IPv6
// --vtep-base6 + k, VtepMAC 0e:06:(2+k as 32 bits) (flannel-v6's device has
// its own), local pods in --local-subnet6 and R counted over at most the
// low 32 host bits.
#pragma once

#include <cstdint>

#include "perf/family.h"
#include "perf/options.h"

namespace tartan::perf {

inline constexpr uint16_t kDstPort = 5001;

template <class F>
struct FlowAddressOf {  // host byte order
  uint32_t node = 0;    // k
  typename F::Addr src_ip = 0, dst_ip = 0;
  uint16_t src_port = 0, dst_port = kDstPort;
  typename F::Addr outer_src_ip = 0, outer_dst_ip = 0;  // with --encap
  uint16_t outer_src_port = 0, outer_dst_port = 0;
};
using FlowAddress = FlowAddressOf<Ipv4Family>;

template <class F>
FlowAddressOf<F> flow_address(const TrafficOptions& o, uint32_t flow);

// Remote node k's podCIDR (network address, host order; its length is
// F::subnet_len(o)), public IP and VtepMAC (flannel.1's, or flannel-v6.1's).
template <class F>
typename F::Addr remote_subnet(const TrafficOptions& o, uint32_t node) {
  using A = typename F::Addr;
  return F::pod_network(o) + (A{2 + node} << (F::kBits - F::subnet_len(o)));
}
template <class F>
typename F::Addr remote_public_ip(const TrafficOptions& o, uint32_t node) {
  return F::vtep_base(o) + node;
}
template <class F>
Mac remote_vtep_mac(uint32_t node);
template <>
Mac remote_vtep_mac<Ipv4Family>(uint32_t node);
template <>
Mac remote_vtep_mac<Ipv6Family>(uint32_t node);
Mac remote_underlay_mac(uint32_t node);

}  // namespace tartan::perf
