#include "control/sources/kube/kube_node_source.h"

#include <thread>
#include <utility>
#include <vector>

#include "control/cluster/local_lease.h"
#include "control/config/underlay_check.h"
#include "control/host/vtep_mac_store.h"
#include "control/sources/kube/kube_credentials.h"
#include "control/sources/kube/kube_node_name.h"
#include "control/sources/kube/own_node.h"
#include "engine/log.h"

namespace tartan {
namespace {

constexpr const char* kStrategicMerge = "application/strategic-merge-patch+json";
// How long our Node's watch events wait for our PATCH's echo.
constexpr auto kEchoWait = std::chrono::seconds(2);

std::string node_path(const std::string& name) {
  return "/api/v1/nodes/" + KubeHttp::escape(name);
}

Backoff backoff_of(const KubeConfig& k) {
  return Backoff::client_go(std::chrono::milliseconds(k.retry_initial_ms),
                            std::chrono::milliseconds(k.retry_max_ms), std::chrono::minutes(2));
}

}  // namespace

KubeNodeSource::KubeNodeSource(const Config& config)
    : config_(config), patch_backoff_(backoff_of(config.lease.kube)) {}

KubeNodeSource::~KubeNodeSource() {
  stop();
}

std::vector<std::string> KubeNodeSource::readiness_conditions() const {
  return {"tables_programmed", "kube_api"};
}

Status KubeNodeSource::prepare(Config& config) {
  const KubeConfig& kube = config.lease.kube;
  auto keys = annotation_keys(config.node.annotation_prefix);
  if (!keys) return keys.status();
  keys_ = *keys;
  auto credentials = load_kube_credentials(kube);
  if (!credentials) return credentials.status();
  const std::string server = credentials->server;
  auto http = KubeHttp::create(std::move(credentials).value(), KubeHttpOptions::from(kube));
  if (!http) return http.status();
  http_ = std::move(http).value();

  // Our Node, read once before anything starts, waiting out an API server
  // that is not there yet (a node reboots before its control plane does).
  const auto deadline = Clock::now() + std::chrono::seconds(kube.startup_timeout_s);
  Backoff backoff = backoff_of(kube);
  std::string cause;
  std::optional<KubeNode> own;
  while (true) {
    auto name = kube_node_name(*http_, config.node.name);
    if (name) {
      config.node.name = *name;
      auto got = http_->request("GET", node_path(*name));
      if (got && got->ok()) {
        auto node = decode_node(got->body, node_decode_options(keys_, *name));
        if (!node) return Status::invalid("node '" + *name + "': " + node.status().message());
        own = std::move(node).value();
        break;
      }
      cause = got ? "GET node '" + *name + "': " + got->error() : got.status().message();
    } else {
      cause = name.status().message();
    }
    if (Clock::now() >= deadline) break;
    const auto wait = backoff.next();
    TARTAN_LOG(WARNING, kControl, "kube: %s; retrying in %lld ms", cause.c_str(),
               static_cast<long long>(wait.count()));
    std::this_thread::sleep_for(wait);
  }
  if (!own) {
    // Without our Node we miss only what it would have settled: when the
    // config has it all, start, and let the watch say why it cannot sync.
    const std::string why = cause + " (gave up after lease.kube.startup_timeout_s " +
                            std::to_string(kube.startup_timeout_s) + " at " + server + ")";
    if (!underlay_known(config))
      return Status(ErrorCode::kUnavailable, "kube: our Node is needed for the underlay: " + why);
    TARTAN_LOG(WARNING, kControl, "kube: starting without our Node: %s", why.c_str());
  } else {
    if (Status s = apply_node_settings(own->spec, config.engine); !s.ok())
      return Status::invalid("node '" + config.node.name + "': " + s.message());
    // The VtepMAC our Node already announces is the one peers' neighbour
    // and FDB entries hold (flannel#1828): keep it.
    // flanneld's GetStoredMacAddresses: both families' (backend-v6-data's
    // for flannel-v6).
    const DataplaneConfig& dp = config.engine.dataplane;
    auto info = read_flannel_node(own->spec, keys_);
    if (info && dp.backend == BackendType::kVxlan) {
      if (dp.vtep_mac.is_zero() && info->vtep_mac) {
        if (Status s = store_vtep_mac(config.node.state_dir, *info->vtep_mac); !s.ok()) return s;
      }
      if (config.network.enable_ipv6 && dp.vtep_mac_v6.is_zero() && info->vtep_mac_v6 &&
          !info->ipv6_invalid) {
        if (Status s = store_vtep_mac(config.node.state_dir, *info->vtep_mac_v6, true); !s.ok())
          return s;
      }
    }
    std::lock_guard lock(own_mu_);
    own_pending_ = std::move(own);
  }
  if (!underlay_known(config)) {
    // The keys the network's families need, and the annotations for them.
    std::vector<std::pair<std::string, std::string>> needed{
        {"ports.underlay.device", kUnderlayDeviceAnnotation}};
    if (config.network.enable_ipv4)
      needed.emplace_back("ports.underlay.address", kUnderlayAddressAnnotation);
    if (config.network.enable_ipv6)
      needed.emplace_back("ports.underlay.ipv6_address", kUnderlayIpv6AddressAnnotation);
    std::string keys, annotations;
    for (size_t i = 0; i < needed.size(); ++i) {
      const char* sep = i == 0 ? "" : i + 1 == needed.size() ? " and " : ", ";
      keys += sep + needed[i].first;
      annotations += sep + needed[i].second;
    }
    return Status::invalid(keys + ": not in " + config.source_name + ", and node '" +
                           config.node.name + "' has no " + annotations +
                           " annotations to give them");
  }
  if (auto problem = check_underlay(config)) {
    return Status::invalid("node '" + config.node.name + "': " + problem->key + ": " +
                           problem->message);
  }
  update_status([&](KubeSourceStatus& s) { s.node_name = config.node.name; });
  return {};
}

Status KubeNodeSource::start(const SourceContext& context) {
  context_.emplace(context);
  context.readiness.set("kube_api", false, "connecting to " + http_->credentials().server);
  context.readiness.set("tables_programmed", false, "waiting for a complete LIST of the Nodes");
  const std::string& own_name = config_.node.name;
  NodeReflector::Callbacks callbacks;
  callbacks.on_list = [this, own_name](std::vector<KubeNode> nodes, const std::string&) {
    const auto delivered = Clock::now();
    std::vector<NodeSpec> specs;
    specs.reserve(nodes.size());
    for (KubeNode& n : nodes) {
      if (n.spec.name == own_name) {
        std::lock_guard lock(own_mu_);
        own_pending_ = n;
      }
      specs.push_back(std::move(n.spec));
    }
    update_status([&](KubeSourceStatus& s) { s.list_delivered_at = delivered; });
    queue_.snapshot(std::move(specs));
  };
  callbacks.on_event = [this, own_name](WatchEventType type, KubeNode node) {
    if (node.spec.name == own_name) {
      if (type == WatchEventType::kDeleted) {
        TARTAN_LOG(WARNING, kControl,
                   "kube: our Node '%s' was deleted; forwarding goes on with our lease",
                   own_name.c_str());
      } else {
        std::lock_guard lock(own_mu_);
        own_pending_ = node;
      }
    }
    if (type == WatchEventType::kDeleted)
      queue_.remove(node.spec.name);
    else
      queue_.upsert(std::move(node.spec));
  };
  Readiness& readiness = context.readiness;
  const std::string server = http_->credentials().server;
  callbacks.on_health = [&readiness, server](bool ok, const std::string& cause) {
    // The reflector logs each failure itself.
    readiness.set("kube_api", ok, ok ? "watching Nodes at " + server : cause);
  };
  reflector_ = std::make_unique<NodeReflector>(*http_, node_decode_options(keys_, own_name),
                                               NodeReflectorOptions::from(config_.lease.kube),
                                               std::move(callbacks));
  thread_ = std::thread([this] { run(); });
  reflector_->start();
  return {};
}

std::string KubeNodeSource::mirror_owner() const {
  return "the Kubernetes API server (lease.source kube): change the Node there (kubectl)";
}

void KubeNodeSource::stop() {
  if (reflector_) reflector_->stop();  // no callback after this
  queue_.close();
  if (http_) http_->shutdown();  // a PATCH in flight returns now
  if (thread_.joinable()) thread_.join();
}

KubeSourceStatus KubeNodeSource::status() const {
  std::lock_guard lock(status_mu_);
  KubeSourceStatus s = status_;
  if (reflector_) s.reflector = reflector_->counters();
  return s;
}

void KubeNodeSource::run() {
  while (true) {
    const auto now = Clock::now();
    const auto wait = retry_at_ == Clock::time_point::max()
                          ? std::chrono::milliseconds(1000)
                          : std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::max(retry_at_ - now, Clock::duration::zero()));
    NodeUpdateQueue::Batch batch = queue_.take(std::min(wait, std::chrono::milliseconds(1000)));
    if (batch.closed) return;
    if (!batch.empty()) {
      const std::string failures = apply_batch(context_->mirror, batch);
      const auto applied = Clock::now();
      if (!failures.empty())
        TARTAN_LOG(WARNING, kControl, "kube: node changes not applied: %s", failures.c_str());
      update_status([&](KubeSourceStatus& s) {
        ++s.batches;
        if (batch.snapshot) s.list_applied_at = applied;
        if (!failures.empty()) {
          ++s.apply_failures;
          s.last_error = failures;
        }
      });
      if (batch.snapshot) set_synced();
    }
    std::optional<KubeNode> fresh;
    {
      std::lock_guard lock(own_mu_);
      fresh.swap(own_pending_);
    }
    if (fresh && written_rv_) {
      if (fresh->resource_version == *written_rv_) {
        // Our write's echo: followed, as it may show another writer's
        // change that came between our PATCHes.
        written_rv_.reset();
        passed_over_.reset();
      } else {
        passed_over_ = std::move(fresh);
        fresh.reset();
      }
    }
    if (written_rv_ && Clock::now() - written_at_ >= kEchoWait) {
      written_rv_.reset();
      fresh = std::move(passed_over_);
      passed_over_.reset();
    }
    if (fresh) {
      own_ = std::move(fresh);
      follow_own(*own_);
    } else if (own_ && Clock::now() >= retry_at_) {
      follow_own(*own_);
    }
  }
}

