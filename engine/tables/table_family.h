// What the control side of the forwarding tables needs to know of an
// address family, as traits (the workers' own are engine/path/family.h):
// ForwardingTables keeps one table side per family and validates, applies
// and rolls back changes with one template over Ipv4TableFamily or
// Ipv6TableFamily, so what differs between the families is written here
// and nowhere else: the types, which addresses a node may have, the sender
// table's keys, and the words the errors use.
#pragma once

#include <rte_hash.h>
#include <rte_hash_crc.h>

#include <cstring>
#include <optional>
#include <string>

#include "engine/backends/headers.h"
#include "engine/engine_config.h"
#include "engine/net_types.h"
#include "engine/status.h"
#include "engine/tables/next_hop.h"
#include "engine/tables/route_table.h"
#include "engine/tables/route_table6.h"

namespace tartan {

// The words a family's errors and names use.
struct TableFamilyWords {
  const char* name;          // "no IPv6 underlay address"
  const char* qualifier;     // "our own IPv6 podCIDR", "no IPv6 gateway", "the IPv6 sender table"
  const char* underlay_key;  // the config key of our underlay address
  const char* not_unicast;   // what a public IP no node can have is not
  // The sender table's rte_hash name, before a counter. Short: DPDK names
  // the hash's RCU defer queue ring "RCU_HASH_RCU_<name>" and cuts it at
  // RTE_RING_NAMESIZE, so a longer name loses the counter and two tables
  // alive at once collide ("File exists").
  const char* senders_name;
};

struct Ipv4TableFamily {
  using Address = Ipv4Addr;
  using Prefix = Ipv4Prefix;
  static constexpr TableFamilyWords kWords{"IPv4", "", "underlay.address",
                                           " is not a unicast host address", "tsnd4"};

  static bool unicast_host(Ipv4Addr a) {
    const uint32_t ip = a.value;
    return !((ip >> 24) == 0 || ip == 0xffffffff || (ip >> 28) >= 0xe || (ip >> 24) == 127);
  }
  // What makes a route's prefix unusable besides being a default route:
  // nothing, DIR-24-8 masks host bits itself.
  static std::optional<std::string> prefix_problem(const Prefix&) { return std::nullopt; }
  static bool local_subnet_ok(const Prefix&) { return true; }

  static constexpr bool kCarriesUdp = true;
  static void set_tunnel_ends(NextHopParams& p, Address local, Address remote) {
    p.local_ip = local;
    p.public_ip = remote;
  }
  // A wireguard peer's endpoint (UDP port in host order): where its next
  // hop sends, and where it is to send once the peer roamed.
  static bool sends_to(const NextHop& nh, Address ip, uint16_t port) {
    const auto* outer = reinterpret_cast<const rte_ipv4_hdr*>(nh.header + kEthLen);
    const auto* udp = reinterpret_cast<const rte_udp_hdr*>(nh.header + kEthLen + kIpv4Len);
    return outer->dst_addr == ip.be() && rte_be_to_cpu_16(udp->dst_port) == port;
  }
  static void set_endpoint(NextHopParams& p, Address ip, uint16_t port) {
    p.endpoint = {{ip, port}};
  }
  // The route's error names it; a prefix longer than /24 needs one of the
  // groups dataplane.lpm_tbl8_groups sizes.
  using Fib = RouteTable;
  static Status set_route(Fib& fib, const Prefix& prefix, uint32_t next_hop) {
    Status s = fib.set(prefix, next_hop);
    if (s.ok() || s.code() != ErrorCode::kResourceExhausted) return s;
    if (prefix.len > 24) {
      return Status(ErrorCode::kResourceExhausted,
                    "route " + prefix.str() +
                        ": no LPM group left for a prefix longer than /24 "
                        "(dataplane.lpm_tbl8_groups)");
    }
    return Status(ErrorCode::kResourceExhausted, "route " + prefix.str() + ": " + s.message());
  }
  static Status set_local_route(Fib& fib, const Prefix& prefix) {
    return set_route(fib, prefix, 0);
  }

