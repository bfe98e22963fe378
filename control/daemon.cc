#include "control/daemon.h"

#include <algorithm>

#include "control/config_loader.h"
#include "control/etcd_startup.h"
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
  // etcd's <prefix>/config can change the network: read it before any port
  // is touched, so a disagreement stops us with nothing started.
  std::unique_ptr<EtcdClient> etcd;
  if (config.lease.source == LeaseSource::kEtcd) {
    auto client = connect_etcd(d->config_);
    if (!client) return client.status();
    etcd = std::move(client).value();
  }

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
  ms.network = d->config_.network.network;
  ms.backend = ec.dataplane.backend;
  ms.vni = ec.dataplane.vni;
  ms.event_log_size = config.control.watch_history;
  d->mirror_ = std::make_unique<NodeMirror>(ms, *d->engine_);
  d->lease_ = std::make_unique<LocalLease>(d->config_, *d->mirror_, d->readiness_);
  if (Status s = d->program_host(); !s.ok()) return s;
  switch (config.lease.source) {
    case LeaseSource::kStatic:
      if (Status s = d->lease_->set(*config.lease.subnet, LeaseSource::kStatic); !s.ok()) return s;
      break;
    case LeaseSource::kGrpc:
      d->readiness_.set("lease_acquired", false, "waiting for Leases.SetLocalLease");
      d->readiness_.set("subnet_env_written", false, "waiting for the lease");
      break;
    case LeaseSource::kEtcd:
      d->etcd_ =
          std::make_unique<EtcdLeaseSource>(std::move(etcd), d->config_, *d->mirror_, *d->lease_,
                                            d->readiness_, d->engine_->vtep_mac());
      if (Status s = d->etcd_->start(); !s.ok()) return s;
      break;
    case LeaseSource::kKube:
      return Status(ErrorCode::kFailedPrecondition, "lease.source is not supported by this build");
  }
  // Pushed nodes arrive through the API; there is nothing to sync first.
  if (!d->etcd_) d->readiness_.set("tables_programmed", true, "nodes are pushed through the API");

  d->health_ = std::make_unique<HealthService>(d->readiness_);
  d->config_service_ =
      std::make_unique<ConfigService>(config.source_name, config_to_yaml(d->config_));
  d->stats_ = std::make_unique<StatsService>(*d->engine_);
  d->nodes_ = std::make_unique<NodesService>(
      *d->mirror_, WatchLimits{config.control.watch_history,
                               std::chrono::milliseconds(config.control.stream_write_timeout_ms)});
  d->leases_ =
      std::make_unique<LeasesService>(d->config_, *d->engine_, *d->lease_, *d->mirror_, d->keys_);
  d->routes_ = std::make_unique<RoutesService>(*d->engine_, *d->mirror_);
  d->ports_ = std::make_unique<PortsService>(*d->engine_);
  auto server = ApiServer::start(
      config.control, {d->health_.get(), d->config_service_.get(), d->stats_.get(), d->nodes_.get(),
                       d->leases_.get(), d->routes_.get(), d->ports_.get()});
  if (!server) return server.status();
  d->server_ = std::move(server).value();
  d->readiness_.set("api_serving", true, config.control.listen);
  return d;
}

void Daemon::stop() {
  if (etcd_) etcd_->stop();  // no mirror or lease change after this
  if (server_) {
    nodes_->stop_watches();
    stats_->stop_streams();
    server_->shutdown();
    server_.reset();
  }
  tap_watchdog_.reset();
  host_.reset();  // removes the host routes while the tap still exists
  if (engine_) engine_->stop();
}

Daemon::~Daemon() {
  stop();
}

Status Daemon::program_host() {
  if (config_.host_tap.empty()) return {};
  auto host = HostNetwork::open(config_.host_tap);
  if (!host) return host.status();
  host_ = std::move(host).value();
  // Routes a killed tartand left behind go; nodes bring theirs back.
  if (Status s = host_->reconcile({}); !s.ok()) return s;
  HostNetwork* h = host_.get();
  const uint16_t mtu = config_.engine.dataplane.overlay_mtu();
  lease_->set_hook([h, mtu](const Ipv4Prefix& pod_cidr) {
    if (Status s = h->set_local(pod_cidr, mtu); !s.ok()) {
      TARTAN_LOG(ERR, kControl, "host side of the overlay: %s", s.message().c_str());
    }
  });
  // vxlan routes point the kernel at the remote VtepMAC, as flannel's
  // neighbour entries do; other backends need only a MAC that is not ours.
  const MacAddr own = engine_->vtep_mac();
  mirror_->set_route_hook(
      [h, own](const Ipv4Prefix& prefix, const std::optional<NodeStatusView>& route) {
        const Status s =
            route ? h->add_route(prefix, route->vtep_mac.value_or(own)) : h->remove_route(prefix);
        if (!s.ok()) TARTAN_LOG(ERR, kControl, "host route: %s", s.message().c_str());
      });
  // The tap is the first overlay port (Config::host_tap).
  const auto& ports = engine_->ports();
  const auto tap = std::find_if(ports.begin(), ports.end(),
                                [](const Port& p) { return p.role() == PortRole::kOverlay; });
  tap_watchdog_ = std::make_unique<TapWatchdog>(*engine_, tap - ports.begin(), *host_);
  return {};
}

}  // namespace tartan
