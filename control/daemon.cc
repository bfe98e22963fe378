#include "control/daemon.h"

#include <algorithm>

#include "control/config/config_loader.h"
#include "control/config/pod_mtu.h"
#include "control/host/stale_vxlan.h"
#include "control/host/vtep_mac_store.h"
#include "control/host/wireguard_key_store.h"
#include "control/http/health_endpoints.h"
#include "control/http/metrics_endpoint.h"
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

MirrorSettings mirror_settings(const Config& config, const AnnotationKeys& keys) {
  MirrorSettings ms;
  ms.keys = keys;
  ms.own_node_name = config.node.name;
  ms.network = config.network.network;
  ms.enable_ipv4 = config.network.enable_ipv4;
  if (config.network.enable_ipv6) ms.ipv6_network = config.network.ipv6_network;
  ms.backend = config.engine.dataplane.backend;
  ms.vni = config.engine.dataplane.vni;
  const UnderlayConfig& u = config.engine.underlay;
  ms.wireguard.mode = config.network.backend.wireguard.mode;
  if (u.address) ms.wireguard.underlay_ip = u.address->addr;
  if (u.ipv6_address) ms.wireguard.underlay_ip6 = u.ipv6_address->addr;
  ms.event_log_size = config.control.watch_history;
  ms.event_log_bytes = size_t{config.control.watch_history_mb} << 20;
  return ms;
}

Result<std::unique_ptr<Daemon>> Daemon::prepare(const Config& config) {
  std::unique_ptr<Daemon> d(new Daemon(config));
  if (!d->source_) {
    return Status(ErrorCode::kFailedPrecondition, std::string("lease.source ") +
                                                      lease_source_name(config.lease.source) +
                                                      " is not supported by this build");
  }
  auto keys = annotation_keys(config.node.annotation_prefix);
  if (!keys) return keys.status();
  d->keys_ = *keys;
  // The source may settle the network, the underlay or the VtepMAC
  // (etcd's <prefix>/config, our Node's annotations): before EAL probes any
  // port, so a disagreement stops us with nothing started.
  if (Status s = d->source_->prepare(d->config_); !s.ok()) return s;
  // A VXLAN device kube-flannel left under our tap's name would keep EAL
  // from creating the tap.
  if (!d->config_.host_tap.empty()) {
    if (Status s = remove_stale_vxlan(d->config_.host_tap); !s.ok()) return s;
  }
  return d;
}

Result<std::unique_ptr<Daemon>> Daemon::start(const Config& config) {
  auto d = prepare(config);
  if (!d) return d.status();
  if (Status s = (*d)->launch(); !s.ok()) return s;
  return d;
}

Status Daemon::launch() {
  // flannel-v6's VTEP MAC, kept across restarts as the IPv4 one; settled in
  // our config, which the sources and the API advertise it from.
  DataplaneConfig& dp = config_.engine.dataplane;
  if (config_.network.enable_ipv6 && dp.vtep_mac_v6.is_zero()) {
    auto mac = stable_vtep_mac(config_.node.state_dir, true);
    if (!mac) return mac.status();
    dp.vtep_mac_v6 = *mac;
  }
  EngineConfig ec = config_.engine;
  if (ec.dataplane.vtep_mac.is_zero()) {
    auto mac = stable_vtep_mac(config_.node.state_dir);
    if (!mac) return mac.status();
    ec.dataplane.vtep_mac = *mac;
  }
  // The host's side of the overlay carries the VtepMAC, as flannel.<VNI>
  // does (tools read it there), or IPv6 only flannel-v6.<VNI>'s: the tap is
  // the first overlay port.
  const auto tap = std::find_if(ec.ports.begin(), ec.ports.end(),
                                [](const PortConfig& p) { return p.role == PortRole::kOverlay; });
  if (!config_.host_tap.empty() && tap != ec.ports.end() && !tap->mac) {
    tap->mac = config_.network.enable_ipv4 ? ec.dataplane.vtep_mac : dp.vtep_mac_v6;
  }
  const auto underlay = std::find_if(ec.ports.begin(), ec.ports.end(), [](const PortConfig& p) {
    return p.role == PortRole::kUnderlay;
  });
  if (underlay != ec.ports.end()) {
    auto link = UnderlayLink::prepare(*underlay);
    if (!link) return link.status();
    underlay_link_ = std::move(link).value();
  }
  // Our WireGuard identity, kept across restarts as flanneld keeps its
  // /run/flannel/wgkey; its public key is announced from our config.
  std::optional<WireguardKeys> wg_keys;
  if (dp.backend == BackendType::kWireguard) {
    auto keys = stable_wireguard_keys(config_.node.state_dir + "/wgkey");
    if (!keys) return keys.status();
    wg_keys = *keys;
    config_.network.backend.wireguard.public_key = keys->public_key;
  }
  auto engine = Engine::create(ec);
  if (!engine) return engine.status();
  engine_ = std::move(engine).value();
  if (Status s = engine_->start(); !s.ok()) return s;
  readiness_.set("ports_started", true, std::to_string(engine_->ports().size()) + " ports up");
  readiness_.set("workers_running", true,
                 std::to_string(engine_->workers().size()) + " workers polling");

  mirror_ = std::make_unique<NodeMirror>(mirror_settings(config_, keys_), *engine_);
  lease_ = std::make_unique<LocalLease>(config_, *mirror_, readiness_);
  if (config_.control.probe.interval_ms != 0) {
    prober_ = std::make_unique<TunnelProber>(
        ProbeSettings{config_.control.probe.interval_ms, config_.control.probe.timeout_ms},
        *engine_, *mirror_);
  }
  if (wg_keys) {
    const WireguardBackendConfig& wg = config_.network.backend.wireguard;
    auto peers =
        WireguardPeers::create(*engine_, {wg_keys->private_key, wg.psk.value_or(WireguardKey{}),
                                          std::chrono::seconds(wg.persistent_keepalive_s)});
    if (!peers) return peers.status();
    wireguard_ = std::make_unique<WireguardDriver>(std::move(peers).value(), *mirror_);
  }
  if (Status s = program_host(); !s.ok()) return s;
  if (Status s = start_http(); !s.ok()) return s;
  if (Status s = source_->start({*mirror_, *lease_, readiness_, engine_->vtep_mac()}); !s.ok()) {
    return s;
  }

  health_ = std::make_unique<HealthService>(readiness_);
  config_service_ = std::make_unique<ConfigService>(config_.source_name, config_to_yaml(config_));
  stats_ = std::make_unique<StatsService>(*engine_, wireguard_.get());
  nodes_ = std::make_unique<NodesService>(
      *mirror_,
      WatchLimits{config_.control.watch_history,
                  std::chrono::milliseconds(config_.control.stream_write_timeout_ms)},
      source_->mirror_owner(), prober_.get(),
      wireguard_
          ? std::optional<NodesService::Wireguard>(
                {*engine_,
                 {config_.network.backend.wireguard.listen_port,
                  config_.engine.dataplane.udp_port_v6,
                  std::chrono::seconds(config_.network.backend.wireguard.persistent_keepalive_s)}})
          : std::nullopt);
  leases_ = std::make_unique<LeasesService>(config_, *engine_, *lease_, *mirror_, keys_);
  routes_ = std::make_unique<RoutesService>(*engine_, *mirror_);
  ports_ = std::make_unique<PortsService>(*engine_);
  capture_ = std::make_unique<CaptureService>(*engine_);
  trace_ = std::make_unique<TraceService>(*engine_, *mirror_);
  auto server = ApiServer::start(
      config_.control, {health_.get(), config_service_.get(), stats_.get(), nodes_.get(),
                        leases_.get(), routes_.get(), ports_.get(), capture_.get(), trace_.get()});
  if (!server) return server.status();
  server_ = std::move(server).value();
  readiness_.set("api_serving", true, config_.control.listen);
  return {};
}

