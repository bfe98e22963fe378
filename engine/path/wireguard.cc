// The wireguard backend on the workers: transport data messages
// (whitepaper 5.4.6) sealed and opened in place in the mbuf, a burst at a
// time, under the keypairs WireguardSessions publishes. Egress seals the
// inner packet behind the next hop's Ethernet/IPv4/UDP or Ethernet/IPv6/UDP
// (one template over the underlay's family, whatever the inner packet's:
// flannel's one-device modes carry both families over one); ingress opens
// what came to our ListenPort (ListenPortV6 over IPv6 in Mode separate), hands
// handshake messages to the control thread, and delivers what
// authenticated, IPv4 or IPv6, from the peer's own podCIDRs of that family,
// as the udp backend's decapsulated packets are.
#include <rte_cycles.h>

#include <array>

#include "engine/backends/wireguard_sessions.h"
#include "engine/path/family.h"
#include "engine/path/ipv4_check.h"
#include "engine/path/worker.h"
#include "engine/wireguard/messages.h"
#include "engine/wireguard/transport.h"

namespace tartan {
namespace {

using wireguard::kTagLen;
using wireguard::kTransportHeaderLen;
using wireguard::kTransportMinLen;
using wireguard::MessageType;

// A worker's burst is sealed or opened in one call.
static_assert(kMaxBurst <= wireguard::ChaChaPoly::kMaxBurst);

// Family F's outer headers and the transport header in front of the
// ciphertext.
template <class F>
inline constexpr uint16_t kWireguardHeaders = F::kUdpTunnelHeaders + kTransportHeaderLen;

// A raised flag is written once: every sender to the peer reads it.
inline void raise(WireguardPeer& peer, uint8_t want) {
  if ((peer.wants.load(std::memory_order_relaxed) & want) == 0)
    peer.wants.fetch_or(want, std::memory_order_relaxed);
}

// A peer's time stamp, written at most once a grain by each worker: the
// line every sender to the peer reads stays shared, not bounced per packet.
inline void stamp(std::atomic<uint64_t>& at, uint64_t now, uint64_t grain) {
  if (now - at.load(std::memory_order_relaxed) >= grain) at.store(now, std::memory_order_relaxed);
}

// Where an authenticated message came from, for the control side to
// follow (endpoint roaming).
inline void note_endpoint(WireguardPeer& peer, const rte_ipv4_hdr* outer, uint16_t port_be) {
  const uint64_t endpoint = wireguard_endpoint(outer->src_addr, port_be);
  if (peer.endpoint.load(std::memory_order_relaxed) != endpoint)
    peer.endpoint.store(endpoint, std::memory_order_relaxed);
}
inline void note_endpoint(WireguardPeer& peer, const rte_ipv6_hdr* outer, uint16_t port_be) {
  note_endpoint6(peer, outer->src_addr, port_be);
}

}  // namespace

template <class F>
bool Worker::wireguard_prepare(rte_mbuf* m, const NextHop& nh, typename F::Header* ip, uint64_t now,
                               WireguardSeal& seal) {
  WireguardPeer& peer = ctx_.wireguard->peer(nh.id);
  WireguardKeypair* kp = peer.current.load(std::memory_order_acquire);
  if (kp == nullptr || now - kp->birth_tsc >= ctx_.wireguard->reject_after_cycles()) [[unlikely]] {
    raise(peer, kWireguardWantsHandshake);
    return dropped(m, DropReason::kWgNoSession);
  }
  // The transport plaintext is the IP packet (check_ipv4 or check_ipv6
  // trimmed the frame to it), padded as the kernel pads: to 16, not past
  // the MTU.
  if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0) [[unlikely]]
    return dropped(m, DropReason::kWgNoRoom);
  const size_t len = rte_pktmbuf_pkt_len(m) - kEthLen;
  const size_t padded = wireguard::padded_length(len, F::overlay_mtu(ctx_));
  const uint16_t headers = nh.ipv6 ? kWireguardHeaders<Ipv6Family> : kWireguardHeaders<Ipv4Family>;
  if (rte_pktmbuf_tailroom(m) < padded - len + kTagLen ||
      rte_pktmbuf_headroom(m) < headers - kEthLen) [[unlikely]]
    return dropped(m, DropReason::kWgNoRoom);
  const uint64_t counter = kp->send_counter.fetch_add(1, std::memory_order_relaxed);
  if (counter >= wireguard::kRejectAfterMessages) [[unlikely]] {
    raise(peer, kWireguardWantsHandshake);
    return dropped(m, DropReason::kWgNoSession);
  }
  if (counter >= wireguard::kRekeyAfterMessages ||
      (kp->initiator && now - kp->birth_tsc >= ctx_.wireguard->rekey_after_cycles())) [[unlikely]]
    raise(peer, kWireguardWantsRekey);
  auto* payload = reinterpret_cast<uint8_t*>(ip);
  rte_pktmbuf_append(m, static_cast<uint16_t>(padded - len + kTagLen));
  std::memset(payload + len, 0, padded - len);
  stamp(peer.last_tx_tsc, now, ctx_.wireguard->arrival_grain_cycles());
  seal = {m, &nh, kp, outer_ecn(F::traffic_class(ip))};
  seal.job = {&kp->send_key, counter, payload, static_cast<uint32_t>(padded)};
  return true;
}
template bool Worker::wireguard_prepare<Ipv4Family>(rte_mbuf*, const NextHop&, rte_ipv4_hdr*,
                                                    uint64_t, WireguardSeal&);
