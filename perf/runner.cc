#include "perf/runner.h"

#include <rte_cycles.h>
#include <rte_lcore.h>

#include "perf/report.h"

namespace tartan::perf {

Runner::Runner(const TrafficOptions& o, rte_mempool* pool, const FrameFactory* frames,
               const RunnerPorts& ports, volatile std::sig_atomic_t& stop)
    : o_(o), stop_(stop) {
  std::vector<Poller*> remote;
  const bool two_lcores = rte_lcore_count() >= 2;
  if (has_generator(o.mode)) {
    generator_ = std::make_unique<Generator>(*frames, pool, ports.tx, o.burst, o.flows);
    local_.push_back(generator_.get());
  }
  if (has_receiver(o.mode)) {
    receiver_ = std::make_unique<Receiver>(ports.rx, o.burst, o.flows, o.verify_every,
                                           o.mode == Mode::kRxOnly,
                                           o.mode == Mode::kRxOnly ? o.packets : 0);
    (two_lcores && generator_ ? remote : local_).push_back(receiver_.get());
  }
  if (o.mode == Mode::kIo || o.mode == Mode::kMacSwap) {
    const bool macswap = o.mode == Mode::kMacSwap;
    const uint16_t other = ports.count >= 2 ? 1 : 0;
    forwarders_.push_back(std::make_unique<Forwarder>(0, other, o.burst, macswap));
    local_.push_back(forwarders_.back().get());
    if (other != 0) {
      forwarders_.push_back(std::make_unique<Forwarder>(other, 0, o.burst, macswap));
      (two_lcores ? remote : local_).push_back(forwarders_.back().get());
    }
  }
  if (!remote.empty()) {
    worker_ =
        std::make_unique<WorkerLcore>(rte_get_next_lcore(-1, 1, 0), remote, unmap_guard_.qsbr());
    if (!worker_->launched()) {  // run everything here instead
      local_.insert(local_.end(), remote.begin(), remote.end());
      worker_.reset();
    }
  }
}

Runner::~Runner() = default;

Counts Runner::counts() const {
  Counts c;
  if (generator_) {
    c.tx_packets = generator_->packets();
    c.tx_bytes = generator_->bytes();
    c.tx_refused = generator_->refused();
    c.tx_alloc_failures = generator_->alloc_failures();
  }
  if (receiver_) {
    const Receiver& r = *receiver_;
    c.rx_packets = r.packets();
    c.rx_bytes = r.bytes();
    c.marked = r.marked();
    c.foreign = r.foreign();
    c.gaps = r.gaps();
    c.reordered = r.reordered();
    c.checked = r.checked();
    c.bad = r.bad();
  }
  for (const auto& f : forwarders_) {
    c.rx_packets += f->rx_packets();
    c.rx_bytes += f->rx_bytes();
    c.tx_packets += f->tx_packets();
    c.tx_bytes += f->tx_bytes();
  }
  return c;
}

void Runner::control(Control c, uint64_t now) {
  for (Poller* p : local_) p->control(c, now);
  if (worker_) worker_->control(c);
}

bool Runner::done(uint64_t now, uint64_t end) const {
  return stop_ != 0 || now >= end || (generator_ && generator_->finished()) ||
         (receiver_ && receiver_->finished());
}

TrialResult Runner::run(double rate_pps, double duration_s, uint64_t packets, bool progress) {
  const uint64_t hz = rte_get_tsc_hz();
  PollingThread polling(unmap_guard_.qsbr(), UnmapGuard::kMain);
  control(Control::kReset, rte_get_tsc_cycles());
  const uint64_t start = rte_get_tsc_cycles();
  if (generator_) generator_->start(rate_pps, packets, start);
  const uint64_t end = duration_s > 0 ? start + static_cast<uint64_t>(duration_s * hz) : UINT64_MAX;
  uint64_t next_report = start + hz;
  uint64_t last_report = start;
  Counts last{};
  uint64_t now = start;
  while (!done(now, end)) {
    polling.quiescent();
    for (Poller* p : local_) p->poll(now);
    now = rte_get_tsc_cycles();
    if (progress && now >= next_report) {
      const Counts c = counts();
      const auto seconds = [hz](uint64_t cycles) { return static_cast<double>(cycles) / hz; };
      print_progress(o_, seconds(now - start), seconds(now - last_report), last, c,
                     receiver_ ? receiver_->interval_p99_ns() : 0);
      last = c;
      last_report = now;
      next_report += hz;
    }
  }
  TrialResult r;
  r.rate_pps = rate_pps;
  r.seconds = static_cast<double>(now - start) / static_cast<double>(hz);
  r.interrupted = stop_ != 0;
  if (generator_) generator_->stop();
  if (generator_ && receiver_) {
    // Frames still on their way count when they arrive within the drain time.
    const uint64_t drain_end = now + o_.drain_ms * hz / 1000;
    while ((now = rte_get_tsc_cycles()) < drain_end) {
      polling.quiescent();
      for (Poller* p : local_) p->poll(now);
    }
  }
  control(Control::kFreeze, rte_get_tsc_cycles());
  r.counts = counts();
  if (receiver_) r.latency = receiver_->latency().summary();
  return r;
}

}  // namespace tartan::perf
