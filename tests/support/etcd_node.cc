#include "tests/support/etcd_node.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <stdexcept>

#include "control/config/config_loader.h"
#include "control/daemon.h"
#include "control/sources/etcd/etcd_startup.h"

namespace tartan::testing {

Ipv4Addr EtcdNode::public_ip(int index) {
  return Ipv4Addr{(192u << 24) | (2u << 8) | static_cast<uint32_t>(10 + index)};
}

MacAddr EtcdNode::vtep_mac(int index) {
  return MacAddr{{0x0e, 0, 0, 0, static_cast<uint8_t>(index >> 8), static_cast<uint8_t>(index)}};
}

Ipv6Addr EtcdNode::public_ipv6(int index) {
  return *Ipv6Addr::parse("2001:db8::" + std::to_string(10 + index));
}

MacAddr EtcdNode::vtep_mac_v6(int index) {
  return MacAddr{{0x0e, 0, 0, 1, static_cast<uint8_t>(index >> 8), static_cast<uint8_t>(index)}};
}

EtcdNode::EtcdNode(const EtcdNodeOptions& o)
    : options_(o), readiness_({"lease_acquired", "subnet_env_written", "tables_programmed"}) {
  static std::atomic<int> n{0};
  dir_ = "/tmp/tartan-etcd-node-" + std::to_string(getpid()) + "-" + std::to_string(n++);
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  underlay_ = std::make_unique<RingPort>(256);
  overlay_ = std::make_unique<RingPort>(256);
  std::string endpoints;
  for (const std::string& e : o.endpoints) endpoints += (endpoints.empty() ? "" : ", ") + e;
  std::string underlay;
  if (o.ipv4) underlay += ", address: " + public_ip().str() + "/24, gateway: 192.0.2.1";
  if (o.ipv6) underlay += ", ipv6_address: '" + public_ipv6().str() + "/64'";
  underlay += o.underlay_yaml;
  const std::string yaml =
      "ports:\n"
      "  underlay: {device: " +
      underlay_->name() + underlay +
      "}\n"
      "  overlay: [{device: " +
      overlay_->name() +
      "}]\n"
      "workers: {lcores: [1], mempool_size: 1023, mempool_cache: 0, rx_descriptors: 64, "
      "tx_descriptors: 64}\n"
      "dataplane: {vtep_mac: '" +
      vtep_mac().str() + "', vtep_mac_v6: '" + vtep_mac_v6().str() +
      "', max_routes: " + std::to_string(o.max_routes) + ", lpm_tbl8_groups: 16}\n" +
      (o.network.empty() ? "" : "network: " + o.network + "\n") + "node: {name: node-" +
      std::to_string(o.index) + ", state_dir: " + dir_ +
      "/state}\n"
      "lease: {source: etcd, etcd: {endpoints: [" +
      endpoints + "], retry_initial_ms: 50, retry_max_ms: 500, startup_timeout_s: " +
      std::to_string(o.startup_timeout_s) + o.etcd_yaml +
      "}}\n"
      "subnet_file: " +
      dir_ + "/subnet.env\n";
  auto config = parse_config(yaml, "node-" + std::to_string(o.index) + ".yaml");
  if (!config) throw std::runtime_error(config.status().message());
  config_ = *config;
}

Status EtcdNode::start() {
  auto client = connect_etcd(config_);
  if (!client) return client.status();
  auto engine = Engine::create(config_.engine);
  if (!engine) return engine.status();
  engine_ = std::move(engine).value();
  if (Status s = engine_->start_ports(); !s.ok()) return s;
  mirror_ = std::make_unique<NodeMirror>(
      mirror_settings(config_, *annotation_keys(config_.node.annotation_prefix)), *engine_);
  lease_ = std::make_unique<LocalLease>(config_, *mirror_, readiness_);
  source_ = std::make_unique<EtcdLeaseSource>(std::move(client).value(), config_, *mirror_, *lease_,
                                              readiness_, engine_->vtep_mac(), options_.hooks);
  return source_->start();
}

void EtcdNode::stop() {
  if (source_) source_->stop();
}

EtcdNode::~EtcdNode() {
  source_.reset();
  lease_.reset();
  mirror_.reset();
  engine_.reset();
  overlay_.reset();
  underlay_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::optional<Ipv4Prefix> EtcdNode::subnet() const {
  if (!lease_) return std::nullopt;
  auto l = lease_->get();
  return l ? std::optional(l->pod_cidr) : std::nullopt;
}

PodCidrs EtcdNode::subnets() const {
  if (!lease_) return {};
  auto l = lease_->get();
  return l ? l->cidrs() : PodCidrs{};
}

namespace {

template <class View>
std::vector<View> remote(std::vector<View> routes) {
  std::erase_if(routes, [](const View& r) { return r.kind == NextHopKind::kLocal; });
  return routes;
}

}  // namespace

std::vector<RouteView> EtcdNode::routes() const {
  return engine_ ? remote(engine_->routes()) : std::vector<RouteView>{};
}

std::vector<Route6View> EtcdNode::routes6() const {
  return engine_ ? remote(engine_->routes6()) : std::vector<Route6View>{};
}

}  // namespace tartan::testing
