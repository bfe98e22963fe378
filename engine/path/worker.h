// A poll-mode worker: one loop over its (port, queue) list, rx_burst ->
// classify -> egress (overlay to underlay) or ingress (underlay to overlay)
// -> staged tx_burst. No locks, no allocation and no system calls of its
// own (a tap's I/O is its system calls, as inside net_tap's bursts); the
// tables are read under RCU, reporting quiescence once per loop.
#pragma once

#include <rte_gro.h>
#include <rte_gso.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "engine/backends/tunnel_checksum.h"
#include "engine/backends/wireguard_sessions.h"
#include "engine/observe/capture.h"
#include "engine/observe/stats.h"
#include "engine/observe/trace.h"
#include "engine/path/datapath_context.h"
#include "engine/path/family.h"
#include "engine/path/reassembly.h"
#include "engine/path/tunnel_template.h"
#include "engine/path/tx_buffers.h"
#include "engine/wireguard/chacha_poly.h"

namespace tartan {

struct RxQueueRef {
  uint16_t port_id;
  uint16_t queue;
};

// Tags in mbuf->hash.usr of what a worker hands to the control thread: an
// ARP frame, a tunnel probe's reply (probe.h), an underlay neighbour
// discovery frame (NeighbourTable::on_nd); any other value is the
// adjacency a held packet waits for.
inline constexpr uint32_t kToControlArp = UINT32_MAX;
inline constexpr uint32_t kToControlProbe = UINT32_MAX - 1;
// An underlay ICMPv6 neighbour solicitation or advertisement (types 135,
// 136, right after the IPv6 header), for the neighbour table (nd.h).
inline constexpr uint32_t kToControlNd = UINT32_MAX - 2;
// A WireGuard handshake message (initiation, response, cookie reply) as it
// arrived, outer headers and all, for the handshake on the control side.
inline constexpr uint32_t kToControlWireguard = UINT32_MAX - 3;

class Worker {
 public:
  // `to_control` (this worker -> control thread) and `inject` (control
  // thread -> this worker's underlay TX queue) are single-producer,
  // single-consumer rings owned by the engine. `peers` has one entry per
  // next-hop slot.
  Worker(unsigned index, unsigned lcore, const DatapathContext& ctx,
         std::vector<RxQueueRef> rx_queues, uint16_t tx_queue, uint16_t burst, rte_ring* to_control,
         rte_ring* inject, PeerCounters* peers, std::unique_ptr<Reassembly> reassembly);

  // With several workers, worker 0 is the slow-path worker: the others hand
  // it the underlay frames that need ARP or the host (`to_slow`, SP/SC,
  // owned by the engine), which it drains from `from_fast`.
  void set_slow_path(rte_ring* to_slow, std::vector<rte_ring*> from_fast);
  // Tunnel probes the control thread makes (probe.h), SP/SC, owned by the
  // engine: inner frames that take the egress path as if they had come
  // from overlay port `port`. Given to one worker.
  void set_probe_source(rte_ring* probes, uint16_t port);
  // The wireguard backend: this worker's cipher (one per thread).
  void set_wireguard_cipher(wireguard::ChaChaPoly aead) { wg_aead_.emplace(std::move(aead)); }

  // One pass: the control thread's injected packets, frames handed over by
  // the other workers (slow-path worker), then every RX queue. Returns
  // packets received.
  unsigned poll_once();

  // Polls until `stop` becomes true, as RCU reader `index`.
  void run(const std::atomic<bool>& stop);

  unsigned index() const { return index_; }
  unsigned lcore() const { return lcore_; }
  const WorkerCounters& counters() const { return counters_; }
  const PeerCounters* peers() const { return peers_; }

 private:
  // Classifies an overlay burst into its IPv4 and IPv6 vectors, each of
  // which then takes the stages of its family.
  void egress(uint16_t in_port, rte_mbuf** pkts, uint16_t n);
  // Packets of family F, headers checked: one bulk route lookup, then the
  // family's rewrite stage.
  template <class F>
  void egress_routed(uint16_t in_port, rte_mbuf** routed, typename F::RouteKey* dst, unsigned k);

