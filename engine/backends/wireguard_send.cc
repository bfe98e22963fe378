// What the control thread sends a wireguard peer itself: handshake
// messages and keepalives, framed as the workers frame transport messages
// (the next hop's Ethernet/IPv4/UDP or Ethernet/IPv6/UDP from our listen
// port of its family to the peer's) and
// sent on the underlay the way ARP requests are; and cookie replies, to
// whoever sent the message they answer.
#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <array>
#include <cstring>

#include "engine/backends/headers.h"
#include "engine/engine.h"
#include "engine/tables/next_hop.h"
#include "engine/wireguard/chacha_poly.h"
#include "engine/wireguard/constants.h"
#include "engine/wireguard/messages.h"

namespace tartan {

Status Engine::wireguard_send(const IpAddr& peer, std::span<const uint8_t> message) {
  std::lock_guard lock(mu_);
  auto slot = wireguard_slot(peer);
  if (!slot) return slot.status();
  return wireguard_frame(*slot, message);
}

Status Engine::wireguard_send_keepalive(const IpAddr& peer) {
  std::lock_guard lock(mu_);
  auto slot = wireguard_slot(peer);
  if (!slot) return slot.status();
  // Keypairs are freed by this thread only, under mu_: `kp` stays.
  WireguardKeypair* kp = wireguard_->peer(*slot).current.load(std::memory_order_acquire);
  if (kp == nullptr || rte_rdtsc() - kp->birth_tsc >= wireguard_->reject_after_cycles())
    return Status(ErrorCode::kFailedPrecondition, "peer " + ip_addr_str(peer) + ": no session");
  const uint64_t counter = kp->send_counter.fetch_add(1, std::memory_order_relaxed);
  if (counter >= wireguard::kRejectAfterMessages)
    return Status(ErrorCode::kFailedPrecondition,
                  "peer " + ip_addr_str(peer) + ": keypair used up");
  std::array<uint8_t, wireguard::kTransportMinLen> message{};
  wireguard::store_le32(message.data(), static_cast<uint32_t>(wireguard::MessageType::kTransport));
  wireguard::store_le32(message.data() + 4, kp->remote_index);
  wireguard::store_le64(message.data() + 8, counter);
  if (!wireguard::aead_seal(kp->send_key, counter, {}, {},
                            message.data() + wireguard::kTransportHeaderLen))
    return Status::internal("ChaCha20-Poly1305 failed to seal a keepalive");
  return wireguard_frame(*slot, message);
}

Status Engine::wireguard_reply(const WireguardMessage& to, std::span<const uint8_t> message) {
  std::lock_guard lock(mu_);
  if (!wireguard_)
    return Status(ErrorCode::kFailedPrecondition, "this node's backend is not wireguard");
  if (to.source_mac.is_multicast())
    return Status::invalid("source MAC " + to.source_mac.str() + ": no station sends from it");
  // From our listen port of the family it came in on, to where it came from.
  NextHopParams p;
  p.kind = NextHopKind::kWireguard;
  std::memcpy(p.src_mac.bytes.data(), ctx_.underlay_mac.addr_bytes, 6);
  if (const auto* v4 = std::get_if<Ipv4Addr>(&to.source)) {
    p.local_ip = Ipv4Addr::from_be(ctx_.underlay_ip_be);
    p.public_ip = *v4;
    p.udp_port = rte_be_to_cpu_16(ctx_.tunnel_port_be);
  } else {
    p.ipv6 = true;
    std::memcpy(p.local_ip6.bytes.data(), ctx_.underlay_ip6.data(), 16);
    p.public_ip6 = std::get<Ipv6Addr>(to.source);
    p.udp_port = rte_be_to_cpu_16(ctx_.tunnel_port6_be);
  }
  NextHop nh;
  build_next_hop(p, nh);
  auto* eth = reinterpret_cast<rte_ether_hdr*>(nh.header);
  std::memcpy(eth->dst_addr.addr_bytes, to.source_mac.bytes.data(), 6);
  reinterpret_cast<rte_udp_hdr*>(nh.header + nh.header_len - kUdpLen)->dst_port =
      rte_cpu_to_be_16(to.source_port);
  auto m = wireguard_mbuf(nh, message);
  if (!m) return m.status();
  return wireguard_inject(*m);
}

Status Engine::wireguard_frame(uint32_t slot, std::span<const uint8_t> message) {
  const NextHop* nh = ctx_.tables.next_hop(slot);
  if (nh == nullptr || nh->kind != NextHopKind::kWireguard)
    return Status(ErrorCode::kNotFound, "wireguard peer slot " + std::to_string(slot) + " is gone");
  auto m = wireguard_mbuf(*nh, message);
  if (!m) return m.status();
  if (!adjacency_->lookup(nh->adjacency, rte_pktmbuf_mtod(*m, uint8_t*))) {
    ++wg_frames_made_;
    neighbours_->hold(nh->adjacency, *m, 0);
    wireguard_->sent(slot);
    return {};
  }
  Status s = wireguard_inject(*m);
  if (s.ok()) wireguard_->sent(slot);
  return s;
}

Status Engine::wireguard_inject(rte_mbuf* m) {
  if (!inject(0, m)) {
    rte_pktmbuf_free(m);
    return Status(ErrorCode::kResourceExhausted, "the inject queue is full");
  }
  ++wg_frames_made_;
  return {};
}

Result<rte_mbuf*> Engine::wireguard_mbuf(const NextHop& nh, std::span<const uint8_t> message) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) return Status(ErrorCode::kResourceExhausted, "no free mbuf for wireguard");
  const uint16_t headers = nh.header_len;
  auto* h = reinterpret_cast<uint8_t*>(
      rte_pktmbuf_append(m, static_cast<uint16_t>(headers + message.size())));
  if (h == nullptr) {
    rte_pktmbuf_free(m);
    return Status(ErrorCode::kResourceExhausted, "a wireguard message larger than an mbuf");
  }
  std::memcpy(h, nh.header, headers);
  std::memcpy(h + headers, message.data(), message.size());
  auto* udp = reinterpret_cast<rte_udp_hdr*>(h + headers - kUdpLen);
  udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(kUdpLen + message.size()));
  udp->dgram_cksum = 0;
  if (nh.ipv6) {
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(h + kEthLen);
    ip->payload_len = udp->dgram_len;
    udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip, udp);
  } else {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(h + kEthLen);
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(kIpv4Len + kUdpLen + message.size()));
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
  }
  m->l2_len = kEthLen;
  m->l3_len = headers - kEthLen - kUdpLen;
  return m;
}

}  // namespace tartan
