// IPv6 and neighbour discovery frames for tests, assembled field by field
// from RFC 8200 and RFC 4861 (independently of engine/neighbours/nd.cc),
// with the ICMPv6 checksum summed here over the pseudo header.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/net_types.h"
#include "tests/support/packets.h"

namespace tartan::testing {

struct Ipv6Spec {
  MacAddr src_mac = *MacAddr::parse("02:00:00:00:00:01");
  MacAddr dst_mac = *MacAddr::parse("02:00:00:00:00:02");
  Ipv6Addr src_ip = *Ipv6Addr::parse("2001:db8::1");
  Ipv6Addr dst_ip = *Ipv6Addr::parse("2001:db8::2");
  uint8_t next_header = 58;  // ICMPv6
  uint8_t hop_limit = 64;
  std::optional<uint16_t> payload_len;  // unset: l4's size
};

// Ethernet + IPv6 (+ `l4` verbatim).
Bytes ipv6_frame(const Ipv6Spec& spec, const Bytes& l4);

// The RFC 4443 2.3 checksum of the ICMPv6 message (whose checksum field
// is zeroed first) of an Ethernet/IPv6 frame without extension headers, the
// message being IPv6 payload-length bytes long.
uint16_t icmp6_checksum(const Bytes& frame);
// Writes icmp6_checksum() into the frame's ICMPv6 checksum field.
void seal_icmp6(Bytes& frame);

// The ICMPv6 error (RFC 4443) a router at `src` sends about `offending`,
// an Ethernet/IPv6 frame without padding, back to its sender: Ethernet
// addresses swapped, hop limit 64, the 32-bit `word` (Packet Too Big's
// MTU), and as much of the offending packet as keeps the error within the
// IPv6 minimum MTU, 1280 bytes.
Bytes icmp6_error_frame(const Bytes& offending, uint8_t type, uint8_t code, uint32_t word,
                        const Ipv6Addr& src);

// Inserts an extension header (`header`, its first byte overwritten with
// the next header it precedes) of kind `kind` right after the fixed IPv6
// header at `l3` of `frame`, with the payload length and the chain of next
// headers to match. Upper-layer checksums stay valid: their pseudo header
// has not changed.
void insert_extension(Bytes& frame, size_t l3, uint8_t kind, Bytes header);

struct NdOption {
  uint8_t type;
  Bytes body;                  // after type and length; padded to a multiple of 8 with the two
  std::optional<uint8_t> len;  // the length field as sent, if not the right one
};

struct NdSpec : Ipv6Spec {
  uint8_t type = 135;  // NS; 136 NA
  uint8_t code = 0;
  uint8_t flags = 0;  // NA: 0x80 router, 0x40 solicited, 0x20 override
  Ipv6Addr target;
  std::vector<NdOption> options;
  NdSpec() { hop_limit = 255; }
};

// A link-layer address option (1 source, 2 target) of `mac`.
NdOption link_option(uint8_t type, const MacAddr& mac);
// Ethernet + IPv6 + NS/NA, checksum valid.
Bytes nd_frame(const NdSpec& spec);

}  // namespace tartan::testing
