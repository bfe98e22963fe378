// Tunnel probes (issue: is each remote node reachable through the tunnel?):
// a thread that, every control.probe.interval_ms, sends each routed node an
// ICMP echo request through the engine (Engine::send_probe: from our
// overlay address to the network address of the node's podCIDR, which its
// flannel.1 or tartan's host tap holds, so its host answers), matches the
// replies the engine hands back, and keeps per-node reachability, round
// trip and loss (probe_book.h) for the Nodes API and /metrics.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "control/cluster/node_mirror.h"
#include "control/cluster/probe_book.h"
#include "engine/engine.h"

namespace tartan {

struct ProbeSettings {
  uint32_t interval_ms = 0;  // 0: no probes
  uint32_t timeout_ms = 1000;
};

class TunnelProber {
 public:
  // Starts probing at once; `settings.interval_ms` must not be 0.
  TunnelProber(const ProbeSettings& settings, Engine& engine, const NodeMirror& mirror);
  ~TunnelProber();  // stops the thread
  TunnelProber(const TunnelProber&) = delete;
  TunnelProber& operator=(const TunnelProber&) = delete;

  std::optional<ProbeView> get(const std::string& node) const;
  std::vector<ProbeView> all() const;

 private:
  void run();
  void round(const ProbeClock& clock, bool resync);

  const ProbeSettings settings_;
  Engine& engine_;
  const NodeMirror& mirror_;
  mutable std::mutex mu_;  // book_
  ProbeBook book_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace tartan
