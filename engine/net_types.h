// Addresses and prefixes as the tables and the config both see them.
// IPv4 addresses are held in host byte order; conversion to the wire happens
// once, when headers are precomputed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "engine/status.h"

namespace tartan {

struct Ipv4Addr {
  uint32_t value = 0;  // host byte order

  static std::optional<Ipv4Addr> parse(std::string_view text);
  std::string str() const;
  uint32_t be() const;  // network byte order
  static Ipv4Addr from_be(uint32_t be_value);
  friend bool operator==(Ipv4Addr, Ipv4Addr) = default;
  friend auto operator<=>(Ipv4Addr, Ipv4Addr) = default;
};

struct Ipv4Prefix {
  Ipv4Addr addr;  // always the network address (host bits zero)
  uint8_t len = 0;

  // Accepts "a.b.c.d/n"; host bits set is an error unless allow_host_bits,
  // in which case they are kept in `addr` (an interface address like
  // 192.0.2.10/24) and network() gives the masked form.
  static std::optional<Ipv4Prefix> parse(std::string_view text, bool allow_host_bits = false);
  std::string str() const;
  uint32_t mask() const { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }
  Ipv4Prefix network() const { return {Ipv4Addr{addr.value & mask()}, len}; }
  bool contains(Ipv4Addr a) const { return (a.value & mask()) == (addr.value & mask()); }
  bool contains(const Ipv4Prefix& p) const { return p.len >= len && contains(p.addr); }
  bool overlaps(const Ipv4Prefix& p) const { return contains(p) || p.contains(*this); }
  Ipv4Addr last() const { return Ipv4Addr{addr.value | ~mask()}; }  // its highest address
  // The prefix of the same length right after this one; nullopt after the
  // last. (Allocators walk a range of podCIDRs this way.)
  std::optional<Ipv4Prefix> next() const;
  friend bool operator==(const Ipv4Prefix&, const Ipv4Prefix&) = default;
  friend auto operator<=>(const Ipv4Prefix&, const Ipv4Prefix&) = default;
};

// A network CIDR ("10.244.5.0/24") as operators type it; the error says
// which of the two it is: not a CIDR at all, or one with host bits set (and
// the network meant).
Result<Ipv4Prefix> parse_ipv4_cidr(std::string_view text);

// 16 bytes in network order, as on the wire and in in6_addr.
struct Ipv6Addr {
  std::array<uint8_t, 16> bytes{};

  static std::optional<Ipv6Addr> parse(std::string_view text);
  std::string str() const;  // RFC 5952 text, as inet_ntop writes it
  bool is_zero() const;
  friend bool operator==(const Ipv6Addr&, const Ipv6Addr&) = default;
  friend auto operator<=>(const Ipv6Addr&, const Ipv6Addr&) = default;
};

struct Ipv6Prefix {
  Ipv6Addr addr;  // the network address (host bits zero) unless parsed with allow_host_bits
  uint8_t len = 0;

  // Accepts "addr/n"; host bits set is an error unless allow_host_bits (an
  // interface address like 2001:db8::10/64), as Ipv4Prefix::parse.
  static std::optional<Ipv6Prefix> parse(std::string_view text, bool allow_host_bits = false);
  std::string str() const;
  Ipv6Prefix network() const;
  bool contains(const Ipv6Addr& a) const;
  bool contains(const Ipv6Prefix& p) const { return p.len >= len && contains(p.addr); }
  bool overlaps(const Ipv6Prefix& p) const { return contains(p) || p.contains(*this); }
  Ipv6Addr last() const;                   // its highest address
  std::optional<Ipv6Prefix> next() const;  // as Ipv4Prefix::next
  friend bool operator==(const Ipv6Prefix&, const Ipv6Prefix&) = default;
  friend auto operator<=>(const Ipv6Prefix&, const Ipv6Prefix&) = default;
};

// An IPv6 network CIDR as operators type it; the error says which of the
// two it is, as parse_ipv4_cidr's does.
Result<Ipv6Prefix> parse_ipv6_cidr(std::string_view text);

// An address of either family. A wireguard peer is named by its node's
// underlay address of the device's family (flannel-wg's peers by
// public-ip, flannel-wg-v6's by public-ipv6).
using IpAddr = std::variant<Ipv4Addr, Ipv6Addr>;
std::string ip_addr_str(const IpAddr& a);

struct MacAddr {
  std::array<uint8_t, 6> bytes{};

  static std::optional<MacAddr> parse(std::string_view text);
  std::string str() const;
  bool is_zero() const;
  bool is_multicast() const { return (bytes[0] & 1) != 0; }
  friend bool operator==(const MacAddr&, const MacAddr&) = default;
};

}  // namespace tartan
