#include "engine/worker.h"

namespace tartan {

Worker::Worker(unsigned index, unsigned lcore, std::vector<RxQueueRef> rx_queues,
               std::array<uint16_t, RTE_MAX_ETHPORTS> forward_to, uint16_t tx_queue, uint16_t burst)
    : index_(index),
      lcore_(lcore),
      rx_queues_(std::move(rx_queues)),
      forward_to_(forward_to),
      burst_(burst),
      tx_(tx_queue, burst, counters_) {}

unsigned Worker::poll_once() {
  unsigned received = 0;
  std::array<rte_mbuf*, kMaxBurst> pkts;
  for (const RxQueueRef& rxq : rx_queues_) {
    const uint16_t n = rte_eth_rx_burst(rxq.port_id, rxq.queue, pkts.data(), burst_);
    if (n == 0) continue;
    received += n;
    PortCounters& pc = counters_.ports[rxq.port_id];
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < n; ++i) bytes += rte_pktmbuf_pkt_len(pkts[i]);
    pc.rx_packets.add(n);
    pc.rx_bytes.add(bytes);
    const uint16_t out = forward_to_[rxq.port_id];
    if (out == kNoPort) {
      counters_.drop(DropReason::kNoTxPort, n);
      rte_pktmbuf_free_bulk(pkts.data(), n);
      continue;
    }
    for (uint16_t i = 0; i < n; ++i) tx_.push(out, pkts[i]);
  }
  tx_.flush_all();
  counters_.loops.add(1);
  if (received) counters_.busy_loops.add(1);
  return received;
}

void Worker::run(const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) poll_once();
}

}  // namespace tartan
