// Per-worker counters (written only by their worker, cache-aligned so no two
// workers share a line) and the summed snapshot the control plane reads.
#pragma once

#include <rte_common.h>
#include <rte_config.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/net_types.h"
#include "engine/observe/counter.h"

namespace tartan {

// Every reason a packet is freed has its own counter: (enum, name, help).
#define TARTAN_DROP_REASONS(X)                                                                   \
  X(kRunt, "runt", "frame shorter than the Ethernet/IPv4 headers it claims")                     \
  X(kTruncated, "truncated", "IPv4 total length or UDP length beyond the end of the frame")      \
  X(kNotIpv4, "not_ipv4", "neither IPv4 nor ARP (and no exception port to take it)")             \
  X(kBadIpHeader, "bad_ip_header", "IPv4 version is not 4 or header length below 20 bytes")      \
  X(kBadIpChecksum, "bad_ip_checksum", "IPv4 header checksum does not verify")                   \
  X(kNotOurMac, "not_our_mac", "underlay frame for another host's MAC")                          \
  X(kWrongDstIp, "wrong_dst_ip", "underlay packet not addressed to our public IP (or IPv6)")     \
  X(kNotTunnel, "not_tunnel", "to our public IP but not UDP (and no exception port)")            \
  X(kWrongDstPort, "wrong_dst_port", "UDP to our public IP on a port other than the backend's")  \
  X(kOuterFragment, "outer_fragment",                                                            \
    "outer fragment that is not UDP from a node, or any IPv6 one (and no exception port)")       \
  X(kFragmentTimeout, "fragment_timeout",                                                        \
    "outer fragment whose other fragments did not come in time (dataplane.reassembly)")          \
  X(kFragmentDropped, "fragment_dropped",                                                        \
    "outer fragment the reassembly refused: table full, duplicate, overlap, over 8, too long")   \
  X(kUnknownSender, "unknown_sender", "tunnel packet from a public IP that is no known node's")  \
  X(kBadUdpChecksum, "bad_udp_checksum",                                                         \
    "tunnel packet whose outer UDP checksum is not zero and wrong")                              \
  X(kBadVxlanFlags, "bad_vxlan_flags",                                                           \
    "VXLAN flags other than exactly the I flag, or reserved bits set")                           \
  X(kBadVni, "bad_vni", "VXLAN network identifier is not ours")                                  \
  X(kNotOurVtepMac, "not_our_vtep_mac", "inner Ethernet destination is not our VTEP MAC")        \
  X(kInnerNotIpv4, "inner_not_ipv4", "decapsulated frame is not IPv4")                           \
  X(kInnerDstNotLocal, "inner_dst_not_local", "decapsulated packet is not for our podCIDR")      \
  X(kTtlExpired, "ttl_expired", "TTL would reach zero at this hop")                              \
  X(kNoRoute, "no_route", "no route for the destination")                                        \
  X(kTooBig, "too_big", "longer than the overlay MTU without DF (not fragmented)")               \
  X(kIcmpRateLimited, "icmp_rate_limited", "an ICMP error was due but over the per-worker rate") \
  X(kArpNotForUs, "arp_not_for_us", "ARP that needs no answer from us")                          \
  X(kArpQueueFull, "arp_queue_full",                                                             \
    "ARP queue full: a packet waiting for resolution, or ARP to learn from")                     \
  X(kArpUnresolved, "arp_unresolved", "held for ARP resolution, which never came")               \
  X(kNdNotForUs, "nd_not_for_us",                                                                \
    "neighbour discovery that needs nothing from us (a solicitation for another address)")       \
  X(kNdBadHopLimit, "nd_bad_hop_limit",                                                          \
    "neighbour discovery with an IPv6 hop limit other than 255 (not from this link)")            \
  X(kNdBadChecksum, "nd_bad_checksum", "neighbour discovery whose ICMPv6 checksum is wrong")     \
  X(kNdMalformed, "nd_malformed",                                                                \
    "NS/NA invalid per RFC 4861 7.1: code, length, multicast target, misaddressed")              \
  X(kNdBadOption, "nd_bad_option",                                                               \
    "NS/NA option of length zero or past the message, or a link-layer address on a DAD NS")      \
  X(kTxQueueFull, "tx_queue_full", "the TX queue was full; the packet was freed")                \
  X(kGsoFailed, "gso_failed", "a GSO packet could not be segmented (no mbufs, or malformed)")    \
  X(kBadIpv6Header, "bad_ipv6_header", "IPv6 version is not 6")                                  \
  X(kHopLimitExpired, "hop_limit_expired", "IPv6 hop limit would reach zero at this hop")        \
  X(kIpv6TooBig, "ipv6_too_big",                                                                 \
    "IPv6 packet longer than the IPv6 overlay MTU (underlay MTU - 70; never fragmented)")        \
  X(kInnerNotIpv6, "inner_not_ipv6", "decapsulated frame from an IPv6 tunnel is not IPv6")       \
  X(kUdp6ZeroChecksum, "udp6_zero_checksum",                                                     \
    "tunnel packet over IPv6 with a zero UDP checksum "                                          \
    "(RFC 8200 8.1; Linux: udp6zerocsumrx off)")                                                 \
  X(kWgNoSession, "wg_no_session",                                                               \
    "to a wireguard peer with no usable sending key (none, too old, counter spent): handshake")  \
  X(kWgNoRoom, "wg_no_room",                                                                     \
    "no tailroom for wireguard's padding and tag, nor one buffer to gather the packet into")     \
  X(kWgCryptoFailed, "wg_crypto_failed",                                                         \
    "the crypto library failed to seal a wireguard transport message (not input-dependent)")     \
  X(kWgTruncated, "wg_truncated",                                                                \
    "wireguard message shorter than its type's fixed part (transport: 32 bytes)")                \
  X(kWgBadType, "wg_bad_type", "UDP to the wireguard port whose message type is not 1 to 4")     \
  X(kWgUnknownIndex, "wg_unknown_index",                                                         \
    "wireguard transport message whose receiver index names no keypair of ours on its family's " \
    "device")                                                                                    \
  X(kWgKeyExpired, "wg_key_expired",                                                             \
    "wireguard transport message for a keypair older than dataplane.wireguard.reject_after_s")   \
  X(kWgBadMac, "wg_bad_mac", "wireguard transport message whose tag does not authenticate")      \
  X(kWgReplayed, "wg_replayed",                                                                  \
    "wireguard counter seen before, behind the replay window, or past REJECT_AFTER_MESSAGES")    \
  X(kWgInnerNotIp, "wg_inner_not_ip",                                                            \
    "decrypted wireguard packet that is neither an IPv4 nor an IPv6 packet")                     \
  X(kWgNotAllowedIp, "wg_not_allowed_ip",                                                        \
    "decrypted wireguard packet whose inner source is outside the sending peer's podCIDRs")      \
  X(kWgHandshakeQueueFull, "wg_handshake_queue_full",                                            \
    "wireguard handshake message while the control thread's handshake queue was full")

enum class DropReason : uint8_t {
#define TARTAN_DROP_ENUM(e, name, help) e,
  TARTAN_DROP_REASONS(TARTAN_DROP_ENUM)
#undef TARTAN_DROP_ENUM
      kCount
};
inline constexpr size_t kNumDropReasons = static_cast<size_t>(DropReason::kCount);

const char* drop_reason_name(DropReason reason);
const char* drop_reason_help(DropReason reason);

struct PortCounters {
  Counter rx_packets, rx_bytes, tx_packets, tx_bytes;
};

// What happened to packets that were not simply forwarded or dropped.
struct EventCounters {
  Counter arp_replies;      // ARP requests answered (underlay: our IP; overlay: proxy)
  Counter icmp_errors;      // ICMP and ICMPv6 errors sent back (too big, unreachable, ...)
  Counter to_exception;     // handed to the exception port
  Counter to_control;       // ARP handed to the control thread to learn from
  Counter arp_wait;         // handed to the control thread to wait for ARP resolution
  Counter injected;         // sent on behalf of the control thread (ARP requests, released packets)
  Counter to_slow_path;     // underlay frames for ARP or the host handed to the slow-path worker
  Counter decap_offloaded;  // VXLAN the underlay NIC had decapsulated (flow_offload.h)
  Counter fragments;        // outer fragments taken in for reassembly
  Counter reassembled;      // packets put together from them
  Counter fragments_reassembled;  // fragments in those packets
  Counter gso_packets;            // GSO packets from a vnet tap cut into segments
  Counter gso_segments;           // the segments cut from them
  Counter gro_merged;             // packets merged for a vnet tap (each one GSO write)
  Counter gro_segments;           // the segments merged into them
  Counter probe_replies;          // tunnel probes' replies handed to the control thread
  Counter wg_keepalives;          // wireguard keepalives (empty transport messages) received
  Counter wg_handshakes;          // wireguard handshake messages handed to the control thread
};

// Per remote node (next hop) traffic.
struct PeerCounters {
  Counter encap_packets, encap_bytes, decap_packets, decap_bytes;
};

struct alignas(RTE_CACHE_LINE_SIZE) WorkerCounters {
  Counter loops;        // iterations of the poll loop
  Counter busy_loops;   // iterations that received at least one packet
  Counter busy_cycles;  // TSC cycles spent in iterations that received packets
  Counter processed;    // packets received in those iterations
  std::array<PortCounters, RTE_MAX_ETHPORTS> ports;
  std::array<Counter, kNumDropReasons> drops;
  EventCounters events;

