#include "tests/fuzz/frame_checks.h"

namespace tartan::fuzz {

uint16_t be16(const Bytes& f, size_t at) {
  return static_cast<uint16_t>(f.at(at) << 8 | f.at(at + 1));
}

uint32_t be32(const Bytes& f, size_t at) {
  return uint32_t{be16(f, at)} << 16 | be16(f, at + 2);
}

Ipv4Addr ip_at(const Bytes& f, size_t at) {
  return Ipv4Addr{be32(f, at)};
}

MacAddr mac_at(const Bytes& f, size_t at) {
  MacAddr m;
  for (size_t i = 0; i < 6; ++i) m.bytes[i] = f.at(at + i);
  return m;
}

Ipv6Addr ip6_at(const Bytes& f, size_t at) {
  Ipv6Addr a;
  for (size_t i = 0; i < 16; ++i) a.bytes[i] = f.at(at + i);
  return a;
}

bool is_arp(const Bytes& f) {
  return f.size() >= 14 && be16(f, 12) == 0x0806;
}

bool is_ipv4(const Bytes& f) {
  return f.size() >= 14 && be16(f, 12) == 0x0800;
}

bool is_ipv6(const Bytes& f) {
  return f.size() >= 14 && be16(f, 12) == 0x86dd;
}

std::string ipv4_problem(const Bytes& f, size_t l3) {
  if (f.size() < l3 + 20) return "IPv4 header cut short";
  if (f[l3] >> 4 != 4) return "IPv4 version " + std::to_string(f[l3] >> 4);
  const size_t ihl = size_t{f[l3] & 0x0fu} * 4;
  if (ihl < 20 || f.size() < l3 + ihl) return "IPv4 header length " + std::to_string(ihl);
  if (testing::internet_checksum(&f[l3], ihl) != 0) return "IPv4 header checksum does not verify";
  if (l3 + be16(f, l3 + 2) != f.size()) {
    return "IPv4 total length " + std::to_string(be16(f, l3 + 2)) + " in a frame of " +
           std::to_string(f.size()) + " bytes with the header at " + std::to_string(l3);
  }
  return "";
}

std::string udp_problem(const Bytes& f, size_t l3, size_t l4) {
  if (f.size() < l4 + 8) return "UDP header cut short";
  const uint16_t len = be16(f, l4 + 4);
  if (l4 + len != f.size()) return "UDP length " + std::to_string(len) + " does not end the frame";
  if (be16(f, l4 + 6) == 0) return "";
  // Pseudo-header: source, destination, protocol, UDP length.
  uint32_t sum =
      be16(f, l3 + 12) + be16(f, l3 + 14) + be16(f, l3 + 16) + be16(f, l3 + 18) + 17u + len;
  if (testing::internet_checksum(&f[l4], len, sum) != 0) return kBadUdpChecksum;
  return "";
}

std::string icmp_problem(const Bytes& f, size_t l4) {
  if (f.size() < l4 + 8) return "ICMP header cut short";
  if (testing::internet_checksum(&f[l4], f.size() - l4) != 0)
    return "ICMP checksum does not verify";
  return "";
}

std::string ipv6_problem(const Bytes& f, size_t l3) {
  if (f.size() < l3 + 40) return "IPv6 header cut short";
  if (f[l3] >> 4 != 6) return "IPv6 version " + std::to_string(f[l3] >> 4);
  if (l3 + 40 + be16(f, l3 + 4) != f.size()) {
    return "IPv6 payload length " + std::to_string(be16(f, l3 + 4)) + " in a frame of " +
           std::to_string(f.size()) + " bytes with the header at " + std::to_string(l3);
  }
  return "";
}

std::string upper_layer6_problem(const Bytes& f, size_t l3) {
  const uint8_t proto = f.at(l3 + 6);
  const size_t l4 = l3 + 40;
  const size_t len = f.size() - l4;
  if (proto == 17) {
    if (len < 8) return "UDP header cut short";
    if (be16(f, l4 + 4) != len) return "UDP length does not end the frame";
    if (be16(f, l4 + 6) == 0) return "UDP checksum zero over IPv6";
  } else if (proto != 6 && proto != 58) {
    return "";
  }
  // Pseudo-header: source, destination, upper-layer length, next header.
  uint32_t sum = static_cast<uint32_t>(len >> 16) + (len & 0xffff) + proto;
  for (size_t i = 0; i < 32; i += 2) sum += be16(f, l3 + 8 + i);
  if (testing::internet_checksum(&f[l4], len, sum) == 0) return "";
  return proto == 17 ? kBadUdpChecksum
                     : std::string(proto == 6 ? "TCP" : "ICMPv6") + " checksum does not verify";
}

}  // namespace tartan::fuzz
