#include "engine/neighbours/nd.h"

#include <rte_ether.h>
#include <rte_ip.h>

#include <cstring>

namespace tartan {
namespace {

// NS and NA share this shape (RFC 4861 4.3, 4.4): the advertisement's
// flags sit in the first byte of what is reserved in a solicitation.
struct NdMessage {
  uint8_t type;
  uint8_t code;
  rte_be16_t checksum;
  uint8_t flags;
  uint8_t reserved[3];
  uint8_t target[16];
} __attribute__((__packed__));

struct NdLinkOption {
  uint8_t type;  // kOptSourceLinkAddr or kOptTargetLinkAddr
  uint8_t len;   // in units of 8 bytes: 1 for Ethernet
  uint8_t mac[6];
} __attribute__((__packed__));

static_assert(sizeof(NdMessage) == 24 && sizeof(NdLinkOption) == 8);

constexpr uint8_t kIcmp6Proto = 58;
constexpr uint8_t kNdHopLimit = 255;
constexpr uint8_t kOptSourceLinkAddr = 1;
constexpr uint8_t kOptTargetLinkAddr = 2;
constexpr uint8_t kFlagRouter = 0x80;
constexpr uint8_t kFlagSolicited = 0x40;
constexpr uint8_t kFlagOverride = 0x20;
constexpr uint16_t kL3 = sizeof(rte_ether_hdr);
constexpr uint16_t kL4 = kL3 + sizeof(rte_ipv6_hdr);
// Every message we write: one NS or NA with one link-layer address option.
constexpr uint16_t kNdLen = sizeof(NdMessage) + sizeof(NdLinkOption);  // 32
constexpr uint16_t kNdFrameLen = kL4 + kNdLen;                         // 86

const Ipv6Addr kAllNodes = *Ipv6Addr::parse("ff02::1");

Ipv6Addr to_ip6(const uint8_t* p) {
  Ipv6Addr a;
  std::memcpy(a.bytes.data(), p, 16);
  return a;
}

MacAddr to_mac(const uint8_t* p) {
  MacAddr m;
  std::memcpy(m.bytes.data(), p, 6);
  return m;
}

bool is_solicited_node(const Ipv6Addr& a) {
  const Ipv6Addr prefix = solicited_node(Ipv6Addr{});
  return std::memcmp(a.bytes.data(), prefix.bytes.data(), 13) == 0;
}

// Writes the IPv6 and ND headers and the one option of a message from
// `src` to `dst` (the Ethernet header is the caller's) and its checksum.
void write_message(uint8_t* frame, const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t type,
                   uint8_t flags, const Ipv6Addr& target, uint8_t option, const MacAddr& mac) {
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(frame + kL3);
  ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
  ip->payload_len = rte_cpu_to_be_16(kNdLen);
  ip->proto = kIcmp6Proto;
  ip->hop_limits = kNdHopLimit;
  std::memcpy(ip->src_addr, src.bytes.data(), 16);
  std::memcpy(ip->dst_addr, dst.bytes.data(), 16);
  auto* nd = reinterpret_cast<NdMessage*>(frame + kL4);
  std::memset(nd, 0, kNdLen);
  nd->type = type;
  nd->flags = flags;
  std::memcpy(nd->target, target.bytes.data(), 16);
  auto* opt = reinterpret_cast<NdLinkOption*>(nd + 1);
  opt->type = option;
  opt->len = 1;
  std::memcpy(opt->mac, mac.bytes.data(), 6);
  nd->checksum = rte_ipv6_udptcp_cksum(ip, nd);
}

void write_ethernet(uint8_t* frame, const MacAddr& dst, const MacAddr& src) {
  auto* eth = reinterpret_cast<rte_ether_hdr*>(frame);
  std::memcpy(eth->dst_addr.addr_bytes, dst.bytes.data(), 6);
  std::memcpy(eth->src_addr.addr_bytes, src.bytes.data(), 6);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
}

}  // namespace

Ipv6Addr solicited_node(const Ipv6Addr& a) {
  Ipv6Addr s;
  s.bytes[0] = 0xff;
  s.bytes[1] = 0x02;
  s.bytes[11] = 0x01;
  s.bytes[12] = 0xff;
  std::memcpy(&s.bytes[13], &a.bytes[13], 3);
  return s;
}

MacAddr ipv6_multicast_mac(const Ipv6Addr& a) {
  MacAddr m;
  m.bytes[0] = m.bytes[1] = 0x33;
  std::memcpy(&m.bytes[2], &a.bytes[12], 4);
  return m;
}

std::variant<NdInfo, DropReason> parse_nd(const rte_mbuf* m) {
  // The message must lie in the first segment: ND frames are small.
  const uint32_t len = rte_pktmbuf_data_len(m);
  if (len < kL4 + 1) return DropReason::kNdMalformed;
  const auto* frame = rte_pktmbuf_mtod(m, const uint8_t*);
  const auto* eth = reinterpret_cast<const rte_ether_hdr*>(frame);
  const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(frame + kL3);
  if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6) || ip->proto != kIcmp6Proto)
    return DropReason::kNdNotForUs;
  const uint8_t type = frame[kL4];
  if (type != kIcmp6NeighbourSolicit && type != kIcmp6NeighbourAdvert)
    return DropReason::kNdNotForUs;
  // 7.1.1 / 7.1.2, in their order.
  const uint16_t icmp_len = rte_be_to_cpu_16(ip->payload_len);
  if ((rte_be_to_cpu_32(ip->vtc_flow) >> 28) != 6 || icmp_len < sizeof(NdMessage) ||
      kL4 + uint32_t{icmp_len} > len)
    return DropReason::kNdMalformed;
  if (ip->hop_limits != kNdHopLimit) return DropReason::kNdBadHopLimit;
  const auto* nd = reinterpret_cast<const NdMessage*>(frame + kL4);
  if (rte_ipv6_udptcp_cksum_verify(ip, nd) != 0) return DropReason::kNdBadChecksum;
  if (nd->code != 0) return DropReason::kNdMalformed;

  NdInfo info;
  info.type = type;
  info.src = to_ip6(ip->src_addr);
  info.dst = to_ip6(ip->dst_addr);
  info.target = to_ip6(nd->target);
  // No node sends from a multicast address (RFC 4291 2.7); answering one
  // would send a solicited advertisement to a group.
  if (is_ipv6_multicast(info.target) || is_ipv6_multicast(info.src))
    return DropReason::kNdMalformed;
  const uint8_t wanted = type == kIcmp6NeighbourSolicit ? kOptSourceLinkAddr : kOptTargetLinkAddr;
  bool has_source_link_addr = false;
  for (uint32_t at = sizeof(NdMessage); at < icmp_len;) {
    if (icmp_len - at < 2) return DropReason::kNdBadOption;
    const uint8_t* opt = frame + kL4 + at;
    const uint32_t opt_len = uint32_t{opt[1]} * 8;
    if (opt_len == 0 || at + opt_len > icmp_len) return DropReason::kNdBadOption;
    has_source_link_addr |= opt[0] == kOptSourceLinkAddr;
    // A link-layer address option for Ethernet is 8 bytes (RFC 2464 6);
    // other options, and other lengths, are skipped (7.1.1: "ignored").
    if (opt[0] == wanted && opt_len == sizeof(NdLinkOption))
      info.link_addr = to_mac(reinterpret_cast<const NdLinkOption*>(opt)->mac);
    at += opt_len;
  }
  if (type == kIcmp6NeighbourSolicit) {
    if (info.src.is_zero()) {
      if (has_source_link_addr) return DropReason::kNdBadOption;
      if (!is_solicited_node(info.dst)) return DropReason::kNdMalformed;
    }
  } else {
    info.router = (nd->flags & kFlagRouter) != 0;
    info.solicited = (nd->flags & kFlagSolicited) != 0;
    info.override_flag = (nd->flags & kFlagOverride) != 0;
    if (info.solicited && is_ipv6_multicast(info.dst)) return DropReason::kNdMalformed;
  }
  return info;
}

