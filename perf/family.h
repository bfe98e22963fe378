// The two address families tartan-perf sends, as traits its templates take:
// each family's fields of the addressing scheme (flows.h) and its IP
// header's layout (frames.cc). Encapsulated frames are of the pods' family
// outside too, as flannel's flannel.<VNI> (IPv4) and flannel-v6.<VNI> (IPv6).
#pragma once

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "perf/options.h"

namespace tartan::perf {

inline constexpr uint16_t kEthLen = 14;
inline constexpr uint16_t kFcsLen = 4;
inline constexpr uint16_t kUdpLen = 8;
inline constexpr uint16_t kTcpLen = 20;
inline constexpr uint16_t kVxlanLen = 8;

using Ipv6Bytes = std::array<uint8_t, 16>;

inline Ipv6Bytes ipv6_bytes(Ipv6Int a) {
  Ipv6Bytes b{};
  for (int i = 15; i >= 0; --i, a >>= 8) b[i] = static_cast<uint8_t>(a);
  return b;
}

struct Ipv4Family {
  using Addr = uint32_t;  // host order
  using Wire = uint32_t;  // as stored in a header
  static constexpr Family kFamily = Family::kIpv4;
  static constexpr unsigned kBits = 32;
  static constexpr uint16_t kHeaderLen = 20;
  static constexpr uint16_t kEtherType = 0x0800;
  static constexpr uint16_t kSrcOffset = 12;  // the destination follows
  static constexpr bool kHeaderChecksum = true;
  static Wire wire(Addr a) { return htonl(a); }
  static Addr local_ip(const TrafficOptions& o) { return o.local_ip; }
  static Addr local_subnet(const TrafficOptions& o) { return o.local_subnet; }
  static Addr pod_network(const TrafficOptions& o) { return o.pod_network; }
  static uint8_t pod_network_len(const TrafficOptions& o) { return o.pod_network_len; }
  static uint8_t subnet_len(const TrafficOptions& o) { return o.subnet_len; }
  static Addr vtep_base(const TrafficOptions& o) { return o.vtep_base; }
};

struct Ipv6Family {
  using Addr = Ipv6Int;
  using Wire = Ipv6Bytes;
  static constexpr Family kFamily = Family::kIpv6;
  static constexpr unsigned kBits = 128;
  static constexpr uint16_t kHeaderLen = 40;
  static constexpr uint16_t kEtherType = 0x86dd;
  static constexpr uint16_t kSrcOffset = 8;
  static constexpr bool kHeaderChecksum = false;
  static Wire wire(Addr a) { return ipv6_bytes(a); }
  static Addr local_ip(const TrafficOptions& o) { return o.local_ip6; }
  static Addr local_subnet(const TrafficOptions& o) { return o.local_subnet6; }
  static Addr pod_network(const TrafficOptions& o) { return o.pod_network6; }
  static uint8_t pod_network_len(const TrafficOptions& o) { return o.pod_network6_len; }
  static uint8_t subnet_len(const TrafficOptions& o) { return o.subnet_len6; }
  static Addr vtep_base(const TrafficOptions& o) { return o.vtep_base6; }
};

// Calls f(Ipv4Family{}) or f(Ipv6Family{}): where a run's family picks a template.
template <class F>
auto with_family(Family family, F&& f) {
  return family == Family::kIpv6 ? f(Ipv6Family{}) : f(Ipv4Family{});
}

// The smallest frame (with FCS) that holds the family's IP header and the
// L4 header: IPv4's fit the 64-byte Ethernet minimum, IPv6/UDP needs 66,
// IPv6/TCP 78.
inline uint16_t min_frame(Family family, Proto proto) {
  const uint16_t ip = family == Family::kIpv6 ? Ipv6Family::kHeaderLen : Ipv4Family::kHeaderLen;
  const uint16_t l4 = proto == Proto::kTcp ? kTcpLen : kUdpLen;
  return std::max<uint16_t>(kMinFrame, kEthLen + ip + l4 + kFcsLen);
}

}  // namespace tartan::perf
