// Tunnel probes: ICMP echo requests from our overlay address (the .0 of our
// podCIDR) to a remote node's, sent through the ordinary egress path so they
// test exactly what pod traffic takes (next hop, encapsulation, underlay
// neighbour), and their replies, which a worker hands to the control side
// instead of the host. The payload carries a marker, the TSC when the
// request was made and, once a worker has taken the reply, the TSC then.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <optional>

#include "engine/net_types.h"

namespace tartan {

// ICMP header (8) + marker (8) + request TSC (8) + reply TSC (8).
inline constexpr uint16_t kProbeIcmpLen = 32;

struct ProbeReply {
  Ipv4Addr from;        // the node that answered (its overlay address)
  uint16_t seq = 0;     // the request's sequence number
  uint64_t rtt_ns = 0;  // request made to reply taken by a worker
};

// Makes `m` (empty) an Ethernet frame carrying an echo request from `src`
// to `dst` with identifier `ident` and sequence number `seq`, stamped with
// `tsc`. The Ethernet addresses are left zero: egress replaces the header.
bool build_probe(rte_mbuf* m, Ipv4Addr src, Ipv4Addr dst, uint16_t ident, uint16_t seq,
                 uint64_t tsc);

// Whether the IPv4 packet behind the Ethernet header of `m` (checked by
// check_ipv4) is the echo reply to one of our probes with identifier
// `ident_be` (network order). If so, stamps it with `tsc`.
bool take_probe_reply(rte_mbuf* m, uint16_t ident_be, uint64_t tsc);

// The reply take_probe_reply accepted, its round trip in ns.
std::optional<ProbeReply> parse_probe_reply(const rte_mbuf* m, uint64_t tsc_hz);

}  // namespace tartan
