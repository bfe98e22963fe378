#include "engine/path/worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_prefetch.h>

#include "engine/path/vnet_tap.h"

namespace tartan {

Worker::Worker(unsigned index, unsigned lcore, const DatapathContext& ctx,
               std::vector<RxQueueRef> rx_queues, uint16_t tx_queue, uint16_t burst,
               rte_ring* to_control, rte_ring* inject, PeerCounters* peers,
               std::unique_ptr<Reassembly> reassembly)
    : index_(index),
      lcore_(lcore),
      ctx_(ctx),
      rx_queues_(std::move(rx_queues)),
      burst_(burst),
      to_control_(to_control),
      inject_(inject),
      stages_{FamilyStages{select_egress<Ipv4Family>(ctx), select_decap<Ipv4Family>(ctx),
                           select_wireguard_seal<Ipv4Family>(ctx)},
              FamilyStages{select_egress<Ipv6Family>(ctx), select_decap<Ipv6Family>(ctx),
                           select_wireguard_seal<Ipv6Family>(ctx)}},
      tunnel_template_(ctx),
      tunnel_template6_(ctx),
      peers_(peers),
      reassembly_(std::move(reassembly)),
      // Workers start their IP id sequences far apart.
      ip_id_(static_cast<uint16_t>(index * 0x4000 + (rte_rdtsc() & 0x3fff))),
      tx_(tx_queue, burst, counters_) {
  for (const RxQueueRef& q : rx_queues_) {
    if (q.queue == 0 && ctx_.ports[q.port_id].vnet_tap != nullptr)
      taps_.push_back(ctx_.ports[q.port_id].vnet_tap);
  }
  gso_.direct_pool = ctx_.pool;
  gso_.indirect_pool = ctx_.indirect_pool;
  gso_.gso_types = RTE_ETH_TX_OFFLOAD_TCP_TSO;
  // Segments get fresh IP ids as the kernel gives them (RTE_GSO_FLAG_IPID_FIXED unset).
  gso_.flag = 0;
  gro_.gro_types = RTE_GRO_TCP_IPV4;
  // Lightweight mode: merges within one call, at most 128 packets' worth.
  gro_.max_flow_num = 4;
  gro_.max_item_per_flow = gro_batch_.size() / gro_.max_flow_num;
  // A segment waits at most 20 us for the rest of its GSO packet.
  gro_hold_cycles_ = rte_get_tsc_hz() / 50000;
}

void Worker::set_slow_path(rte_ring* to_slow, std::vector<rte_ring*> from_fast) {
  to_slow_ = to_slow;
  from_fast_ = std::move(from_fast);
}

void Worker::set_probe_source(rte_ring* probes, uint16_t port) {
  probes_ = probes;
  probe_port_ = port;
}

unsigned Worker::poll_once() {
  const uint64_t start = rte_rdtsc();
  std::array<rte_mbuf*, kMaxBurst> pkts;
  unsigned received = 0;
  capture_ = ctx_.capture->load(std::memory_order_acquire);
  trace_ = ctx_.trace->load(std::memory_order_acquire);
  tx_.set_observers(capture_, trace_, index_);

  // Packets the control thread sends through us: ARP requests and packets
  // released by an ARP resolution. They are complete frames.
  const unsigned injected =
      rte_ring_sc_dequeue_burst(inject_, reinterpret_cast<void**>(pkts.data()), burst_, nullptr);
  if (injected) {
    counters_.events.injected.add(injected);
    for (unsigned i = 0; i < injected; ++i) tx_.push(ctx_.underlay_port, pkts[i]);
  }
  // Tunnel probes: inner frames, routed and encapsulated as pod traffic is.
  if (probes_ != nullptr) {
    const unsigned n =
        rte_ring_sc_dequeue_burst(probes_, reinterpret_cast<void**>(pkts.data()), burst_, nullptr);
    if (n) egress(probe_port_, pkts.data(), static_cast<uint16_t>(n));
  }
  // Underlay frames other workers received (and counted) for the slow path.
  for (rte_ring* r : from_fast_) {
    const unsigned n =
        rte_ring_sc_dequeue_burst(r, reinterpret_cast<void**>(pkts.data()), burst_, nullptr);
    if (n) ingress(pkts.data(), static_cast<uint16_t>(n));
  }

  for (VnetTap* tap : taps_) tap->receive(burst_);
  for (const RxQueueRef& rxq : rx_queues_) {
    const uint16_t n = rte_eth_rx_burst(rxq.port_id, rxq.queue, pkts.data(), burst_);
    if (n == 0) continue;
    received += n;
    const bool observed = capture_ != nullptr || trace_ != nullptr;
    if (observed) [[unlikely]] {
      if (capture_ != nullptr) capture_->offer(index_, rxq.port_id, kCaptureRx, pkts.data(), n);
      if (trace_ != nullptr) trace_->start(index_, rxq.port_id, rxq.queue, pkts.data(), n);
    }
    PortCounters& pc = counters_.ports[rxq.port_id];
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < n; ++i) bytes += rte_pktmbuf_pkt_len(pkts[i]);
    pc.rx_packets.add(n);
    pc.rx_bytes.add(bytes);
    switch (ctx_.ports[rxq.port_id].role) {
      case PortRole::kOverlay:
        egress(rxq.port_id, pkts.data(), n);
        break;
      case PortRole::kUnderlay:
        ingress(pkts.data(), n);
        break;
      case PortRole::kException:
        // The host's own traffic on the dedicated NIC leaves unchanged.
        for (uint16_t i = 0; i < n; ++i) tx_.push(ctx_.underlay_port, pkts[i]);
        break;
    }
    if (observed) [[unlikely]] {
      // A traced packet's verdict (sent, or refused by a full TX queue)
      // comes with its transmission: while a trace runs, each burst is
      // sent before the next is received.
      if (trace_ != nullptr) {
        tx_.flush_all();
        trace_->end_burst(index_);
      }
    }
  }
  if (reassembly_->holding()) reassembly_->expire(rte_rdtsc(), counters_);
  if (gro_due(received)) flush_gro();
  tx_.flush_all();
  for (VnetTap* tap : taps_) tap->transmit();
  counters_.loops.add(1);
  if (received) {
    counters_.busy_loops.add(1);
    counters_.processed.add(received);
    counters_.busy_cycles.add(rte_rdtsc() - start);
  }
  return received;
}