bool make_nd_advert_reply(rte_mbuf* m, const NdInfo& ns, const MacAddr& our_mac) {
  if (!rte_pktmbuf_is_contiguous(m)) return false;
  const uint32_t len = rte_pktmbuf_data_len(m);
  if (len < kNdFrameLen &&
      rte_pktmbuf_append(m, static_cast<uint16_t>(kNdFrameLen - len)) == nullptr)
    return false;
  if (len > kNdFrameLen) rte_pktmbuf_trim(m, static_cast<uint16_t>(len - kNdFrameLen));
  auto* frame = rte_pktmbuf_mtod(m, uint8_t*);
  const bool dad = ns.src.is_zero();
  MacAddr to;
  if (dad) {
    to = ipv6_multicast_mac(kAllNodes);
  } else if (ns.link_addr) {
    to = *ns.link_addr;
  } else {
    to = to_mac(reinterpret_cast<const rte_ether_hdr*>(frame)->src_addr.addr_bytes);
  }
  write_ethernet(frame, to, our_mac);
  write_message(frame, ns.target, dad ? kAllNodes : ns.src, kIcmp6NeighbourAdvert,
                dad ? kFlagOverride : kFlagSolicited | kFlagOverride, ns.target, kOptTargetLinkAddr,
                our_mac);
  return true;
}

bool build_nd_solicit(rte_mbuf* m, const MacAddr& src_mac, const Ipv6Addr& src_ip,
                      const Ipv6Addr& target, const std::optional<MacAddr>& unicast_mac) {
  auto* frame = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kNdFrameLen));
  if (frame == nullptr) return false;
  const Ipv6Addr dst = unicast_mac ? target : solicited_node(target);
  write_ethernet(frame, unicast_mac ? *unicast_mac : ipv6_multicast_mac(dst), src_mac);
  write_message(frame, src_ip, dst, kIcmp6NeighbourSolicit, 0, target, kOptSourceLinkAddr, src_mac);
  return true;
}

bool build_nd_announce(rte_mbuf* m, const MacAddr& mac, const Ipv6Addr& ip) {
  auto* frame = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kNdFrameLen));
  if (frame == nullptr) return false;
  write_ethernet(frame, ipv6_multicast_mac(kAllNodes), mac);
  write_message(frame, ip, kAllNodes, kIcmp6NeighbourAdvert, kFlagOverride, ip, kOptTargetLinkAddr,
                mac);
  return true;
}

}  // namespace tartan