template bool Worker::wireguard_prepare<Ipv6Family>(rte_mbuf*, const NextHop&, rte_ipv6_hdr*,
                                                    uint64_t, WireguardSeal&);

template <class F, OuterChecksums C>
void Worker::wireguard_seal(const WireguardSeal* pending, unsigned n) {
  std::array<wireguard::AeadJob, kMaxBurst> jobs;
  for (unsigned j = 0; j < n; ++j) jobs[j] = pending[j].job;
  const uint64_t sealed = wg_aead_->seal_burst({jobs.data(), n});
  for (unsigned j = 0; j < n; ++j) {
    const WireguardSeal& s = pending[j];
    rte_mbuf* m = s.m;
    if ((sealed >> j & 1) == 0) [[unlikely]] {
      drop(m, DropReason::kWgCryptoFailed);
      continue;
    }
    auto* h = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kWireguardHeaders<F> - kEthLen));
    rte_memcpy(h, s.nh->header, F::kUdpTunnelHeaders);
    uint8_t* transport = h + F::kUdpTunnelHeaders;
    wireguard::store_le32(transport, static_cast<uint32_t>(MessageType::kTransport));
    wireguard::store_le32(transport + 4, s.keypair->remote_index);
    wireguard::store_le64(transport + 8, s.job.counter);
    // The payload is ciphertext: no inner sum to spare the UDP checksum a
    // pass; the source port is the template's.
    F::template finish_outer<C>(m, *s.nh, h, s.tos, 0, std::nullopt, ip_id_);
    to_underlay(m, *s.nh, h);
  }
}

void Worker::wireguard_seal_either_family(WireguardSeal* pending, unsigned n, uint64_t over_ipv6) {
  const WireguardSealStage over4 = stages_[Ipv4Family::kIndex].seal;
  const WireguardSealStage over6 = stages_[Ipv6Family::kIndex].seal;
  const uint64_t all = n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
  if (over_ipv6 == 0) return (this->*over4)(pending, n);
  if (over_ipv6 == all) return (this->*over6)(pending, n);
  // Both families in one burst: the IPv6 underlay's move aside, each
  // family keeping its packets' order.
  std::array<WireguardSeal, kMaxBurst> ipv6;
  unsigned v4 = 0, v6 = 0;
  for (unsigned j = 0; j < n; ++j) {
    if (over_ipv6 >> j & 1) {
      ipv6[v6++] = pending[j];
    } else {
      pending[v4++] = pending[j];
    }
  }
  (this->*over4)(pending, v4);
  (this->*over6)(ipv6.data(), v6);
}

#define TARTAN_WG_SEAL(F, ip, udp)                                               \
  template void Worker::wireguard_seal<F, OuterChecksums{ip, UdpChecksum::udp}>( \
      const WireguardSeal*, unsigned);
TARTAN_WG_SEAL(Ipv4Family, false, kZero)
TARTAN_WG_SEAL(Ipv4Family, false, kOffload)
TARTAN_WG_SEAL(Ipv4Family, false, kSoftware)
TARTAN_WG_SEAL(Ipv4Family, true, kZero)
TARTAN_WG_SEAL(Ipv4Family, true, kOffload)
TARTAN_WG_SEAL(Ipv4Family, true, kSoftware)
// Over IPv6 the UDP checksum is never zero (select_egress<Ipv6Family>).
TARTAN_WG_SEAL(Ipv6Family, false, kOffload)
TARTAN_WG_SEAL(Ipv6Family, false, kSoftware)
#undef TARTAN_WG_SEAL