void Worker::run(const std::atomic<bool>& stop) {
  rte_rcu_qsbr_thread_register(ctx_.rcu, index_);
  rte_rcu_qsbr_thread_online(ctx_.rcu, index_);
  unsigned idle = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    idle = poll_once() ? 0 : idle + 1;
    rte_rcu_qsbr_quiescent(ctx_.rcu, index_);
    // Only when idle: a busy worker never leaves the loop.
    if (ctx_.idle_sleep_us != 0 && idle >= 64) rte_delay_us_sleep(ctx_.idle_sleep_us);
  }
  // A capture or trace detached since the last pass may be freed already
  // (its grace period ended with our last quiescent report): the last
  // sends below offer to neither.
  capture_ = nullptr;
  trace_ = nullptr;
  tx_.set_observers(nullptr, nullptr, index_);
  // Segments still waiting for GRO leave before the worker does.
  flush_gro();
  tx_.flush_all();
  rte_rcu_qsbr_thread_offline(ctx_.rcu, index_);
  rte_rcu_qsbr_thread_unregister(ctx_.rcu, index_);
}

void Worker::to_exception(rte_mbuf* m, DropReason otherwise) {
  if (ctx_.exception_port == kNoPort) return drop(m, otherwise);
  counters_.events.to_exception.add(1);
  tx_.push(ctx_.exception_port, m);
}

void Worker::to_control(rte_mbuf* m, uint32_t tag) {
  m->hash.usr = tag;
  if (rte_ring_sp_enqueue(to_control_, m) != 0) {
    return drop(m, tag == kToControlWireguard ? DropReason::kWgHandshakeQueueFull
                                              : DropReason::kArpQueueFull);
  }
  // Only its address is used: the control thread owns it now.
  const TraceToControl why = tag == kToControlArp         ? TraceToControl::kArp
                             : tag == kToControlNd        ? TraceToControl::kNd
                             : tag == kToControlProbe     ? TraceToControl::kProbeReply
                             : tag == kToControlWireguard ? TraceToControl::kWireguardHandshake
                                                          : TraceToControl::kArpWait;
  trace_end(m, {TraceStep::kToControl, uint8_t(why), 0, tag});
  if (tag == kToControlArp || tag == kToControlNd) {
    counters_.events.to_control.add(1);
  } else if (tag == kToControlProbe) {
    counters_.events.probe_replies.add(1);
  } else if (tag == kToControlWireguard) {
    counters_.events.wg_handshakes.add(1);
  } else {
    counters_.events.arp_wait.add(1);
  }
}

bool Worker::icmp_allowed() {
  const uint64_t now = rte_rdtsc();
  if (now - icmp_window_start_ >= rte_get_tsc_hz()) {
    icmp_window_start_ = now;
    icmp_in_window_ = 0;
  }
  return icmp_in_window_++ < ctx_.icmp_rate_per_s;
}

}  // namespace tartan
