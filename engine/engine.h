// The data plane as one object: mempool, ports, forwarding tables,
// neighbours and worker lcores, created from EngineConfig after the EAL is
// up, torn down in reverse order.
//
// Threads: workers run on their lcores and touch only what DatapathContext
// gives them; everything else (table changes, ARP, reclamation, views) is
// serialised by one mutex on the control side, from the housekeeping thread
// and from callers such as the gRPC server.
#pragma once

#include <rte_mempool.h>
#include <rte_ring.h>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "engine/backends/wireguard_message.h"
#include "engine/backends/wireguard_sessions.h"
#include "engine/engine_config.h"
#include "engine/flow_offload.h"
#include "engine/neighbours/adjacency.h"
#include "engine/neighbours/neighbours.h"
#include "engine/observe/accounting.h"
#include "engine/observe/stats.h"
#include "engine/path/datapath_context.h"
#include "engine/path/probe.h"
#include "engine/path/worker.h"
#include "engine/port.h"
#include "engine/port_view.h"
#include "engine/status.h"
#include "engine/tables/tables.h"

namespace tartan {

class Engine {
 public:
  // Creates the mempool, opens and configures every port, builds the
  // tables and the workers. Nothing runs yet.
  static Result<std::unique_ptr<Engine>> create(const EngineConfig& config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts the ports, launches each worker on its lcore, starts the
  // housekeeping thread and announces our underlay address.
  Status start();
  // Starts the ports only: the caller drives workers with poll_once() and
  // the control side with housekeeping() (tests, benchmarks).
  Status start_ports();
  // Stops housekeeping, the workers, then the ports; frees what was queued
  // between them. Idempotent.
  void stop();
  // Brings back port `index` after its device lost its kernel side (a tap
  // deleted from outside): the workers pause, the device is probed again
  // (Port::reprobe), the workers resume. Between start() and stop(), from
  // one thread at a time.
  Status reopen_port(size_t index);

  // Table changes, all or nothing (see ForwardingTables::apply).
  Status apply(const TableDelta& delta);
  // Our own podCIDR, delivered to the first overlay port (nullopt: none).
  Status set_local_subnet(std::optional<Ipv4Prefix> subnet);
  // Workers offer what they receive, send and drop to `session` (one lane
  // each; nullptr: to none). Returns once no worker still uses the session
  // before, which the caller may then free.
  void set_capture(CaptureSession* session);
  // Workers trace the packets `session` selects (observe/trace.h; nullptr:
  // none). Returns once no worker still follows the session before.
  void set_trace(TraceSession* session);
  std::optional<Ipv4Prefix> local_subnet() const;
  // Our own IPv6 podCIDR (flannel-v6), delivered to the first overlay port;
  // FAILED_PRECONDITION without an underlay IPv6 address.
  Status set_local_subnet6(std::optional<Ipv6Prefix> subnet);
  std::optional<Ipv6Prefix> local_subnet6() const;

  // Tunnel probes (path/probe.h): an ICMP echo request from our overlay
  // address to `dst` (a remote node's), with sequence number `seq`, takes
  // the egress path pod traffic takes to that node. FAILED_PRECONDITION
  // before a lease is set; RESOURCE_EXHAUSTED when no mbuf or ring slot is
  // free. Replies, matched by this engine's ICMP identifier, are collected
  // by housekeeping() and handed over by take_probe_replies() (at most
  // kMaxProbeReplies wait; beyond, the oldest go). send_probe from one
  // thread at a time (the ring to the worker has a single producer).
  Status send_probe(Ipv4Addr dst, uint16_t seq);
  std::vector<ProbeReply> take_probe_replies();
  static constexpr size_t kMaxProbeReplies = 4096;

  // The wireguard backend's keys, for the handshake on the control side
  // (FAILED_PRECONDITION on other backends). A peer is named by its node's
  // public IP of the device's family (IPv4: flannel-wg's peer, IPv6:
  // flannel-wg-v6's), which must have routes of that family (its podCIDR:
  // its allowed IPs).
  // A receiver index for a handshake of ours, and back when it failed.
  Result<uint32_t> wireguard_reserve_index();
  void wireguard_release_index(uint32_t index);
  // The keypair a handshake with `peer` completed (WireguardSessions::install).
  Status wireguard_install(const IpAddr& peer, const wireguard::Keypair& keypair);
  // Every keypair of `peer` goes (its key changed, or it is gone).
  Status wireguard_clear(const IpAddr& peer);
  // The peer's session, times and transfer (what `wg show` shows of it).
  Result<WireguardPeerView> wireguard_peer(const IpAddr& peer) const;
  // `peer`'s packets go to `ip`:`port` (host order) from now on: it roamed
  // there (ForwardingTables::set_wireguard_endpoint; UNAVAILABLE: again
  // later; INVALID_ARGUMENT: `ip` is not of the peer's family, whose
  // device has no socket of the other). Until its node's public IP
  // changes, which makes a next hop anew.
  Status wireguard_set_endpoint(const IpAddr& peer, const IpAddr& ip, uint16_t port);
  // What the workers want for `peer` (kWireguardWants* bits), cleared.
  Result<uint8_t> wireguard_take_wants(const IpAddr& peer);
  // Handshake messages the workers handed over since the last call, oldest
  // first. At most kMaxWireguardMessages wait (wireguard-go's handshake
  // queue size): beyond, a message is dropped (wg_handshake_queue_full), so
  // a flood costs no memory, and how many were taken is the queue's depth
  // (the handshake side's load signal).
  std::vector<WireguardMessage> take_wireguard_messages();
  static constexpr size_t kMaxWireguardMessages = 1024;
  // A handshake message (initiation, response, cookie reply) to `peer`,
  // behind its next hop's Ethernet/IPv4/UDP, on the underlay as the
  // control thread sends ARP: through worker 0's inject queue, or held
  // while the next hop's neighbour resolves. Implemented in wireguard_send.cc.
  Status wireguard_send(const IpAddr& peer, std::span<const uint8_t> message);
  // A message (a cookie reply) back to where handshake message `to` came
  // from, whoever sent it: from our ListenPort to its address and port,
  // to the Ethernet address its frame came from.
  Status wireguard_reply(const WireguardMessage& to, std::span<const uint8_t> message);
  // A keepalive (an empty transport message) under `peer`'s current
  // keypair; FAILED_PRECONDITION when it has none usable.
  Status wireguard_send_keepalive(const IpAddr& peer);

  // One round of control-side work: ARP handed over by workers, held
  // packets, neighbour timers, reclamation after grace periods, the ports'
  // links.
  void housekeeping();

  std::vector<RouteView> routes() const;
  std::vector<Route6View> routes6() const;
  std::vector<NeighbourView> neighbours() const;
  StatsSnapshot stats() const;
  // Every port, and where the underlay's flow rule classes run.
  std::vector<PortView> port_views() const;
  // The underlay's rte_flow rules, in testpmd syntax (flow_offload.h).
  std::vector<FlowRuleView> flow_rules() const;

  const std::vector<Port>& ports() const { return ports_; }
  const Port& underlay() const { return ports_[underlay_index_]; }
  std::vector<std::unique_ptr<Worker>>& workers() { return workers_; }
  rte_mempool* mempool() const { return pool_; }
  const MacAddr& vtep_mac() const { return vtep_mac_; }
  const MacAddr& vtep_mac_v6() const { return vtep_mac_v6_; }
  const EngineConfig& config() const { return config_; }
  // Where every packet went (accounting.h); exact when no packet is in
  // process. Implemented in accounting.cc.
  Accounting accounting() const;

 private:
  explicit Engine(const EngineConfig& config) : config_(config) {}
  Status build_context();
  uint64_t now_ms() const;
  // The wireguard peer slot of `peer` (needs mu_ held).
  Result<uint32_t> wireguard_slot(const IpAddr& peer) const;
  // `message` framed to the next hop `slot` and sent (needs mu_ held).
  Status wireguard_frame(uint32_t slot, std::span<const uint8_t> message);
  // `message` behind `nh`'s headers (Ethernet/IPv4/UDP or
  // Ethernet/IPv6/UDP), lengths and checksums set; RESOURCE_EXHAUSTED when no mbuf holds it.
  Result<rte_mbuf*> wireguard_mbuf(const NextHop& nh, std::span<const uint8_t> message);
  // `m` to worker 0's inject queue, or freed when it is full (needs mu_ held).
  Status wireguard_inject(rte_mbuf* m);
  void drain_to_control();         // needs mu_ held
  void watch_links(uint64_t now);  // needs mu_ held
  bool inject(unsigned worker, rte_mbuf* m);
  Status launch_workers();
  void stop_workers();
  void housekeeping_loop();

  EngineConfig config_;
  rte_mempool* pool_ = nullptr;
  rte_mempool* indirect_pool_ = nullptr;
  std::vector<Port> ports_;
  size_t underlay_index_ = 0;
  MacAddr vtep_mac_;
  MacAddr vtep_mac_v6_;  // flannel-v6's
  DatapathContext ctx_;
  std::atomic<uint32_t> overlay_address_be_{0};
  // Our IPv6 overlay address (DatapathContext::overlay_address6), in the
  // slot it points to; a change is written into the other one.
  std::array<Ipv6Addr, 2> overlay_address6_slots_{};
  std::atomic<const Ipv6Addr*> overlay_address6_{nullptr};
  std::atomic<CaptureSession*> capture_{nullptr};
  std::atomic<TraceSession*> trace_{nullptr};
  std::unique_ptr<AdjacencyTable> adjacency_;
  std::unique_ptr<NeighbourTable> neighbours_;
  std::unique_ptr<ForwardingTables> tables_;
  std::unique_ptr<FlowOffload> flow_;             // the underlay's rte_flow rules
  std::unique_ptr<WireguardSessions> wireguard_;  // the wireguard backend only
  SenderChanges<Ipv4Addr> sender_changes_;        // by the table change under way
  SenderChanges<Ipv6Addr> sender6_changes_;
  std::vector<rte_ring*> to_control_;
  std::vector<rte_ring*> inject_;
  std::vector<rte_ring*> to_slow_;  // worker w (w >= 1) -> the slow-path worker 0
  rte_ring* probes_ = nullptr;      // control thread -> worker 0: tunnel probes
  std::vector<PeerCounters*> peers_;
  // A next hop's per-peer counters summed over the workers; the sums when
  // its slot was (re)used are its baseline, so a new node starts at zero.
  struct PeerBaseline {
    uint64_t encap_packets, encap_bytes, decap_packets, decap_bytes;
  };
  std::vector<PeerBaseline> peer_baseline_;
  PeerBaseline peer_totals(uint32_t id) const;
  PeerBaseline peer_transfer(uint32_t id) const;  // since the baseline
  std::vector<std::unique_ptr<Worker>> workers_;

  mutable std::mutex mu_;                     // control side: tables, neighbours, baselines
  uint64_t arp_consumed_ = 0;                 // ARP frames learned from and freed (under mu_)
  uint64_t discarded_at_stop_ = 0;            // injected packets no worker sent before stop()
  uint64_t probes_sent_ = 0;                  // tunnel probes made (under mu_)
  uint64_t probe_replies_taken_ = 0;          // their replies parsed and freed (under mu_)
  std::deque<ProbeReply> probe_replies_;      // not yet taken (under mu_)
  uint64_t wg_messages_taken_ = 0;            // handshake frames parsed and freed (under mu_)
  uint64_t wg_queue_full_ = 0;                // handshake frames dropped: queue full (under mu_)
  uint64_t wg_frames_made_ = 0;               // handshake and keepalive frames of ours (under mu_)
  std::deque<WireguardMessage> wg_messages_;  // not yet taken (under mu_)
  // Each port's link as last seen, and how often it went down (under mu_):
  // the PMDs raise no event when a memif peer goes, so it is polled.
  struct LinkState {
    bool up = false;
    uint64_t downs = 0;
  };
  std::vector<LinkState> links_;
  uint64_t next_link_check_ms_ = 0;
  std::atomic<bool> stop_workers_{false};
  std::atomic<bool> stop_housekeeping_{false};
  std::thread housekeeping_thread_;
  bool launched_ = false;
  bool ports_started_ = false;
};

}  // namespace tartan