 public:
  // The rewrite stage of routed egress packets of family F, over the
  // burst's vector of packets and their next hops (null: no route): TTL or
  // hop limit where tartan is the hop, the family's overlay MTU, then
  // encapsulation. One instance per family and launch-time choice.
  template <class F, bool RouteHere, OuterChecksums C, EgressTunnel T>
  void egress_rewrite(uint16_t in_port, rte_mbuf** pkts, const NextHop* const* nhs, unsigned k);
  using EgressRewrite = void (Worker::*)(uint16_t, rte_mbuf**, const NextHop* const*, unsigned);

 private:
  // The instances this worker runs for family F, indexed by whether
  // tartan routes the input port.
  template <class F>
  static std::array<EgressRewrite, 2> select_egress(const DatapathContext& ctx);
  // Puts the next hop's headers in front of a packet bound for another
  // node and hands it to TX (or to the control thread until its neighbour
  // resolves). False, having done nothing, when there is no headroom.
  template <class F, OuterChecksums C>
  bool encapsulate(rte_mbuf* m, const NextHop& nh, typename F::Header* ip);
  // The frame at `h` (`m`'s start), its next hop's headers in front: the
  // neighbour's MAC, counted for the peer, to TX (or held for the
  // neighbour).
  void to_underlay(rte_mbuf* m, const NextHop& nh, uint8_t* h);
  // The wireguard backend's encapsulation (path/wireguard.cc), over an
  // egress burst of family F: each inner packet readied under its peer's
  // current keypair (padded, room for the tag, a counter taken), or
  // dropped, named, and false; then all sealed at once, each behind its
  // next hop's Ethernet/IP/UDP (of the packet's own family, or in the
  // one-device modes of either) and transport header.
  struct WireguardSeal {
    rte_mbuf* m;
    const NextHop* nh;
    const WireguardKeypair* keypair;
    uint8_t tos;
    wireguard::AeadJob job;
  };
  // `now`: the burst's TSC, read once (keypair ages are checked against it).
  template <class F>
  bool wireguard_prepare(rte_mbuf* m, const NextHop& nh, typename F::Header* ip, uint64_t now,
                         WireguardSeal& seal);
  // Seals `pending`, each behind its next hop's headers of underlay
  // family F (whatever the inner packet's family).
  template <class F, OuterChecksums C>
  void wireguard_seal(const WireguardSeal* pending, unsigned n);
  using WireguardSealStage = void (Worker::*)(const WireguardSeal*, unsigned);
  // The instance for family F's outer checksums on this port; null unless
  // a route may leave behind the other family's underlay.
  template <class F>
  static WireguardSealStage select_wireguard_seal(const DatapathContext& ctx);
  // The one-device modes' sealing: `pending` through each underlay family's
  // stage; bit j of `over_ipv6`: pending[j]'s next hop is IPv6.
  void wireguard_seal_either_family(WireguardSeal* pending, unsigned n, uint64_t over_ipv6);
  // A GSO packet from a vnet tap: cut into MTU-sized TCP segments with
  // their checksums, which then take the ordinary egress path.
  void egress_gso(uint16_t in_port, rte_mbuf* m);
  // Decapsulated packets for a vnet tap wait here for GRO: TCP segments
  // whose checksum verifies are merged into one GSO packet per flow. The
  // batch is sent when full, when anything that cannot merge comes, when
  // a poll brings nothing more, or after gro_hold_cycles_ (bounded
  // latency, as NAPI flushes its GRO lists at the end of a poll).
  void stage_for_gro(uint16_t port, rte_mbuf* m);
  void flush_gro();
  bool gro_due(unsigned received) const;
  // Classifies an underlay burst: tunnel packets of either family go to
  // decap_tunnel_packets, the rest is answered, handed on or dropped.
  void ingress(rte_mbuf** pkts, uint16_t n);
  void ingress_offloaded(rte_mbuf* m);
  // A tunnel packet whose outer headers are checked up to UDP, with where
  // they end, kept from the first pass over the burst for the second.
  struct TunnelPacket {
    rte_mbuf* m;
    uint16_t l4;       // offset of the outer UDP header
    uint16_t udp_len;  // its length field
  };
  // The tunnel packets of family F (`keys`: their outer sources): one bulk
  // sender lookup, then the family's decapsulation stage.
  template <class F>
  void decap_tunnel_packets(const TunnelPacket* tunnel, const void** keys, unsigned k);
  // The decapsulation stage over the burst's tunnel packets, with the
  // sender lookup's results (`known` bit j: tunnel[j]'s sender is known).
  // One instance per family, backend and source of the outer UDP
  // checksum's verdict (the underlay port's RX offload, or software),
  // chosen at launch.
  template <class F, BackendType B, bool RxVerdict>
  void decap_stage(const TunnelPacket* tunnel, void* const* senders, uint64_t known, unsigned k);
  using DecapStage = void (Worker::*)(const TunnelPacket*, void* const*, uint64_t, unsigned);
  template <class F>
  static DecapStage select_decap(const DatapathContext& ctx);
  // The wireguard backend's decapsulation stage over the underlay family
  // F's messages (a DecapStage; senders are not consulted: keypairs
  // authenticate).
  template <class F, bool RxVerdict>
  void wireguard_stage(const TunnelPacket* tunnel, void* const* senders, uint64_t known,
                       unsigned k);
  // An authenticated transport message's plaintext of family F, `m`
  // trimmed to it behind room for an Ethernet header: true when its header
  // checks and its source is in the peer's podCIDRs of F; otherwise
  // dropped.
  template <class F>
  bool wireguard_inner_ok(rte_mbuf* m, const WireguardKeypair& kp);
  // Records an authenticated arrival over the underlay family F (an empty
  // one: a keepalive) for the control side.
  template <class F>
  void wireguard_arrival(rte_mbuf* m, const TunnelPacket& t, WireguardKeypair& kp, bool keepalive,
                         uint64_t now);
  // Strips a tunnel packet's outer headers and checks the inner header;
  // false when it was dropped instead.
  template <class F, BackendType B, bool RxVerdict>
  bool decapsulate(const TunnelPacket& t);
  template <class F>
  void deliver_decapped(rte_mbuf** pkts, const uint32_t* sender, unsigned n);
  // An IPv6 frame of an underlay burst (IPv6 on only): its UDP length when
  // it is a flannel-v6 tunnel packet for us (the template's match, or
  // underlay_ipv6's); otherwise it has been handed on or dropped.
  std::optional<uint16_t> tunnel6_packet(rte_mbuf* m);
  // Field by field, for a frame the IPv6 tunnel template did not match:
  // neighbour discovery to the control thread, the rest as IPv4's.
  std::optional<uint16_t> underlay_ipv6(rte_mbuf* m);
  // Delivers a packet for a local podCIDR that came from another node,
  // unless it is the reply to one of our tunnel probes (to the control side).
  template <class F>
  void deliver_from_peer(rte_mbuf* m, const NextHop& nh);
  bool handed_to_slow_path(rte_mbuf* m);
  bool known_sender(uint32_t src_be) const;
  void underlay_exception(rte_mbuf* m, DropReason otherwise);
  void egress_arp(uint16_t in_port, rte_mbuf* m);
  void underlay_arp(rte_mbuf* m);
  // To an overlay port of ours; `decrement_hops` where tartan is the hop
  // of a packet from another node (whose expiry it answers through the
  // tunnel).
  template <class F>
  void deliver_local(rte_mbuf* m, const NextHop& nh, bool decrement_hops);
  // An ICMP or ICMPv6 error about a packet from an overlay port, back out
  // of `in_port`, under one rate limit and counter; or, where none may be
  // sent (RFC 1122 3.2.2, RFC 4443 2.4(e)), a drop as `otherwise`. Out of
  // line: errors are rare, the rewrite loop is not.
  template <class F>
  [[gnu::cold, gnu::noinline]] void send_icmp_error(rte_mbuf* m, uint16_t in_port, uint8_t type,
                                                    uint8_t code, uint32_t mtu,
                                                    DropReason otherwise);
  // The same about a packet from another node for a pod tartan routes:
  // the error goes back through the tunnel to the source's node.
  template <class F>
  [[gnu::cold, gnu::noinline]] void send_icmp_error_to_peer(rte_mbuf* m, uint8_t type, uint8_t code,
                                                            DropReason otherwise);
  // Rewrites `m` into an error from `src` (none: there is no address to
  // send it from), counted and traced; false, having dropped it as
  // `otherwise` (or as rate limited), where none may be sent.
  template <class F>
  bool icmp_error_made(rte_mbuf* m, const std::optional<typename F::Address>& src, uint8_t type,
                       uint8_t code, uint32_t mtu, DropReason otherwise);
  void to_exception(rte_mbuf* m, DropReason otherwise);
  void to_control(rte_mbuf* m, uint32_t tag);
  void drop(rte_mbuf* m, DropReason reason) {
    counters_.drop(reason);
    if (capture_ != nullptr) [[unlikely]]
      capture_->offer(index_, m->port, kCaptureDrop, &m, 1, reason);
    trace_end(m, {TraceStep::kDrop, static_cast<uint8_t>(reason)});
    rte_pktmbuf_free(m);
  }
  bool dropped(rte_mbuf* m, DropReason reason) {
    drop(m, reason);
    return false;
  }
  bool icmp_allowed();
  // Trace hooks (observe/trace.h): with no trace attached, each is a test
  // of a null member; the event's arguments are values already at hand.
  void trace(const rte_mbuf* m, const TraceEvent& e) {
    if (trace_ != nullptr) [[unlikely]]
      trace_->note(index_, m, e);
  }
  void trace_end(const rte_mbuf* m, const TraceEvent& e) {
    if (trace_ != nullptr) [[unlikely]]
      trace_->finish(index_, m, e);
  }
  // The route a lookup found (null: none): kRoute with the IPv4
  // destination (network order), or kRoute6 with where the IPv6 one is in
  // the frame as received (16 bytes do not fit an event; the record's head
  // holds them).
  void trace_route(const rte_mbuf* m, const NextHop* nh, uint32_t dst,
                   TraceStep step = TraceStep::kRoute) {
    if (trace_ != nullptr) [[unlikely]] {
      trace_->note(index_, m,
                   {step, nh != nullptr, uint16_t(nh != nullptr ? nh->kind : NextHopKind::kLocal),
                    dst, nh != nullptr ? nh->id : 0});
    }
  }
  // The neighbour and rewrite decisions of an egress packet, read back from
  // the headers just written (called only while tracing).
  void trace_rewrite(const rte_mbuf* m, const NextHop& nh, bool resolved, const uint8_t* dst_mac);

