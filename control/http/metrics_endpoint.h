// GET /metrics: every engine counter (the tables of
// engine/observe/stats_fields.h, the drop reasons of stats.h) and the control
// plane's gauges in Prometheus' text exposition format 0.0.4. Written by
// hand: prometheus-cpp is not in Debian 12, and the format is a few lines of
// text per metric on the HTTP server tartand already runs.
//
// Per-node tunnel counters are bounded: the `max_peer_series` remote nodes
// with the most packets (encap + decap, since start) get their own series,
// labelled by node name and public IP; the rest are summed under
// node="other". At 5,000 nodes the scrape stays at max_peer_series + 1
// series per metric.
//
// Tunnel probes (when on) are bounded the same way: every node counts in
// tartan_probe_nodes by state; per-node gauges go to max_peer_series nodes,
// the unreachable first (what an operator alerts on), then by name.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control/cluster/local_lease.h"
#include "control/cluster/node_mirror.h"
#include "control/cluster/readiness.h"
#include "control/cluster/tunnel_prober.h"
#include "control/http/http_server.h"
#include "control/wireguard/wireguard_driver.h"
#include "engine/engine.h"

namespace tartan {

// What the control plane reports beside the engine's counters.
struct ControlPlaneGauges {
  size_t nodes = 0;         // in the mirror
  size_t routed_nodes = 0;  // with a route in the engine
  std::optional<LocalLeaseState> lease;
  std::vector<ReadinessCondition> conditions;
  double last_update_seconds = 0;                       // NodeMirror::last_update_seconds
  std::map<std::string, std::string> peer_nodes;        // public IP or IPv6 -> node name
  std::optional<std::vector<ProbeView>> probes;         // nullopt: probes are off
  std::optional<WireguardHandshakeCounters> wireguard;  // nullopt: another backend
};

inline constexpr const char* kPrometheusTextType = "text/plain; version=0.0.4; charset=utf-8";

std::string metrics_text(const StatsSnapshot& stats, const ControlPlaneGauges& control,
                         size_t max_peer_series);

// All must outlive the server the routes are given to.
struct MetricsSources {
  const Engine& engine;
  const NodeMirror& mirror;
  const LocalLease& lease;
  const Readiness& readiness;
  const TunnelProber* prober;                  // null: probes are off
  size_t max_peer_series;                      // control.http.metrics_peers
  const WireguardDriver* wireguard = nullptr;  // null: another backend
};
std::map<std::string, HttpHandler> metrics_routes(const MetricsSources& sources);

}  // namespace tartan