// Two passes over the burst with the opening between them: the first
// checks what it can without the key and gathers the messages, the AEAD
// opens them all at once (its lanes work on several together), the second
// takes what authenticated.
template <class F, bool RxVerdict>
void Worker::wireguard_stage(const TunnelPacket* tunnel, void* const* /*senders*/,
                             uint64_t /*known*/, unsigned k) {
  std::array<wireguard::AeadJob, kMaxBurst> jobs;
  std::array<const TunnelPacket*, kMaxBurst> opening;
  std::array<WireguardKeypair*, kMaxBurst> keypairs;
  unsigned o = 0;
  const uint64_t now = rte_rdtsc();
  for (unsigned j = 0; j < k; ++j) {
    const TunnelPacket& t = tunnel[j];
    rte_mbuf* m = t.m;
    const uint16_t message_len = t.udp_len - kUdpLen;
    if (message_len < 4) {
      drop(m, DropReason::kWgTruncated);
      continue;
    }
    // Reassembled fragments come as a chain: opened in place, contiguous.
    if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0) {
      drop(m, DropReason::kWgNoRoom);
      continue;
    }
    if constexpr (!F::kZeroUdpChecksumOk) {
      if (rte_pktmbuf_mtod_offset(m, const rte_udp_hdr*, t.l4)->dgram_cksum == 0) {
        drop(m, DropReason::kUdp6ZeroChecksum);
        continue;
      }
    }
    const uint64_t verdict = RxVerdict ? rx_outer_udp_verdict(m) : RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN;
    if (!tunnel_checksums_ok<typename F::Header>(m, t.l4, t.udp_len, 0, verdict)) {
      drop(m, DropReason::kBadUdpChecksum);
      continue;
    }
    uint8_t* message = rte_pktmbuf_mtod_offset(m, uint8_t*, t.l4 + kUdpLen);
    const uint32_t type = wireguard::load_le32(message);
    if (type == static_cast<uint32_t>(MessageType::kInitiation) ||
        type == static_cast<uint32_t>(MessageType::kResponse) ||
        type == static_cast<uint32_t>(MessageType::kCookieReply)) {
      to_control(m, kToControlWireguard);
      continue;
    }
    if (type != static_cast<uint32_t>(MessageType::kTransport)) {
      drop(m, DropReason::kWgBadType);
      continue;
    }
    if (message_len < kTransportMinLen) {
      drop(m, DropReason::kWgTruncated);
      continue;
    }
    WireguardKeypair* kp = ctx_.wireguard->by_index(wireguard::load_le32(message + 4));
    // The other device's index is not this one's.
    if (kp == nullptr || (kp->families >> F::kIndex & 1) == 0) {
      drop(m, DropReason::kWgUnknownIndex);
      continue;
    }
    if (now - kp->birth_tsc >= ctx_.wireguard->reject_after_cycles()) {
      // The peer still sends on the session we would send on: a new one is
      // due (it may never start one, waiting for our traffic).
      WireguardPeer& peer = ctx_.wireguard->peer(kp->peer);
      if (peer.current.load(std::memory_order_relaxed) == kp) raise(peer, kWireguardWantsHandshake);
      drop(m, DropReason::kWgKeyExpired);
      continue;
    }
    jobs[o] = {&kp->receive_key, wireguard::load_le64(message + 8), message + kTransportHeaderLen,
               static_cast<uint32_t>(message_len - kTransportHeaderLen)};
    opening[o] = &t;
    keypairs[o++] = kp;
  }
  const uint64_t opened = wg_aead_->open_burst({jobs.data(), o});
  // What opened, by its own family (either device may carry either).
  std::array<rte_mbuf*, kMaxBurst> inner4, inner6;
  std::array<uint32_t, kMaxBurst> peer4, peer6;
  unsigned d4 = 0, d6 = 0;
  for (unsigned j = 0; j < o; ++j) {
    const TunnelPacket& t = *opening[j];
    rte_mbuf* m = t.m;
    WireguardKeypair& kp = *keypairs[j];
    if ((opened >> j & 1) == 0) {
      drop(m, DropReason::kWgBadMac);
      continue;
    }
    // After authentication: a forged counter must not move the window.
    if (!kp.replay.accept(jobs[j].counter)) {
      drop(m, DropReason::kWgReplayed);
      continue;
    }
    wireguard_arrival<F>(m, t, kp, jobs[j].len == kTagLen, now);
    // The plaintext stays, with room for an Ethernet header in front.
    rte_pktmbuf_adj(m, static_cast<uint16_t>(t.l4 + kUdpLen + kTransportHeaderLen - kEthLen));
    rte_pktmbuf_trim(
        m, static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - kEthLen - (jobs[j].len - kTagLen)));
    if (rte_pktmbuf_pkt_len(m) == kEthLen) {
      counters_.events.wg_keepalives.add(1);
      trace_end(m, {TraceStep::kDecap, uint8_t(TraceDecap::kWireguardKeepalive)});
      rte_pktmbuf_free(m);
      continue;
    }
    trace(m, {TraceStep::kDecap, uint8_t(TraceDecap::kWireguard)});
    switch (*rte_pktmbuf_mtod_offset(m, const uint8_t*, kEthLen) >> 4) {
      case 4:
        if (wireguard_inner_ok<Ipv4Family>(m, kp)) {
          inner4[d4] = m;
          peer4[d4++] = kp.peer;
        }
        break;
      case 6:
        if (wireguard_inner_ok<Ipv6Family>(m, kp)) {
          inner6[d6] = m;
          peer6[d6++] = kp.peer;
        }
        break;
      default:
        drop(m, DropReason::kWgInnerNotIp);
    }
  }
  deliver_decapped<Ipv4Family>(inner4.data(), peer4.data(), d4);
  deliver_decapped<Ipv6Family>(inner6.data(), peer6.data(), d6);
}
#define TARTAN_WG_STAGE(F, rx_verdict)                                                    \
  template void Worker::wireguard_stage<F, rx_verdict>(const TunnelPacket*, void* const*, \
                                                       uint64_t, unsigned);