  unsigned index_;
  unsigned lcore_;
  const DatapathContext& ctx_;
  std::vector<RxQueueRef> rx_queues_;
  uint16_t burst_;
  rte_ring* to_control_;
  rte_ring* inject_;
  rte_ring* to_slow_ = nullptr;
  std::vector<rte_ring*> from_fast_;
  // Each family's stages (indexed by its kIndex), chosen at launch.
  struct FamilyStages {
    std::array<EgressRewrite, 2> rewrite;
    DecapStage decap;
    WireguardSealStage seal;  // over this family's underlay (cross-family routes only)
  };
  std::array<FamilyStages, 2> stages_;
  TunnelTemplate tunnel_template_;
  TunnelTemplate6 tunnel_template6_;
  std::optional<wireguard::ChaChaPoly> wg_aead_;  // wireguard backend only
  rte_ring* probes_ = nullptr;
  uint16_t probe_port_ = kNoPort;
  PeerCounters* peers_;
  std::unique_ptr<Reassembly> reassembly_;
  uint16_t ip_id_;
  uint64_t icmp_window_start_ = 0;
  uint32_t icmp_in_window_ = 0;
  WorkerCounters counters_;
  TxBuffers tx_;
  CaptureSession* capture_ = nullptr;  // this loop's (DatapathContext::capture)
  TraceSession* trace_ = nullptr;      // this loop's (DatapathContext::trace)
  std::vector<VnetTap*> taps_;  // vnet taps whose frames this worker moves (their RX queue 0)
  rte_gso_ctx gso_{};
  rte_gro_param gro_{};
  // Up to two bursts, so a GSO packet's worth of segments (the kernel
  // hands them over together, in more than one burst) merges into one.
  std::array<rte_mbuf*, 2 * kMaxBurst> gro_batch_;
  uint16_t gro_count_ = 0;
  uint16_t gro_port_ = kNoPort;
  uint64_t gro_since_ = 0;        // TSC when the batch's first segment came
  uint64_t gro_hold_cycles_ = 0;  // how long a segment may wait in the batch
};

// Each family's stages, chosen at launch (egress.cc, ingress.cc).
template <>
std::array<Worker::EgressRewrite, 2> Worker::select_egress<Ipv4Family>(const DatapathContext& ctx);
template <>
std::array<Worker::EgressRewrite, 2> Worker::select_egress<Ipv6Family>(const DatapathContext& ctx);
template <>
Worker::DecapStage Worker::select_decap<Ipv4Family>(const DatapathContext& ctx);
template <>
Worker::DecapStage Worker::select_decap<Ipv6Family>(const DatapathContext& ctx);

}  // namespace tartan
