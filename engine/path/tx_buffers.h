// Per-worker TX staging: packets are collected per destination port during a
// burst and sent with one rte_eth_tx_burst per port; what the device does not
// take is freed and counted, never retried (the loop must not stall).
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <array>
#include <cstdint>

#include "engine/observe/capture.h"
#include "engine/observe/stats.h"
#include "engine/observe/trace.h"

namespace tartan {

inline constexpr uint16_t kMaxBurst = 64;

class TxBuffers {
 public:
  TxBuffers(uint16_t queue, uint16_t burst, WorkerCounters& counters)
      : queue_(queue), burst_(burst), counters_(counters) {}

  void push(uint16_t port, rte_mbuf* m) {
    Buffer& b = buffers_[port];
    if (b.count == 0) pending_[num_pending_++] = port;
    b.pkts[b.count++] = m;
    if (b.count == burst_) flush(port);
  }

  void flush_all() {
    for (uint16_t i = 0; i < num_pending_; ++i) flush(pending_[i]);
    num_pending_ = 0;
  }

  uint16_t queue() const { return queue_; }
  // The capture this loop offers sent and unsent packets to, and the trace
  // it tells where a packet went, as `lane`.
  void set_observers(CaptureSession* capture, TraceSession* trace, unsigned lane) {
    capture_ = capture;
    trace_ = trace;
    capture_lane_ = lane;
  }

 private:
  struct Buffer {
    std::array<rte_mbuf*, kMaxBurst> pkts;
    uint16_t count = 0;
  };

  void flush(uint16_t port) {
    Buffer& b = buffers_[port];
    if (b.count == 0) return;
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < b.count; ++i) bytes += rte_pktmbuf_pkt_len(b.pkts[i]);
    // Offered before the device owns (and may free) them.
    if (capture_ != nullptr) [[unlikely]]
      capture_->offer(capture_lane_, port, kCaptureTx, b.pkts.data(), b.count);
    const uint16_t sent = rte_eth_tx_burst(port, queue_, b.pkts.data(), b.count);
    // Only the addresses are compared: what the device took is not touched.
    if (trace_ != nullptr) [[unlikely]] {
      for (uint16_t i = 0; i < sent; ++i)
        trace_->finish(capture_lane_, b.pkts[i], {TraceStep::kTx, 0, port, queue_});
      for (uint16_t i = sent; i < b.count; ++i)
        trace_->finish(capture_lane_, b.pkts[i],
                       {TraceStep::kDrop, static_cast<uint8_t>(DropReason::kTxQueueFull)});
    }
    for (uint16_t i = sent; i < b.count; ++i) bytes -= rte_pktmbuf_pkt_len(b.pkts[i]);
    PortCounters& pc = counters_.ports[port];
    pc.tx_packets.add(sent);
    pc.tx_bytes.add(bytes);
    if (sent < b.count) {
      counters_.drop(DropReason::kTxQueueFull, b.count - sent);
      if (capture_ != nullptr) [[unlikely]]
        capture_->offer(capture_lane_, port, kCaptureDrop, &b.pkts[sent], b.count - sent,
                        DropReason::kTxQueueFull);
      rte_pktmbuf_free_bulk(&b.pkts[sent], b.count - sent);
    }
    b.count = 0;
  }

  uint16_t queue_;
  uint16_t burst_;
  WorkerCounters& counters_;
  std::array<Buffer, RTE_MAX_ETHPORTS> buffers_{};
  std::array<uint16_t, RTE_MAX_ETHPORTS> pending_{};
  uint16_t num_pending_ = 0;
  CaptureSession* capture_ = nullptr;
  TraceSession* trace_ = nullptr;
  unsigned capture_lane_ = 0;
};

}  // namespace tartan
