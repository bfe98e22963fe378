// tartand's parts, assembled: engine, node mirror, local lease, gRPC API.
// The EAL must be up; everything else is started here and stopped in
// reverse order. Used by tartand's main and by in-process tests and
// benchmarks that need the whole control plane.
#pragma once

#include <memory>

#include "control/api/api_server.h"
#include "control/api/capture_service.h"
#include "control/api/config_service.h"
#include "control/api/health_service.h"
#include "control/api/leases_service.h"
#include "control/api/nodes_service.h"
#include "control/api/ports_service.h"
#include "control/api/routes_service.h"
#include "control/api/stats_service.h"
#include "control/api/trace_service.h"
#include "control/cluster/local_lease.h"
#include "control/cluster/node_mirror.h"
#include "control/cluster/readiness.h"
#include "control/cluster/tunnel_prober.h"
#include "control/config/config.h"
#include "control/host/host_network.h"
#include "control/host/tap_watchdog.h"
#include "control/host/underlay_link.h"
#include "control/http/control_loop_probe.h"
#include "control/http/http_server.h"
#include "control/sources/node_source.h"
#include "control/wireguard/wireguard_driver.h"
#include "engine/engine.h"
#include "engine/status.h"

namespace tartan {

// The node mirror's settings for `config` (its network, backend and
// watch history), with the annotation keys of node.annotation_prefix.
MirrorSettings mirror_settings(const Config& config, const AnnotationKeys& keys);

class Daemon {
 public:
  // Builds the source and lets it settle the config (it may wait for its
  // store): nothing of DPDK is needed or touched yet, so tartand starts EAL
  // after this, with the ports the settled config names.
  static Result<std::unique_ptr<Daemon>> prepare(const Config& config);
  // Everything else, on an EAL that is up: engine, host side, source, APIs.
  Status launch();
  // prepare() and launch(), for callers whose EAL is up already.
  static Result<std::unique_ptr<Daemon>> start(const Config& config);
  ~Daemon();
  void stop();  // idempotent

  Engine& engine() { return *engine_; }
  NodeMirror& mirror() { return *mirror_; }
  LocalLease& lease() { return *lease_; }
  NodeSource& source() { return *source_; }
  const Readiness& readiness() const { return readiness_; }
  const Config& config() const { return config_; }
  const ApiServer& server() const { return *server_; }
  // /healthz and /readyz (control.http.listen); null when that is "".
  const HttpServer* http() const { return http_.get(); }
  // Tunnel probes; null when control.probe.interval_ms is 0.
  const TunnelProber* prober() const { return prober_.get(); }
  // The wireguard backend's handshakes; null on other backends.
  const WireguardDriver* wireguard() const { return wireguard_.get(); }
  // WatchNodes and StreamStats calls open now (none should outlive its client).
  size_t open_streams() const { return nodes_->open_watches() + stats_->open_streams(); }

 private:
  explicit Daemon(const Config& config);
  // Programs the host's routes into the overlay tap (config.host_tap).
  Status program_host();
  // Serves /healthz and /readyz from before the source starts, so a node
  // still waiting for its lease is seen alive and not ready, with why.
  Status start_http();

  Config config_;
  std::unique_ptr<NodeSource> source_;
  Readiness readiness_;
  AnnotationKeys keys_;
  std::unique_ptr<UnderlayLink> underlay_link_;  // put back after the engine stops
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<NodeMirror> mirror_;
  std::unique_ptr<LocalLease> lease_;
  std::unique_ptr<TunnelProber> prober_;        // control.probe.interval_ms; null when 0
  std::unique_ptr<WireguardDriver> wireguard_;  // the wireguard backend only
  std::unique_ptr<HostNetwork> host_;
  std::unique_ptr<TapWatchdog> tap_watchdog_;  // with host_
  std::unique_ptr<HealthService> health_;
  std::unique_ptr<ConfigService> config_service_;
  std::unique_ptr<StatsService> stats_;
  std::unique_ptr<NodesService> nodes_;
  std::unique_ptr<LeasesService> leases_;
  std::unique_ptr<RoutesService> routes_;
  std::unique_ptr<PortsService> ports_;
  std::unique_ptr<CaptureService> capture_;
  std::unique_ptr<TraceService> trace_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<ControlLoopProbe> control_probe_;
  std::unique_ptr<HttpServer> http_;  // with control_probe_
};

}  // namespace tartan