  void drop(DropReason reason, uint64_t n = 1) { drops[static_cast<size_t>(reason)].add(n); }
};

// Fragments a worker holds for reassembly now: taken in, less those put
// together, timed out or refused. Exact while the worker is idle.
inline uint64_t fragments_held(const WorkerCounters& c) {
  // `out` first: the worker counts a fragment in before it counts it out.
  const uint64_t out = c.events.fragments_reassembled.get() +
                       c.drops[static_cast<size_t>(DropReason::kFragmentTimeout)].get() +
                       c.drops[static_cast<size_t>(DropReason::kFragmentDropped)].get();
  const uint64_t in = c.events.fragments.get();
  return in > out ? in - out : 0;
}

struct PortStats {
  std::string name;
  std::string role;
  uint16_t port_id = 0;
  uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
  uint64_t hw_rx_missed = 0, hw_rx_errors = 0, hw_tx_errors = 0;  // from rte_eth_stats
  bool link_up = false;
  uint64_t link_downs = 0;  // times the link went down (memif, vhost: the peer went away)
};

struct WorkerStats {
  unsigned lcore = 0;
  uint64_t loops = 0, busy_loops = 0, busy_cycles = 0, processed = 0;
};

struct EventStats {
  uint64_t arp_replies = 0, icmp_errors = 0, to_exception = 0, to_control = 0, arp_wait = 0,
           injected = 0, to_slow_path = 0, decap_offloaded = 0;
  uint64_t reassembled = 0, fragments_reassembled = 0;
  uint64_t gso_packets = 0, gso_segments = 0, gro_merged = 0, gro_segments = 0;
  uint64_t fragments_held_now = 0;  // waiting in the reassembly tables (a gauge)
  uint64_t arp_requests_sent = 0, arp_learned = 0, arp_released = 0, arp_held_now = 0;
  // Neighbour discovery (IPv6 underlay), as ARP's above.
  uint64_t nd_solicits_sent = 0, nd_solicits_answered = 0, nd_adverts_received = 0, nd_learned = 0;
  uint64_t probes_sent = 0, probe_replies = 0;
  uint64_t wg_keepalives = 0, wg_handshakes = 0;
};

struct PeerStats {
  uint32_t next_hop_id = 0;
  Ipv4Addr public_ip;
  std::optional<Ipv6Addr> public_ip6;  // an IPv6 (flannel-v6) peer's; then public_ip is 0
  uint64_t encap_packets = 0, encap_bytes = 0, decap_packets = 0, decap_bytes = 0;

  // The remote node's public address of the peer's family: what names the
  // peer wherever it is shown.
  std::string address() const { return public_ip6 ? public_ip6->str() : public_ip.str(); }
};

struct StatsSnapshot {
  std::vector<PortStats> ports;
  std::vector<WorkerStats> workers;
  std::array<uint64_t, kNumDropReasons> drops{};
  EventStats events;
  std::vector<PeerStats> peers;
  uint64_t tsc_hz = 0;

  uint64_t drop_count(DropReason r) const { return drops[static_cast<size_t>(r)]; }
};

}  // namespace tartan