void KubeNodeSource::set_synced() {
  const size_t nodes = context_->mirror.footprint().nodes;
  if (!first_list_applied_) {
    TARTAN_LOG(NOTICE, kControl, "kube: %zu Nodes in the tables from a complete LIST", nodes);
    first_list_applied_ = true;
  }
  context_->readiness.set("tables_programmed", true,
                          std::to_string(nodes) + " Nodes, synced from a complete LIST");
  update_status([](KubeSourceStatus& s) { s.synced = true; });
}

void KubeNodeSource::follow_own(KubeNode own) {
  retry_at_ = Clock::time_point::max();
  const std::string& name = config_.node.name;
  const NetworkConfig& net = config_.network;
  auto cidrs = own_pod_cidrs(own.spec, net);
  const bool assigned = cidrs && (!net.enable_ipv4 || cidrs->v4) && (!net.enable_ipv6 || cidrs->v6);
  if (!assigned) {
    // Not assigned yet: we stay up, not ready, and say so (flanneld exits
    // and crash-loops: flannel#728).
    // With dual stack, which family's is missing.
    const char* family = !cidrs || !net.enable_ipv4 || !net.enable_ipv6 ? "a "
                         : !cidrs->v4                                   ? "an IPv4 "
                                                                        : "an IPv6 ";
    const std::string why = cidrs ? "waiting for node '" + name + "' to be given " + family +
                                        "podCIDR (spec.podCIDRs, by kube-controller-manager's "
                                        "--allocate-node-cidrs)"
                                  : cidrs.status().message();
    if (!context_->lease.get()) context_->readiness.set("lease_acquired", false, why);
    TARTAN_LOG(WARNING, kControl, "kube: %s", why.c_str());
    return;
  }
  const auto current = context_->lease.get();
  if (!current || current->cidrs() != *cidrs) {
    if (Status s = context_->lease.set(*cidrs, LeaseSource::kKube); !s.ok()) {
      TARTAN_LOG(ERR, kControl, "kube: our lease %s: %s", cidrs->str().c_str(),
                 s.message().c_str());
      retry_at_ = Clock::now() + patch_backoff_.next();
      return;
    }
    TARTAN_LOG(NOTICE, kControl, "kube: our podCIDR is %s (node '%s')", cidrs->str().c_str(),
               name.c_str());
    update_status([&](KubeSourceStatus& s) { s.pod_cidr = cidrs->v4; });
  }
  if (publish(own)) {
    patch_backoff_.reset();
  } else {
    retry_at_ = Clock::now() + patch_backoff_.next();
  }
}

