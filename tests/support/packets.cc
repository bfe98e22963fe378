#include "tests/support/packets.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace tartan::testing {
namespace {

void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
void put_mac(Bytes& b, const MacAddr& m) {
  b.insert(b.end(), m.bytes.begin(), m.bytes.end());
}

}  // namespace

uint16_t internet_checksum(const uint8_t* data, size_t len, uint32_t sum) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (len & 1) sum += static_cast<uint32_t>(data[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

Bytes ipv4_frame(const Ipv4Spec& s, const Bytes& l4) {
  Bytes f;
  put_mac(f, s.dst_mac);
  put_mac(f, s.src_mac);
  put16(f, 0x0800);
  const size_t ip_at = f.size();
  f.push_back(0x45);
  f.push_back(s.tos);
  put16(f, static_cast<uint16_t>(20 + l4.size()));
  put16(f, s.id);
  put16(f, static_cast<uint16_t>((s.dont_fragment ? 0x4000 : 0) | s.frag_field));
  f.push_back(s.ttl);
  f.push_back(s.protocol);
  put16(f, 0);
  put32(f, s.src_ip.value);
  put32(f, s.dst_ip.value);
  const uint16_t sum = internet_checksum(f.data() + ip_at, 20);
  f[ip_at + 10] = static_cast<uint8_t>(sum >> 8);
  f[ip_at + 11] = static_cast<uint8_t>(sum);
  f.insert(f.end(), l4.begin(), l4.end());
  return f;
}

Bytes udp_frame(const UdpSpec& s, const Bytes& payload) {
  Bytes udp;
  put16(udp, s.src_port);
  put16(udp, s.dst_port);
  put16(udp, static_cast<uint16_t>(8 + payload.size()));
  put16(udp, 0);
  udp.insert(udp.end(), payload.begin(), payload.end());
  Ipv4Spec ip = s;
  ip.protocol = 17;
  Bytes frame = ipv4_frame(ip, udp);
  if (s.checksum) seal_udp(frame);
  return frame;
}

void seal_udp(Bytes& frame) {
  constexpr size_t kIp = 14, kUdp = 34;
  const size_t udp_len = static_cast<size_t>(frame[kUdp + 4] << 8 | frame[kUdp + 5]);
  // Pseudo-header: addresses, protocol, UDP length.
  uint32_t sum = 17 + static_cast<uint32_t>(udp_len);
  for (size_t i = kIp + 12; i < kIp + 20; i += 2)
    sum += static_cast<uint32_t>(frame[i] << 8 | frame[i + 1]);
  frame[kUdp + 6] = frame[kUdp + 7] = 0;
  uint16_t c = internet_checksum(&frame[kUdp], udp_len, sum);
  if (c == 0) c = 0xffff;  // zero means "no checksum"
  frame[kUdp + 6] = static_cast<uint8_t>(c >> 8);
  frame[kUdp + 7] = static_cast<uint8_t>(c);
}

std::vector<Bytes> ipv4_fragments(const Bytes& frame, size_t payload) {
  constexpr size_t kIp = 14, kData = kIp + 20;
  const size_t total = static_cast<size_t>(frame[kIp + 2] << 8 | frame[kIp + 3]) - 20;
  const uint16_t flags = static_cast<uint16_t>(frame[kIp + 6] << 8 | frame[kIp + 7]);
  std::vector<Bytes> out;
  for (size_t at = 0; at < total; at += payload) {
    const size_t n = std::min(payload, total - at);
    Bytes f(frame.begin(), frame.begin() + kData);
    f.insert(f.end(), frame.begin() + kData + at, frame.begin() + kData + at + n);
    const uint16_t length = static_cast<uint16_t>(20 + n);
    const uint16_t field = static_cast<uint16_t>((flags & 0x4000) | (at + n < total ? 0x2000 : 0) |
                                                 (((flags & 0x1fff) * 8 + at) / 8));
    f[kIp + 2] = static_cast<uint8_t>(length >> 8), f[kIp + 3] = static_cast<uint8_t>(length);
    f[kIp + 6] = static_cast<uint8_t>(field >> 8), f[kIp + 7] = static_cast<uint8_t>(field);
    f[kIp + 10] = f[kIp + 11] = 0;
    const uint16_t c = internet_checksum(&f[kIp], 20);
    f[kIp + 10] = static_cast<uint8_t>(c >> 8), f[kIp + 11] = static_cast<uint8_t>(c);
    out.push_back(std::move(f));
  }
  return out;
}

Bytes udp_frame(const UdpSpec& s, uint16_t payload_size, uint8_t fill) {
  return udp_frame(s, Bytes(payload_size, fill));
}

Bytes udp6_frame(const Udp6Spec& s, const Bytes& payload) {
  Bytes f;
  put_mac(f, s.dst_mac);
  put_mac(f, s.src_mac);
  put16(f, 0x86dd);
  put32(f, 6u << 28 | uint32_t{s.traffic_class} << 20 | (s.flow_label & 0xfffff));
  put16(f, static_cast<uint16_t>(8 + payload.size()));
  f.push_back(17);
  f.push_back(s.hop_limit);
  f.insert(f.end(), s.src_ip.bytes.begin(), s.src_ip.bytes.end());
  f.insert(f.end(), s.dst_ip.bytes.begin(), s.dst_ip.bytes.end());
  put16(f, s.src_port);
  put16(f, s.dst_port);
  put16(f, static_cast<uint16_t>(8 + payload.size()));
  put16(f, 0);
  f.insert(f.end(), payload.begin(), payload.end());
  if (s.checksum) seal_udp6(f);
  return f;
}

Bytes udp6_frame(const Udp6Spec& s, uint16_t payload_size, uint8_t fill) {
  return udp6_frame(s, Bytes(payload_size, fill));
}

uint16_t udp6_checksum(const Bytes& frame) {
  constexpr size_t kIp = 14, kUdp = 54;
  const size_t udp_len = static_cast<size_t>(frame[kUdp + 4] << 8 | frame[kUdp + 5]);
  // Pseudo header (RFC 8200 8.1): addresses, 32-bit length, next header 17.
  uint32_t sum = 17 + static_cast<uint32_t>(udp_len);
  for (size_t i = kIp + 8; i < kIp + 40; i += 2)
    sum += static_cast<uint32_t>(frame[i] << 8 | frame[i + 1]);
  Bytes udp(frame.begin() + kUdp, frame.begin() + static_cast<long>(kUdp + udp_len));
  udp[6] = udp[7] = 0;
  const uint16_t c = internet_checksum(udp.data(), udp.size(), sum);
  return c == 0 ? 0xffff : c;
}

void seal_udp6(Bytes& frame) {
  const uint16_t c = udp6_checksum(frame);
  frame[54 + 6] = static_cast<uint8_t>(c >> 8);
  frame[54 + 7] = static_cast<uint8_t>(c);
}

Bytes vxlan_header(uint32_t vni, uint32_t flags_word, uint8_t reserved) {
  Bytes b;
  put32(b, flags_word);
  put32(b, vni << 8 | reserved);
  return b;
}

Bytes concat(const Bytes& a, const Bytes& b) {
  Bytes out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

Bytes arp_frame(uint16_t op, const MacAddr& eth_dst, const MacAddr& sender_mac, Ipv4Addr sender_ip,
                const MacAddr& target_mac, Ipv4Addr target_ip) {
  Bytes f;
  put_mac(f, eth_dst);
  put_mac(f, sender_mac);
  put16(f, 0x0806);
  put16(f, 1);       // Ethernet
  put16(f, 0x0800);  // IPv4
  f.push_back(6);
  f.push_back(4);
  put16(f, op);
  put_mac(f, sender_mac);
  put32(f, sender_ip.value);
  put_mac(f, target_mac);
  put32(f, target_ip.value);
  return f;
}

Bytes l3_of(const Bytes& frame) {
  return Bytes(frame.begin() + 14, frame.end());
}

std::string hex(const Bytes& b) {
  std::string out;
  char buf[4];
  for (size_t i = 0; i < b.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%02x", b[i]);
    out += buf;
    out += (i % 16 == 15) ? "\n" : " ";
  }
  return out;
}

rte_mbuf* to_mbuf(rte_mempool* pool, const Bytes& bytes) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) throw std::runtime_error("mempool exhausted");
  char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(bytes.size()));
  if (p == nullptr) throw std::runtime_error("frame larger than an mbuf");
  std::memcpy(p, bytes.data(), bytes.size());
  return m;
}

Bytes from_mbuf(const rte_mbuf* m) {
  Bytes out(rte_pktmbuf_pkt_len(m));
  const void* p = rte_pktmbuf_read(m, 0, out.size(), out.data());
  if (p != out.data()) std::memcpy(out.data(), p, out.size());
  return out;
}

void free_all(const std::vector<rte_mbuf*>& pkts) {
  for (rte_mbuf* m : pkts) rte_pktmbuf_free(m);
}

}  // namespace tartan::testing
