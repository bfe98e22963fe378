#include "control/cluster/tunnel_prober.h"

#include <chrono>

#include "engine/log.h"

namespace tartan {
namespace {

// How often the thread wakes: probes go out within this of their time, and
// replies are matched within it (their round trip is measured by the
// workers, not by this).
constexpr auto kTick = std::chrono::milliseconds(10);
// How often the routed nodes are read from the mirror: a new node is
// probed within this plus its phase.
constexpr uint64_t kResyncMs = 1000;

ProbeClock clock_now() {
  using namespace std::chrono;
  return {static_cast<uint64_t>(
              duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count()),
          static_cast<uint64_t>(
              duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count())};
}

}  // namespace

TunnelProber::TunnelProber(const ProbeSettings& settings, Engine& engine, const NodeMirror& mirror)
    : settings_(settings),
      engine_(engine),
      mirror_(mirror),
      book_(settings.interval_ms, settings.timeout_ms) {
  thread_ = std::thread([this] { run(); });
}

TunnelProber::~TunnelProber() {
  {
    std::lock_guard lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

void TunnelProber::run() {
  TARTAN_LOG(INFO, kControl, "tunnel probes every %u ms (timeout %u ms)", settings_.interval_ms,
             settings_.timeout_ms);
  uint64_t next_resync = 0;
  std::unique_lock lock(stop_mu_);
  while (!stop_) {
    const ProbeClock clock = clock_now();
    const bool resync = clock.now_ms >= next_resync;
    if (resync) next_resync = clock.now_ms + kResyncMs;
    lock.unlock();
    round(clock, resync);
    lock.lock();
    stop_cv_.wait_for(lock, kTick, [this] { return stop_; });
  }
}

void TunnelProber::round(const ProbeClock& clock, bool resync) {
  std::vector<ProbeTarget> targets;
  if (resync) {
    for (const NodeRecord& r : mirror_.routed()) {
      if (r.status.route) targets.push_back({r.spec.name, r.status.route->addr});
    }
  }
  const std::vector<ProbeReply> replies = engine_.take_probe_replies();
  std::vector<ProbeBook::Due> due;
  {
    std::lock_guard lock(mu_);
    if (resync) book_.sync(targets, clock);
    for (const ProbeReply& r : replies) book_.reply(r.from, r.seq, r.rtt_ns, clock);
    book_.expire(clock);
    due = book_.due(clock);
  }
  for (const ProbeBook::Due& d : due) {
    if (Status s = engine_.send_probe(d.address, d.seq); !s.ok()) {
      // No lease yet, or the pool is dry: not a loss of the node's.
      TARTAN_LOG(DEBUG, kControl, "probe of %s not sent: %s", d.address.str().c_str(),
                 s.message().c_str());
      std::lock_guard lock(mu_);
      book_.unsent(d.address);
    }
  }
}

std::optional<ProbeView> TunnelProber::get(const std::string& node) const {
  std::lock_guard lock(mu_);
  return book_.get(node);
}

std::vector<ProbeView> TunnelProber::all() const {
  std::lock_guard lock(mu_);
  return book_.all();
}

}  // namespace tartan
