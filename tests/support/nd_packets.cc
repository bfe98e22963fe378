#include "tests/support/nd_packets.h"

#include <algorithm>

namespace tartan::testing {
namespace {

void put_mac(Bytes& f, const MacAddr& m) {
  f.insert(f.end(), m.bytes.begin(), m.bytes.end());
}

void put_ip6(Bytes& f, const Ipv6Addr& a) {
  f.insert(f.end(), a.bytes.begin(), a.bytes.end());
}

constexpr size_t kL3 = 14, kL4 = 54;

}  // namespace

Bytes ipv6_frame(const Ipv6Spec& s, const Bytes& l4) {
  Bytes f;
  put_mac(f, s.dst_mac);
  put_mac(f, s.src_mac);
  f.push_back(0x86);
  f.push_back(0xdd);
  f.insert(f.end(), {0x60, 0, 0, 0});
  const uint16_t len = s.payload_len.value_or(static_cast<uint16_t>(l4.size()));
  f.push_back(static_cast<uint8_t>(len >> 8));
  f.push_back(static_cast<uint8_t>(len));
  f.push_back(s.next_header);
  f.push_back(s.hop_limit);
  put_ip6(f, s.src_ip);
  put_ip6(f, s.dst_ip);
  f.insert(f.end(), l4.begin(), l4.end());
  return f;
}

uint16_t icmp6_checksum(const Bytes& frame) {
  const size_t len =
      std::min(static_cast<size_t>(frame[kL3 + 4] << 8 | frame[kL3 + 5]), frame.size() - kL4);
  Bytes msg(frame.begin() + kL4, frame.begin() + kL4 + len);
  msg[2] = msg[3] = 0;
  // Pseudo header (RFC 8200 8.1): source, destination, upper-layer length
  // (32 bits), three zero bytes and the next header, 58.
  Bytes pseudo(frame.begin() + kL3 + 8, frame.begin() + kL3 + 40);
  pseudo.insert(pseudo.end(), {0, 0, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)});
  pseudo.insert(pseudo.end(), {0, 0, 0, 58});
  pseudo.insert(pseudo.end(), msg.begin(), msg.end());
  return internet_checksum(pseudo.data(), pseudo.size());
}

void seal_icmp6(Bytes& frame) {
  const uint16_t c = icmp6_checksum(frame);
  frame[kL4 + 2] = static_cast<uint8_t>(c >> 8);
  frame[kL4 + 3] = static_cast<uint8_t>(c);
}

Bytes icmp6_error_frame(const Bytes& offending, uint8_t type, uint8_t code, uint32_t word,
                        const Ipv6Addr& src) {
  constexpr size_t kMaxQuote = 1280 - 40 - 8;
  const size_t quoted = std::min(offending.size() - kL3, kMaxQuote);
  Bytes icmp{type,
             code,
             0,
             0,
             static_cast<uint8_t>(word >> 24),
             static_cast<uint8_t>(word >> 16),
             static_cast<uint8_t>(word >> 8),
             static_cast<uint8_t>(word)};
  icmp.insert(icmp.end(), offending.begin() + kL3, offending.begin() + kL3 + quoted);
  Ipv6Spec s;
  std::copy(offending.begin(), offending.begin() + 6, s.src_mac.bytes.begin());
  std::copy(offending.begin() + 6, offending.begin() + 12, s.dst_mac.bytes.begin());
  s.src_ip = src;
  std::copy(offending.begin() + kL3 + 8, offending.begin() + kL3 + 24, s.dst_ip.bytes.begin());
  s.next_header = 58;
  s.hop_limit = 64;
  Bytes f = ipv6_frame(s, icmp);
  seal_icmp6(f);
  return f;
}

void insert_extension(Bytes& frame, size_t l3, uint8_t kind, Bytes header) {
  header[0] = frame[l3 + 6];
  frame[l3 + 6] = kind;
  const size_t len = (frame[l3 + 4] << 8 | frame[l3 + 5]) + header.size();
  frame[l3 + 4] = static_cast<uint8_t>(len >> 8);
  frame[l3 + 5] = static_cast<uint8_t>(len);
  frame.insert(frame.begin() + static_cast<std::ptrdiff_t>(l3 + 40), header.begin(), header.end());
}

NdOption link_option(uint8_t type, const MacAddr& mac) {
  return {type, Bytes(mac.bytes.begin(), mac.bytes.end()), std::nullopt};
}

Bytes nd_frame(const NdSpec& s) {
  Bytes msg{s.type, s.code, 0, 0, s.flags, 0, 0, 0};
  put_ip6(msg, s.target);
  for (const NdOption& o : s.options) {
    const size_t size = (2 + o.body.size() + 7) / 8 * 8;
    msg.push_back(o.type);
    msg.push_back(o.len.value_or(static_cast<uint8_t>(size / 8)));
    msg.insert(msg.end(), o.body.begin(), o.body.end());
    msg.resize(msg.size() + size - 2 - o.body.size(), 0);
  }
  Bytes f = ipv6_frame(s, msg);
  seal_icmp6(f);
  return f;
}

}  // namespace tartan::testing
