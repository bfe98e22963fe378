#include "control/daemon.h"

#include "control/config_loader.h"
#include "control/vtep_mac_store.h"
#include "engine/log.h"

namespace tartan {

Daemon::Daemon(const Config& config)
    : config_(config),
      readiness_({"lease_acquired", "subnet_env_written", "tables_programmed", "ports_started",
                  "workers_running", "api_serving"}) {}

Result<std::unique_ptr<Daemon>> Daemon::start(const Config& config) {
  std::unique_ptr<Daemon> d(new Daemon(config));
  auto keys = annotation_keys(config.node.annotation_prefix);
  if (!keys) return keys.status();
  d->keys_ = *keys;

  EngineConfig ec = config.engine;
  if (ec.dataplane.vtep_mac.is_zero()) {
    auto mac = stable_vtep_mac(config.node.state_dir);
    if (!mac) return mac.status();
    ec.dataplane.vtep_mac = *mac;
  }
  auto engine = Engine::create(ec);
  if (!engine) return engine.status();
  d->engine_ = std::move(engine).value();
  if (Status s = d->engine_->start(); !s.ok()) return s;
  d->readiness_.set("ports_started", true,
                    std::to_string(d->engine_->ports().size()) + " ports up");
  d->readiness_.set("workers_running", true,
                    std::to_string(d->engine_->workers().size()) + " workers polling");

  MirrorSettings ms;
  ms.keys = d->keys_;
  ms.own_node_name = config.node.name;
  ms.network = config.network.network;
  ms.backend = ec.dataplane.backend;
  ms.vni = ec.dataplane.vni;
  ms.event_log_size = config.control.watch_history;
  d->mirror_ = std::make_unique<NodeMirror>(ms, *d->engine_);
  d->lease_ = std::make_unique<LocalLease>(d->config_, *d->mirror_, d->readiness_);
  switch (config.lease.source) {
    case LeaseSource::kStatic:
      if (Status s = d->lease_->set(*config.lease.subnet, LeaseSource::kStatic); !s.ok()) return s;
      break;
    case LeaseSource::kGrpc:
      d->readiness_.set("lease_acquired", false, "waiting for Leases.SetLocalLease");
      d->readiness_.set("subnet_env_written", false, "waiting for the lease");
      break;
    case LeaseSource::kEtcd:
    case LeaseSource::kKube:
      return Status(ErrorCode::kFailedPrecondition, "lease.source is not supported by this build");
  }
  // Pushed nodes arrive through the API; there is nothing to sync first.
  d->readiness_.set("tables_programmed", true, "nodes are pushed through the API");

  d->health_ = std::make_unique<HealthService>(d->readiness_);
  d->config_service_ = std::make_unique<ConfigService>(config.source_name, config_to_yaml(config));
  d->stats_ = std::make_unique<StatsService>(*d->engine_);
  d->nodes_ = std::make_unique<NodesService>(*d->mirror_);
  d->leases_ =
      std::make_unique<LeasesService>(d->config_, *d->engine_, *d->lease_, *d->mirror_, d->keys_);
  d->routes_ = std::make_unique<RoutesService>(*d->engine_, *d->mirror_);
  auto server =
      ApiServer::start(config.control, {d->health_.get(), d->config_service_.get(), d->stats_.get(),
                                        d->nodes_.get(), d->leases_.get(), d->routes_.get()});
  if (!server) return server.status();
  d->server_ = std::move(server).value();
  d->readiness_.set("api_serving", true, config.control.listen);
  return d;
}

void Daemon::stop() {
  if (server_) {
    nodes_->stop_watches();
    stats_->stop_streams();
    server_->shutdown();
    server_.reset();
  }
  if (engine_) engine_->stop();
}

Daemon::~Daemon() {
  stop();
}

}  // namespace tartan
