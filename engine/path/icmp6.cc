#include "engine/path/icmp6.h"

#include <rte_ether.h>
#include <rte_ip.h>
#include <sanitizer/asan_interface.h>

#include <algorithm>
#include <cstring>

#include "engine/backends/headers.h"

namespace tartan {
namespace {

constexpr uint16_t kIcmp6HeaderLen = 8;
constexpr uint8_t kIcmp6Proto = 58;
constexpr uint8_t kIcmp6Redirect = 137;
constexpr uint8_t kIcmp6InfoMask = 0x80;  // types 128..255 are informational
constexpr uint8_t kHopLimit = 64;
// Extension headers followed before giving up on a chain: more than any
// sender needs (RFC 8200 4.1 orders at most seven kinds).
constexpr int kMaxExtensionHeaders = 8;

bool is_multicast(const uint8_t* ip6) {
  return ip6[0] == 0xff;
}

bool is_unspecified(const uint8_t* ip6) {
  return std::all_of(ip6, ip6 + 16, [](uint8_t b) { return b == 0; });
}

// Whether the packet whose upper-layer chain starts with `next` at `at` is
// an ICMPv6 error or redirect, or a chain we cannot follow.
bool about_an_error(const rte_mbuf* m, uint8_t next, uint32_t at) {
  for (int i = 0; i < kMaxExtensionHeaders; ++i) {
    uint8_t buf[8];
    switch (next) {
      case IPPROTO_HOPOPTS:
      case IPPROTO_ROUTING:
      case IPPROTO_DSTOPTS:
      case IPPROTO_AH: {
        const auto* h = static_cast<const uint8_t*>(rte_pktmbuf_read(m, at, 2, buf));
        if (h == nullptr) return true;
        // AH counts 4-byte words less two (RFC 4302 2.2); the others 8-byte
        // units less one (RFC 8200 4.3).
        at += next == IPPROTO_AH ? (h[1] + 2u) * 4 : (h[1] + 1u) * 8;
        next = h[0];
        break;
      }
      case IPPROTO_FRAGMENT: {
        const auto* h = static_cast<const uint8_t*>(rte_pktmbuf_read(m, at, 8, buf));
        if (h == nullptr) return true;
        // A later fragment carries no upper-layer header to look at.
        if (((h[2] << 8 | h[3]) & 0xfff8) != 0) return false;
        next = h[0];
        at += 8;
        break;
      }
      case kIcmp6Proto: {
        const auto* t = static_cast<const uint8_t*>(rte_pktmbuf_read(m, at, 1, buf));
        return t == nullptr || (*t & kIcmp6InfoMask) == 0 || *t == kIcmp6Redirect;
      }
      default:
        return false;
    }
  }
  return true;
}

}  // namespace

bool icmp6_error_allowed(const rte_mbuf* m, uint16_t l3_offset, uint8_t type) {
  rte_ipv6_hdr copy;
  const auto* ip =
      static_cast<const rte_ipv6_hdr*>(rte_pktmbuf_read(m, l3_offset, kIpv6HeaderLen, &copy));
  if (ip == nullptr) return false;
  if (is_unspecified(ip->src_addr) || is_multicast(ip->src_addr)) return false;
  if (type != kIcmp6PacketTooBig) {
    const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    if (is_multicast(ip->dst_addr) || rte_is_multicast_ether_addr(&eth->dst_addr)) return false;
  }
  return !about_an_error(m, ip->proto, l3_offset + kIpv6HeaderLen);
}

void make_icmp6_error(rte_mbuf* m, uint16_t l3_offset, uint8_t type, uint8_t code,
                      uint32_t mtu_or_pointer, const Ipv6Addr& src) {
  constexpr uint16_t kHeaders = kEthLen + kIpv6HeaderLen + kIcmp6HeaderLen;       // 62
  constexpr uint16_t kMaxQuote = kIpv6MinMtu - kIpv6HeaderLen - kIcmp6HeaderLen;  // 1232
  // Everything kept is copied out first: the mbuf is then rewritten from
  // the start of its buffer, whatever its layout (chained, adjusted).
  rte_ether_hdr eth = *rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  rte_ipv6_hdr offender;
  std::memcpy(&offender, rte_pktmbuf_read(m, l3_offset, kIpv6HeaderLen, &offender), kIpv6HeaderLen);
  // The offending packet as its header says it is: no Ethernet padding.
  const uint32_t in_frame = rte_pktmbuf_pkt_len(m) - l3_offset;
  const uint32_t packet = kIpv6HeaderLen + uint32_t{rte_be_to_cpu_16(offender.payload_len)};
  const uint16_t room = static_cast<uint16_t>(std::min<uint32_t>(m->buf_len - kHeaders, kMaxQuote));
  const auto quoted = static_cast<uint16_t>(std::min({in_frame, packet, uint32_t{room}}));
  uint8_t quote[kMaxQuote];
  const void* q = rte_pktmbuf_read(m, l3_offset, quoted, quote);
  if (q != quote) std::memcpy(quote, q, quoted);

  if (m->next != nullptr) {
    rte_pktmbuf_free(m->next);
    m->next = nullptr;
    m->nb_segs = 1;
  }
  const uint16_t total = kHeaders + quoted;
  m->data_off = static_cast<uint16_t>(std::min<uint32_t>(RTE_PKTMBUF_HEADROOM, m->buf_len - total));
  m->data_len = total;
  m->pkt_len = total;
  auto* frame = rte_pktmbuf_mtod(m, uint8_t*);
  // The fuzz targets poison what lies outside the frames they feed in; the
  // error may reach into it, and it is the frame's now (a no-op without
  // AddressSanitizer).
  ASAN_UNPOISON_MEMORY_REGION(frame, total);

  auto* out_eth = reinterpret_cast<rte_ether_hdr*>(frame);
  out_eth->dst_addr = eth.src_addr;
  out_eth->src_addr = eth.dst_addr;
  out_eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);

  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(out_eth + 1);
  ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
  ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(kIcmp6HeaderLen + quoted));
  ip->proto = kIcmp6Proto;
  ip->hop_limits = kHopLimit;
  std::memcpy(ip->src_addr, src.bytes.data(), 16);
  std::memcpy(ip->dst_addr, offender.src_addr, 16);

  auto* icmp = reinterpret_cast<uint8_t*>(ip + 1);
  icmp[0] = type;
  icmp[1] = code;
  icmp[2] = icmp[3] = 0;
  const uint32_t word = rte_cpu_to_be_32(mtu_or_pointer);
  std::memcpy(icmp + 4, &word, 4);
  std::memcpy(icmp + kIcmp6HeaderLen, quote, quoted);
  const uint16_t sum = rte_ipv6_udptcp_cksum(ip, icmp);
  std::memcpy(icmp + 2, &sum, 2);
  m->ol_flags = 0;
}

}  // namespace tartan