  // The sender table's keys: the address in network order. For a 4-byte
  // key rte_hash has no compare of its own (it calls memcmp) and
  // rte_hash_crc loops over the length: a worker looks up every tunnel
  // packet's sender, and these two were 4% of decapsulation's cycles
  // (perf/RESULTS.md).
  using SenderKey = uint32_t;
  static SenderKey sender_key(Ipv4Addr a) { return a.be(); }
  static uint32_t sender_hash(const void* key, uint32_t, uint32_t init) {
    uint32_t k;
    std::memcpy(&k, key, sizeof k);
    return rte_hash_crc_4byte(k, init);
  }
  static int sender_differs(const void* a, const void* b, size_t) {
    uint32_t x, y;
    std::memcpy(&x, a, sizeof x);
    std::memcpy(&y, b, sizeof y);
    return x != y;
  }
  static constexpr rte_hash_function kSenderHash = sender_hash;
  static constexpr rte_hash_cmp_eq_t kSenderCompare = sender_differs;

  using Neighbour = StaticNeighbour;  // a static underlay neighbour
};

// flannel-v6: a node's public-ipv6 and backend-v6-data's VtepMAC.
struct Ipv6TableFamily {
  using Address = Ipv6Addr;
  using Prefix = Ipv6Prefix;
  static constexpr TableFamilyWords kWords{"IPv6", "IPv6 ", "underlay.ipv6_address",
                                           " is not a global unicast address", "tsnd6"};

  // A public IPv6 a remote node can be reached at: not unspecified,
  // loopback, multicast or link-local (which needs an interface to mean
  // anything), nor IPv4-mapped.
  static bool unicast_host(const Ipv6Addr& a) {
    const auto& b = a.bytes;
    if (a.is_zero() || b[0] == 0xff) return false;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return false;
    bool low_zero = true;  // the first 10 bytes
    for (int i = 0; i < 10; ++i) low_zero = low_zero && b[i] == 0;
    if (low_zero && b[10] == 0 && b[11] == 0 && b[12] == 0 && b[13] == 0 && b[14] == 0 &&
        b[15] == 1)
      return false;                                                // ::1
    if (low_zero && b[10] == 0xff && b[11] == 0xff) return false;  // ::ffff:a.b.c.d
    return true;
  }
  // RouteTable6 takes networks only (host bits zero).
  static std::optional<std::string> prefix_problem(const Prefix& p) {
    if (p.len > 128) return "prefix: length above 128";
    if (!(p.network() == p))
      return "prefix: host bits set (the network is " + p.network().str() + ")";
    return std::nullopt;
  }
  static bool local_subnet_ok(const Prefix& p) { return p.len != 0 && p.network() == p; }

  static constexpr bool kCarriesUdp = false;  // flannel's udp backend is IPv4 only
  static void set_tunnel_ends(NextHopParams& p, const Address& local, const Address& remote) {
    p.ipv6 = true;
    p.local_ip6 = local;
    p.public_ip6 = remote;
  }
  static bool sends_to(const NextHop& nh, const Address& ip, uint16_t port) {
    const auto* outer = reinterpret_cast<const rte_ipv6_hdr*>(nh.header + kEthLen);
    const auto* udp = reinterpret_cast<const rte_udp_hdr*>(nh.header + kEthLen + kIpv6HeaderLen);
    return std::memcmp(outer->dst_addr, ip.bytes.data(), 16) == 0 &&
           rte_be_to_cpu_16(udp->dst_port) == port;
  }
  static void set_endpoint(NextHopParams& p, const Address& ip, uint16_t port) {
    p.endpoint6 = {{ip, port}};
  }
  using Fib = RouteTable6;
  static Status set_route(Fib& fib, const Prefix& prefix, uint32_t next_hop) {
    Status s = fib.set(prefix, next_hop);
    if (s.ok()) return s;
    return Status(s.code(), "route " + prefix.str() + ": " + s.message());
  }
  static Status set_local_route(Fib& fib, const Prefix& prefix) { return fib.set(prefix, 0); }

  // 16-byte keys: rte_hash's CRC and compare.
  using SenderKey = Ipv6Addr;
  static const SenderKey& sender_key(const Ipv6Addr& a) { return a; }
  static constexpr rte_hash_function kSenderHash = nullptr;
  static constexpr rte_hash_cmp_eq_t kSenderCompare = nullptr;

  using Neighbour = StaticNeighbour6;
};

// The other family: a wireguard route of one family may be sealed behind
// the other's underlay (RouteSpecOf::cross_ip).
template <class F>
struct OtherFamilyOf;
template <>
struct OtherFamilyOf<Ipv4TableFamily> {
  using type = Ipv6TableFamily;
};
template <>
struct OtherFamilyOf<Ipv6TableFamily> {
  using type = Ipv4TableFamily;
};
template <class F>
using OtherFamily = typename OtherFamilyOf<F>::type;

}  // namespace tartan
