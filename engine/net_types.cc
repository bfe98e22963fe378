#include "engine/net_types.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace tartan {
namespace {

// Splits "addr/len" and parses len within [0, max_len].
bool split_prefix(std::string_view text, std::string& addr, uint8_t& len, int max_len) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  addr.assign(text.substr(0, slash));
  const std::string_view len_text = text.substr(slash + 1);
  int value = -1;
  const auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), value);
  if (ec != std::errc() || end != len_text.data() + len_text.size() || len_text.empty())
    return false;
  if (value < 0 || value > max_len) return false;
  len = static_cast<uint8_t>(value);
  return true;
}

}  // namespace

std::optional<Ipv4Addr> Ipv4Addr::parse(std::string_view text) {
  const std::string s(text);
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return Ipv4Addr{ntohl(a.s_addr)};
}

std::string Ipv4Addr::str() const {
  char buf[INET_ADDRSTRLEN];
  in_addr a{htonl(value)};
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

uint32_t Ipv4Addr::be() const {
  return htonl(value);
}
Ipv4Addr Ipv4Addr::from_be(uint32_t be_value) {
  return Ipv4Addr{ntohl(be_value)};
}

Result<Ipv4Prefix> parse_ipv4_cidr(std::string_view text) {
  if (auto p = Ipv4Prefix::parse(text)) return *p;
  const std::string quoted = "'" + std::string(text) + "'";
  if (auto loose = Ipv4Prefix::parse(text, true)) {
    return Status::invalid(quoted + " has host bits set (did you mean " + loose->network().str() +
                           "?)");
  }
  return Status::invalid(quoted + " is not an IPv4 CIDR (a.b.c.d/len)");
}

std::optional<Ipv4Prefix> Ipv4Prefix::parse(std::string_view text, bool allow_host_bits) {
  std::string addr_text;
  Ipv4Prefix p;
  if (!split_prefix(text, addr_text, p.len, 32)) return std::nullopt;
  const auto addr = Ipv4Addr::parse(addr_text);
  if (!addr) return std::nullopt;
  p.addr = *addr;
  if (!allow_host_bits && (p.addr.value & ~p.mask()) != 0) return std::nullopt;
  return p;
}

std::string Ipv4Prefix::str() const {
  return addr.str() + "/" + std::to_string(len);
}

std::optional<Ipv4Prefix> Ipv4Prefix::next() const {
  const Ipv4Prefix n = network();
  if (n.last().value == ~uint32_t{0}) return std::nullopt;
  return Ipv4Prefix{Ipv4Addr{n.last().value + 1}, len};
}

std::optional<Ipv6Addr> Ipv6Addr::parse(std::string_view text) {
  const std::string s(text);
  Ipv6Addr a;
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
  return a;
}

std::string Ipv6Addr::str() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

std::string ip_addr_str(const IpAddr& a) {
  return std::visit([](const auto& addr) { return addr.str(); }, a);
}

bool Ipv6Addr::is_zero() const {
  for (auto b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

std::optional<Ipv6Prefix> Ipv6Prefix::parse(std::string_view text, bool allow_host_bits) {
  std::string addr_text;
  Ipv6Prefix p;
  if (!split_prefix(text, addr_text, p.len, 128)) return std::nullopt;
  const auto addr = Ipv6Addr::parse(addr_text);
  if (!addr) return std::nullopt;
  p.addr = *addr;
  if (!allow_host_bits && p.network() != p) return std::nullopt;
  return p;
}

std::string Ipv6Prefix::str() const {
  return addr.str() + "/" + std::to_string(len);
}

Ipv6Prefix Ipv6Prefix::network() const {
  Ipv6Prefix n{{}, len};
  for (int i = 0; i < 16; ++i) {
    const int bits = std::clamp(len - 8 * i, 0, 8);
    n.addr.bytes[i] = addr.bytes[i] & static_cast<uint8_t>(0xff00 >> bits);
  }
  return n;
}

Ipv6Addr Ipv6Prefix::last() const {
  Ipv6Addr a = addr;
  for (int i = 0; i < 16; ++i) {
    const int bits = std::clamp(len - 8 * i, 0, 8);
    a.bytes[i] |= static_cast<uint8_t>(0xff >> bits);
  }
  return a;
}

std::optional<Ipv6Prefix> Ipv6Prefix::next() const {
  // One past the last address, carried across the bytes.
  Ipv6Prefix n{network().last(), len};
  int i = 15;
  while (i >= 0 && ++n.addr.bytes[i] == 0) --i;
  if (i < 0) return std::nullopt;
  return n;
}

bool Ipv6Prefix::contains(const Ipv6Addr& a) const {
  return Ipv6Prefix{a, len}.network().addr == network().addr;
}

Result<Ipv6Prefix> parse_ipv6_cidr(std::string_view text) {
  if (auto p = Ipv6Prefix::parse(text)) return *p;
  const std::string quoted = "'" + std::string(text) + "'";
  if (auto loose = Ipv6Prefix::parse(text, true)) {
    return Status::invalid(quoted + " has host bits set (did you mean " + loose->network().str() +
                           "?)");
  }
  return Status::invalid(quoted + " is not an IPv6 CIDR (addr/len)");
}

std::optional<MacAddr> MacAddr::parse(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  MacAddr m;
  for (size_t i = 0; i < 6; ++i) {
    const std::string_view octet = text.substr(i * 3, 2);
    if (i < 5 && text[i * 3 + 2] != ':') return std::nullopt;
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(octet.data(), octet.data() + 2, value, 16);
    if (ec != std::errc() || end != octet.data() + 2) return std::nullopt;
    m.bytes[i] = static_cast<uint8_t>(value);
  }
  return m;
}

std::string MacAddr::str() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                bytes[3], bytes[4], bytes[5]);
  return buf;
}

bool MacAddr::is_zero() const {
  for (auto b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

}  // namespace tartan
