// Packet builders shared by tests and benchmarks: frames assembled field by
// field (independently of the engine's code), written into real mbufs.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/net_types.h"

namespace tartan::testing {

using Bytes = std::vector<uint8_t>;

struct Ipv4Spec {
  MacAddr src_mac = *MacAddr::parse("02:00:00:00:00:01");
  MacAddr dst_mac = *MacAddr::parse("02:00:00:00:00:02");
  Ipv4Addr src_ip = *Ipv4Addr::parse("10.244.1.10");
  Ipv4Addr dst_ip = *Ipv4Addr::parse("10.244.2.10");
  uint8_t protocol = 17;  // UDP
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint16_t id = 1;
  bool dont_fragment = false;
  uint16_t frag_field = 0;  // MF flag and offset, as in the header (host order)
};

struct UdpSpec : Ipv4Spec {
  uint16_t src_port = 10000;
  uint16_t dst_port = 5001;
  bool checksum = true;  // false: zero UDP checksum
};

// Ethernet + IPv4 (+ `l4` as the payload, verbatim).
Bytes ipv4_frame(const Ipv4Spec& spec, const Bytes& l4);
// Ethernet + IPv4 + UDP + payload, checksums valid.
Bytes udp_frame(const UdpSpec& spec, const Bytes& payload);
// A UDP frame with `payload_size` bytes of `fill` (18 makes a 64-byte frame with CRC).
Bytes udp_frame(const UdpSpec& spec, uint16_t payload_size = 18, uint8_t fill = 0xab);
// The IPv4 packet of an Ethernet frame (header without options) split into
// fragments carrying `payload` bytes (a multiple of 8) each but the last,
// as a router on the way splits it; each is an Ethernet frame.
std::vector<Bytes> ipv4_fragments(const Bytes& frame, size_t payload);
// Computes the UDP checksum of an Ethernet/IPv4/UDP frame (IPv4 header
// without options) anew, as its sender would after changing its bytes.
void seal_udp(Bytes& frame);

struct Udp6Spec {
  MacAddr src_mac = *MacAddr::parse("02:00:00:00:00:01");
  MacAddr dst_mac = *MacAddr::parse("02:00:00:00:00:02");
  Ipv6Addr src_ip = *Ipv6Addr::parse("fd00:10:244:1::a");
  Ipv6Addr dst_ip = *Ipv6Addr::parse("fd00:10:244:2::a");
  uint8_t hop_limit = 64;
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;
  uint16_t src_port = 10000;
  uint16_t dst_port = 5001;
  bool checksum = true;  // false: zero UDP checksum
};

// Ethernet + IPv6 + UDP + payload, the UDP checksum valid (or zero).
Bytes udp6_frame(const Udp6Spec& spec, const Bytes& payload);
Bytes udp6_frame(const Udp6Spec& spec, uint16_t payload_size = 18, uint8_t fill = 0xab);
// The UDP checksum an Ethernet/IPv6/UDP frame (UDP right after the fixed
// header) should carry, summed byte by byte over its pseudo header and UDP
// bytes (the field taken as zero); a zero result is 0xffff.
uint16_t udp6_checksum(const Bytes& frame);
// Writes udp6_checksum() into the frame, as its sender would after
// changing its bytes.
void seal_udp6(Bytes& frame);

// The 8-byte VXLAN header: flags word, VNI, reserved byte.
Bytes vxlan_header(uint32_t vni, uint32_t flags_word = 0x08000000, uint8_t reserved = 0);
Bytes concat(const Bytes& a, const Bytes& b);

// Ethernet + ARP (Ethernet/IPv4).
Bytes arp_frame(uint16_t op, const MacAddr& eth_dst, const MacAddr& sender_mac, Ipv4Addr sender_ip,
                const MacAddr& target_mac, Ipv4Addr target_ip);

// The IPv4 packet inside an Ethernet frame (the bytes after the 14-byte header).
Bytes l3_of(const Bytes& frame);

// RFC 1071 checksum of `len` bytes (the one's complement of the sum).
uint16_t internet_checksum(const uint8_t* data, size_t len, uint32_t initial = 0);

// Hex dump for assertion messages.
std::string hex(const Bytes& b);

rte_mbuf* to_mbuf(rte_mempool* pool, const Bytes& bytes);
Bytes from_mbuf(const rte_mbuf* m);
void free_all(const std::vector<rte_mbuf*>& pkts);

}  // namespace tartan::testing
