#include "perf/receiver.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_prefetch.h>

#include <algorithm>

#include "perf/marker.h"

namespace tartan::perf {

Receiver::Receiver(uint16_t port, uint16_t burst, uint32_t flows, uint32_t verify_every,
                   bool late_join, uint64_t max_packets)
    : port_(port),
      burst_(burst),
      verify_every_(verify_every),
      verify_countdown_(verify_every),
      late_join_(late_join),
      max_packets_(max_packets),
      ns_per_cycle_(1e9 / static_cast<double>(rte_get_tsc_hz())),
      cycles_per_interval_(rte_get_tsc_hz()),
      expected_(flows, late_join ? kUnseen : 0) {}

void Receiver::control(Control c, uint64_t now) {
  if (c == Control::kReset) {
    std::fill(expected_.begin(), expected_.end(), late_join_ ? kUnseen : 0);
    interval_.clear();
    total_.clear();
    for (Counter* k : {&packets_, &bytes_, &marked_, &foreign_, &gaps_, &reordered_, &checked_,
                       &bad_, &interval_p99_ns_})
      k->set(0);
    verify_countdown_ = verify_every_;
    // Intervals end a tenth of a second before the main lcore's progress
    // lines, so each line shows the second just ended.
    next_interval_ = now + cycles_per_interval_ - cycles_per_interval_ / 10;
    counting_ = true;
  } else {
    counting_ = false;
    total_.merge(interval_);
    interval_.clear();
  }
}

void Receiver::end_interval() {
  interval_p99_ns_.set(interval_.quantile_ns(0.99));
  total_.merge(interval_);
  interval_.clear();
}

void Receiver::poll(uint64_t now) {
  if (counting_ && now >= next_interval_) {
    end_interval();
    next_interval_ += cycles_per_interval_;
  }
  const uint16_t n = rte_eth_rx_burst(port_, 0, pkts_.data(), burst_);
  if (n == 0) return;
  if (!counting_) {
    rte_pktmbuf_free_bulk(pkts_.data(), n);
    return;
  }
  const uint64_t arrival = rte_get_tsc_cycles();
  uint64_t bytes = 0, marked = 0, gaps = 0, reordered = 0, checked = 0, bad = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (i + 2 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts_[i + 2], void*));
    const rte_mbuf* m = pkts_[i];
    bytes += m->pkt_len;
    MarkerView v;
    if (!locate_marker(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, v) ||
        v.flow >= expected_.size())
      continue;
    ++marked;
    if (v.marker_len > kMarkerSeqOffset) {
      uint64_t& e = expected_[v.flow];
      if (v.seq == e || e == kUnseen) {
        e = v.seq + 1;
      } else if (v.seq > e) {
        gaps += v.seq - e;
        e = v.seq + 1;
      } else {
        ++reordered;
      }
    }
    if (v.marker_len == kMarkerLen) {
      // Lcores' TSCs may differ by a few cycles: a frame "from the future" took no time.
      const uint64_t cycles = arrival > v.tsc ? arrival - v.tsc : 0;
      interval_.record(static_cast<uint64_t>(static_cast<double>(cycles) * ns_per_cycle_));
    }
    if (verify_every_ != 0 && --verify_countdown_ == 0) {
      verify_countdown_ = verify_every_;
      ++checked;
      if (!verify_frame(v)) ++bad;
    }
  }
  rte_pktmbuf_free_bulk(pkts_.data(), n);
  packets_.add(n);
  bytes_.add(bytes);
  marked_.add(marked);
  foreign_.add(n - marked);
  if (gaps) gaps_.add(gaps);
  if (reordered) reordered_.add(reordered);
  if (checked) checked_.add(checked);
  if (bad) bad_.add(bad);
}

}  // namespace tartan::perf