TARTAN_WG_STAGE(Ipv4Family, false)
TARTAN_WG_STAGE(Ipv4Family, true)
TARTAN_WG_STAGE(Ipv6Family, false)
TARTAN_WG_STAGE(Ipv6Family, true)
#undef TARTAN_WG_STAGE

template <class F>
void Worker::wireguard_arrival(rte_mbuf* m, const TunnelPacket& t, WireguardKeypair& kp,
                               bool keepalive, uint64_t now) {
  if (!kp.received.load(std::memory_order_relaxed))
    kp.received.store(true, std::memory_order_release);
  WireguardPeer& peer = ctx_.wireguard->peer(kp.peer);
  const uint64_t grain = ctx_.wireguard->arrival_grain_cycles();
  stamp(peer.last_rx_tsc, now, grain);
  if (!keepalive) stamp(peer.last_data_rx_tsc, now, grain);
  // Whitepaper 6.2: the initiator, receiving on a current keypair near its
  // end, rekeys (a peer that only receives would otherwise not).
  const WireguardKeypair* current = peer.current.load(std::memory_order_relaxed);
  if (current != nullptr && current->initiator &&
      now - current->birth_tsc >= ctx_.wireguard->rekey_on_receive_cycles()) [[unlikely]]
    raise(peer, kWireguardWantsRekey);
  note_endpoint(peer, rte_pktmbuf_mtod_offset(m, const typename F::Header*, kEthLen),
                rte_pktmbuf_mtod_offset(m, const rte_udp_hdr*, t.l4)->src_port);
}

template <class F>
bool Worker::wireguard_inner_ok(rte_mbuf* m, const WireguardKeypair& kp) {
  // Also trims the padding after the packet.
  if (auto bad = F::check_inner(m)) return dropped(m, *bad);
  // The peer's allowed IPs are the podCIDRs routed to it (cryptokey
  // routing, whitepaper 2), in the packet's family.
  const NextHop* from = ctx_.tables.next_hop(
      F::source_route(ctx_.tables, rte_pktmbuf_mtod_offset(m, const typename F::Header*, kEthLen)));
  if (from == nullptr || from->id != kp.peer) return dropped(m, DropReason::kWgNotAllowedIp);
  return true;
}

}  // namespace tartan