void Daemon::stop() {
  http_.reset();
  control_probe_.reset();
  if (source_) source_->stop();  // no mirror or lease change after this
  if (server_) {
    nodes_->stop_watches();
    stats_->stop_streams();
    capture_->stop_streams();
    trace_->stop_streams();
    server_->shutdown();
    server_.reset();
  }
  prober_.reset();     // sends through the engine
  wireguard_.reset();  // likewise
  tap_watchdog_.reset();
  host_.reset();  // removes the host routes while the tap still exists
  if (engine_) engine_->stop();
  underlay_link_.reset();
}

Daemon::~Daemon() {
  stop();
}

Status Daemon::start_http() {
  const std::string& listen = config_.control.http.listen;
  if (listen.empty()) return {};
  // The control side answers when the mirror's and the engine's locks can
  // be taken; longer than this and the kubelet may restart us.
  control_probe_ = std::make_unique<ControlLoopProbe>(
      [this] {
        (void)mirror_->resource_version();
        (void)engine_->local_subnet();
      },
      std::chrono::seconds(2));
  auto routes = health_routes(readiness_, *control_probe_);
  routes.merge(metrics_routes({*engine_, *mirror_, *lease_, readiness_, prober_.get(),
                               config_.control.http.metrics_peers, wireguard_.get()}));
  auto server = HttpServer::start(listen, std::move(routes));
  if (!server)
    return Status(server.status().code(), "control.http.listen " + server.status().message());
  http_ = std::move(server).value();
  TARTAN_LOG(INFO, kControl, "HTTP endpoints on http://%s (/healthz, /readyz, /metrics)",
             http_->address().c_str());
  return {};
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
  const uint16_t mtu = pod_mtu(config_.network, config_.engine.dataplane);
  lease_->set_hook([h, mtu](const PodCidrs& cidrs) {
    Status s;
    if (cidrs.v4) s = h->set_local(*cidrs.v4, mtu);
    if (s.ok() && cidrs.v6) s = h->set_local(*cidrs.v6, mtu);
    if (!s.ok()) TARTAN_LOG(ERR, kControl, "host side of the overlay: %s", s.message().c_str());
  });
  // vxlan routes point the kernel at the remote VtepMAC, as flannel's
  // neighbour entries do; other backends need only a MAC that is not ours.
  const MacAddr own = engine_->vtep_mac();
  mirror_->set_route_hook([h, own](const TableDelta& applied) {
    const auto mac = [&](const MacAddr& vtep_mac) { return vtep_mac.is_zero() ? own : vtep_mac; };
    const auto logged = [](const Status& s) {
      if (!s.ok()) TARTAN_LOG(ERR, kControl, "host route: %s", s.message().c_str());
    };
    for (const Ipv4Prefix& gone : applied.remove_routes) logged(h->remove_route(gone));
    for (const Ipv6Prefix& gone : applied.remove_routes6) logged(h->remove_route(gone));
    for (const RouteSpec& r : applied.upsert_routes)
      logged(h->add_route(r.prefix, mac(r.vtep_mac)));
    for (const Route6Spec& r : applied.upsert_routes6)
      logged(h->add_route(r.prefix, mac(r.vtep_mac)));
  });
  tap_watchdog_ = std::make_unique<TapWatchdog>(*engine_, tap - ports.begin(), *host_);
  return {};
}

}  // namespace tartan
