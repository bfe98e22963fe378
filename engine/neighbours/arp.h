// ARP (RFC 826) for Ethernet/IPv4, in place on mbufs.
#pragma once

#include <rte_arp.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <optional>

#include "engine/net_types.h"

namespace tartan {

struct ArpInfo {
  uint16_t op = 0;  // RTE_ARP_OP_REQUEST or RTE_ARP_OP_REPLY
  MacAddr sender_mac;
  Ipv4Addr sender_ip;
  Ipv4Addr target_ip;
};

// The ARP fields of an Ethernet frame, if it is a well-formed Ethernet/IPv4
// ARP request or reply.
std::optional<ArpInfo> parse_arp(const rte_mbuf* m);

// Turns the request in `m` into its reply, "target_ip is at answer_mac",
// sent back to the asker.
void make_arp_reply(rte_mbuf* m, const MacAddr& answer_mac);

// Writes a broadcast request for `target` into the empty mbuf `m`; with
// target == src_ip it is a gratuitous announcement. False if `m` has no room.
bool build_arp_request(rte_mbuf* m, const MacAddr& src_mac, Ipv4Addr src_ip, Ipv4Addr target);

}  // namespace tartan
