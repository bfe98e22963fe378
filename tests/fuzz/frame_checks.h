// Facts about frames tartan sent, read byte by byte independently of the
// engine's code. Each returns "" when the frame is fine, else what is wrong.
#pragma once

#include <cstdint>
#include <string>

#include "engine/net_types.h"
#include "tests/support/packets.h"

namespace tartan::fuzz {

using testing::Bytes;

uint16_t be16(const Bytes& f, size_t at);
uint32_t be32(const Bytes& f, size_t at);
Ipv4Addr ip_at(const Bytes& f, size_t at);
MacAddr mac_at(const Bytes& f, size_t at);
Ipv6Addr ip6_at(const Bytes& f, size_t at);
bool is_arp(const Bytes& f);
bool is_ipv4(const Bytes& f);
bool is_ipv6(const Bytes& f);

// An IPv4 header at `l3` that a receiver accepts: version 4, header length
// within the frame, checksum, and a total length that ends the frame.
std::string ipv4_problem(const Bytes& f, size_t l3);

// A UDP header at `l4` whose length ends the frame and whose checksum
// (unless zero) verifies over the pseudo-header of the IPv4 header at `l3`.
std::string udp_problem(const Bytes& f, size_t l3, size_t l4);
inline const std::string kBadUdpChecksum = "UDP checksum does not verify";

// An ICMP error at `l4` with a valid checksum.
std::string icmp_problem(const Bytes& f, size_t l4);

// An IPv6 header at `l3` that a receiver accepts: version 6 and a payload
// length that ends the frame.
std::string ipv6_problem(const Bytes& f, size_t l3);

// The UDP, TCP or ICMPv6 message right after the IPv6 header at `l3`, its
// checksum verified over the IPv6 pseudo-header (RFC 8200 8.1); UDP's must
// not be zero and its length must end the frame. "" for other next headers.
std::string upper_layer6_problem(const Bytes& f, size_t l3);

}  // namespace tartan::fuzz
