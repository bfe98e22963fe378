// tartand's parts, assembled: engine, node mirror, local lease, gRPC API.
// The EAL must be up; everything else is started here and stopped in
// reverse order. Used by tartand's main and by in-process tests and
// benchmarks that need the whole control plane.
#pragma once

#include <memory>

#include "control/api_server.h"
#include "control/config.h"
#include "control/config_service.h"
#include "control/etcd_lease_source.h"
#include "control/health_service.h"
#include "control/host_network.h"
#include "control/leases_service.h"
#include "control/local_lease.h"
#include "control/node_mirror.h"
#include "control/nodes_service.h"
#include "control/ports_service.h"
#include "control/readiness.h"
#include "control/routes_service.h"
#include "control/stats_service.h"
#include "control/tap_watchdog.h"
#include "engine/engine.h"
#include "engine/status.h"

namespace tartan {

class Daemon {
 public:
  static Result<std::unique_ptr<Daemon>> start(const Config& config);
  ~Daemon();
  void stop();  // idempotent

  Engine& engine() { return *engine_; }
  NodeMirror& mirror() { return *mirror_; }
  LocalLease& lease() { return *lease_; }
  EtcdLeaseSource* etcd() { return etcd_.get(); }  // lease.source etcd only
  const Readiness& readiness() const { return readiness_; }
  const Config& config() const { return config_; }
  const ApiServer& server() const { return *server_; }
  // WatchNodes and StreamStats calls open now (none should outlive its client).
  size_t open_streams() const { return nodes_->open_watches() + stats_->open_streams(); }

 private:
  explicit Daemon(const Config& config);
  // Programs the host's routes into the overlay tap (config.host_tap).
  Status program_host();

  Config config_;
  Readiness readiness_;
  AnnotationKeys keys_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<NodeMirror> mirror_;
  std::unique_ptr<LocalLease> lease_;
  std::unique_ptr<HostNetwork> host_;
  std::unique_ptr<TapWatchdog> tap_watchdog_;  // with host_
  std::unique_ptr<EtcdLeaseSource> etcd_;
  std::unique_ptr<HealthService> health_;
  std::unique_ptr<ConfigService> config_service_;
  std::unique_ptr<StatsService> stats_;
  std::unique_ptr<NodesService> nodes_;
  std::unique_ptr<LeasesService> leases_;
  std::unique_ptr<RoutesService> routes_;
  std::unique_ptr<PortsService> ports_;
  std::unique_ptr<ApiServer> server_;
};

}  // namespace tartan
