#include "perf/generator.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include <algorithm>

namespace tartan::perf {

Generator::Generator(const FrameFactory& frames, rte_mempool* pool, uint16_t port, uint16_t burst,
                     uint32_t flows)
    : frames_(frames), pool_(pool), port_(port), burst_(burst), flows_(flows), next_seq_(flows) {}

void Generator::start(double rate_pps, uint64_t max_packets, uint64_t now) {
  stop();
  std::fill(next_seq_.begin(), next_seq_.end(), 0);
  flow_ = 0;
  slot_ = 0;
  sent_ = 0;
  max_packets_ = max_packets;
  packets_per_cycle_ = rate_pps / static_cast<double>(rte_get_tsc_hz());
  start_tsc_ = now;
  packets_.set(0);
  bytes_.set(0);
  refused_.set(0);
  alloc_failures_.set(0);
  running_ = true;
}

void Generator::stop() {
  running_ = false;
  if (held_ > 0) rte_pktmbuf_free_bulk(pkts_.data(), held_);
  held_ = 0;
}

void Generator::poll(uint64_t now) {
  if (!running_) return;
  // Frames allowed now, the held ones (built, refused last time) included.
  uint64_t n = burst_;
  if (packets_per_cycle_ > 0) {
    const auto allowed =
        static_cast<uint64_t>(static_cast<double>(now - start_tsc_) * packets_per_cycle_);
    if (allowed <= sent_) return;
    n = std::min(n, allowed - sent_);
  }
  if (max_packets_ != 0) n = std::min(n, max_packets_ - sent_);
  if (n <= held_) n = held_;
  const auto count = static_cast<uint16_t>(n);
  if (count == 0) return;
  if (count > held_ && rte_pktmbuf_alloc_bulk(pool_, &pkts_[held_], count - held_) != 0) {
    alloc_failures_.add(1);
    return;
  }
  const unsigned slots = frames_.slots();
  for (uint16_t i = held_; i < count; ++i) {
    rte_mbuf* m = pkts_[i];
    const uint16_t len = frames_.frame_len(slot_);
    m->data_len = len;
    m->pkt_len = len;
    const uint64_t seq = frames_.carries_seq(slot_) ? next_seq_[flow_]++ : 0;
    frames_.build(rte_pktmbuf_mtod(m, uint8_t*), flow_, slot_, seq, pending_[i]);
    slot_of_[i] = slot_;
    flow_ = flow_ + 1 == flows_ ? 0 : flow_ + 1;
    slot_ = slot_ + 1 == slots ? 0 : slot_ + 1;
  }
  // Held frames are stamped again: their latency starts when they can leave.
  const uint64_t tsc = rte_get_tsc_cycles();
  for (uint16_t i = 0; i < count; ++i) FrameFactory::stamp(pending_[i], tsc);
  const uint16_t sent = rte_eth_tx_burst(port_, 0, pkts_.data(), count);
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < sent; ++i) bytes += frames_.frame_len(slot_of_[i]);
  // Keep what the port refused, in order, for the next poll: no sequence
  // number is skipped, no frame built twice.
  held_ = static_cast<uint16_t>(count - sent);
  if (held_ > 0) {
    std::copy(&pkts_[sent], &pkts_[count], pkts_.begin());
    std::copy(&pending_[sent], &pending_[count], pending_.begin());
    std::copy(&slot_of_[sent], &slot_of_[count], slot_of_.begin());
    refused_.add(held_);
  }
  sent_ += sent;
  packets_.add(sent);
  bytes_.add(bytes);
}

}  // namespace tartan::perf