bool KubeNodeSource::publish(KubeNode own) {
  const std::string& name = config_.node.name;
  auto info = read_flannel_node(own.spec, keys_);
  if (!info) {
    TARTAN_LOG(WARNING, kControl, "kube: node '%s': %s (read as unset)", name.c_str(),
               info.status().message().c_str());
  }
  const DataplaneConfig& dp = config_.engine.dataplane;
  const auto wanted = wanted_annotations(keys_, info ? *info : FlannelNodeInfo{}, dp.backend,
                                         dp.vni, context_->vtep_mac, own_public_ip(config_),
                                         own_public_ipv6(config_), own_wireguard(config_));
  const auto patch_status = [&](const std::string& body, const char* what) {
    auto r = http_->request("PATCH", node_path(name) + "/status", body, kStrategicMerge);
    if (r && r->ok()) {
      // The answer is our Node as it is now: follow it rather than the
      // older one the watch may still be bringing.
      if (auto node = decode_node(r->body, node_decode_options(keys_, name))) {
        written_rv_ = node->resource_version;
        written_at_ = Clock::now();
        own = *node;
        own_ = std::move(node).value();
      }
      return true;
    }
    // Canceled: we are stopping, and there is nothing to retry.
    if (!r && r.status().code() == ErrorCode::kAborted) return false;
    const std::string why = r ? r->error() : r.status().message();
    TARTAN_LOG(WARNING, kControl, "kube: PATCH node '%s' %s: %s (retrying)", name.c_str(), what,
               why.c_str());
    update_status([&](KubeSourceStatus& s) {
      ++s.patch_failures;
      s.last_error = why;
    });
    return false;
  };
  if (auto body = annotation_patch(own.spec, wanted)) {
    const bool restoring = own.spec.annotations.count(keys_.kube_subnet_manager) != 0;
    if (!patch_status(*body, "annotations")) return false;
    TARTAN_LOG(NOTICE, kControl, "kube: %s our annotations on node '%s': %s",
               restoring ? "restored" : "published", name.c_str(), body->c_str());
    update_status([](KubeSourceStatus& s) { ++s.annotation_patches; });
  }
  if (config_.lease.kube.set_node_network_unavailable) {
    if (auto body =
            network_condition_patch(own.network_unavailable, std::chrono::system_clock::now())) {
      if (!patch_status(*body, "NetworkUnavailable")) return false;
      TARTAN_LOG(INFO, kControl, "kube: node '%s': NetworkUnavailable=False (%s)", name.c_str(),
                 kNetworkUpReason);
      update_status([](KubeSourceStatus& s) { ++s.condition_patches; });
    }
  }
  return true;
}

}  // namespace tartan
