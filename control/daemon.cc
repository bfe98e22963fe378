#include "control/daemon.h"

#include <algorithm>

#include "control/config/config_loader.h"
#include "control/host/vtep_mac_store.h"
#include "engine/log.h"

namespace tartan {

namespace {

// The lease's conditions, the source's, then the daemon's own.
std::vector<std::string> readiness_conditions(const NodeSource* source) {
  std::vector<std::string> names{"lease_acquired", "subnet_env_written"};
  if (source != nullptr) {
    for (std::string& n : source->readiness_conditions()) names.push_back(std::move(n));
  }
  for (const char* n : {"ports_started", "workers_running", "api_serving"}) names.push_back(n);
  return names;
}

}  // namespace

// The source keeps a reference to the daemon's own copy of the config,
// which prepare() may settle.
Daemon::Daemon(const Config& config)
    : config_(config),
      source_(make_node_source(config_)),
      readiness_(readiness_conditions(source_.get())) {}

Result<std::unique_ptr<Daemon>> Daemon::start(const Config& config) {
  std::unique_ptr<Daemon> d(new Daemon(config));
  if (!d->source_) {
    return Status(ErrorCode::kFailedPrecondition, std::string("lease.source ") +
                                                      lease_source_name(config.lease.source) +
                                                      " is not supported by this build");
  }
  auto keys = annotation_keys(config.node.annotation_prefix);
  if (!keys) return keys.status();
  d->keys_ = *keys;
  // The source may settle the network or the VtepMAC (etcd's
  // <prefix>/config, our Node's annotations): before any port is touched,
  // so a disagreement stops us with nothing started.
  if (Status s = d->source_->prepare(d->config_); !s.ok()) return s;
  const Config& settled = d->config_;

  EngineConfig ec = settled.engine;
  if (ec.dataplane.vtep_mac.is_zero()) {
    auto mac = stable_vtep_mac(settled.node.state_dir);
    if (!mac) return mac.status();
    ec.dataplane.vtep_mac = *mac;
  }
  // The host's side of the overlay carries the VtepMAC, as flannel.<VNI>
  // does (tools read it there): the tap is the first overlay port.
  const auto tap = std::find_if(ec.ports.begin(), ec.ports.end(),
                                [](const PortConfig& p) { return p.role == PortRole::kOverlay; });
  if (!settled.host_tap.empty() && tap != ec.ports.end() && !tap->mac) {
    tap->mac = ec.dataplane.vtep_mac;
  }
  const auto underlay = std::find_if(ec.ports.begin(), ec.ports.end(), [](const PortConfig& p) {
    return p.role == PortRole::kUnderlay;
  });
  if (underlay != ec.ports.end()) {
    auto link = UnderlayLink::prepare(*underlay);
    if (!link) return link.status();
    d->underlay_link_ = std::move(link).value();
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
  ms.own_node_name = settled.node.name;
  ms.network = d->config_.network.network;
  ms.backend = ec.dataplane.backend;
  ms.vni = ec.dataplane.vni;
  ms.event_log_size = settled.control.watch_history;
  d->mirror_ = std::make_unique<NodeMirror>(ms, *d->engine_);
  d->lease_ = std::make_unique<LocalLease>(d->config_, *d->mirror_, d->readiness_);
  if (Status s = d->program_host(); !s.ok()) return s;
  if (Status s =
          d->source_->start({*d->mirror_, *d->lease_, d->readiness_, d->engine_->vtep_mac()});
      !s.ok()) {
    return s;
  }

  d->health_ = std::make_unique<HealthService>(d->readiness_);
  d->config_service_ =
      std::make_unique<ConfigService>(settled.source_name, config_to_yaml(d->config_));
  d->stats_ = std::make_unique<StatsService>(*d->engine_);
  d->nodes_ = std::make_unique<NodesService>(
      *d->mirror_, WatchLimits{settled.control.watch_history,
                               std::chrono::milliseconds(settled.control.stream_write_timeout_ms)});
  d->leases_ =
      std::make_unique<LeasesService>(d->config_, *d->engine_, *d->lease_, *d->mirror_, d->keys_);
  d->routes_ = std::make_unique<RoutesService>(*d->engine_, *d->mirror_);
  d->ports_ = std::make_unique<PortsService>(*d->engine_);
  auto server = ApiServer::start(
      settled.control, {d->health_.get(), d->config_service_.get(), d->stats_.get(),
                        d->nodes_.get(), d->leases_.get(), d->routes_.get(), d->ports_.get()});
  if (!server) return server.status();
  d->server_ = std::move(server).value();
  d->readiness_.set("api_serving", true, settled.control.listen);
  return d;
}

void Daemon::stop() {
  if (source_) source_->stop();  // no mirror or lease change after this
  if (server_) {
    nodes_->stop_watches();
    stats_->stop_streams();
    server_->shutdown();
    server_.reset();
  }
  tap_watchdog_.reset();
  host_.reset();  // removes the host routes while the tap still exists
  if (engine_) engine_->stop();
  underlay_link_.reset();
}

Daemon::~Daemon() {
  stop();
}

Status Daemon::program_host() {
  if (config_.host_tap.empty()) return {};
  // The tap is the first overlay port (Config::host_tap).
  const auto& ports = engine_->ports();
  const auto tap = std::find_if(ports.begin(), ports.end(),
                                [](const Port& p) { return p.role() == PortRole::kOverlay; });
  auto host = HostNetwork::open(config_.host_tap, tap->mac());
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
  tap_watchdog_ = std::make_unique<TapWatchdog>(*engine_, tap - ports.begin(), *host_);
  return {};
}

}  // namespace tartan
