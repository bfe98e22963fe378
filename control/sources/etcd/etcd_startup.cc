#include "control/sources/etcd/etcd_startup.h"

#include <thread>

#include "control/config/config_loader.h"
#include "control/config/netconf_json.h"
#include "control/config/underlay_check.h"
#include "control/sources/backoff.h"
#include "control/sources/etcd/etcd_netconf.h"
#include "engine/log.h"

namespace tartan {
namespace {

// etcd's config as this node will run it, or why not.
Result<NetworkConfig> network_from(const std::string& key, const std::string& json,
                                   const Config& config) {
  auto raw = parse_netconf_json(json);
  if (!raw) return Status(ErrorCode::kInvalidArgument, key + ": " + raw.status().message());
  std::string bad_key;
  auto finished = finish_network_config(*raw, &bad_key);
  if (!finished) {
    return Status(ErrorCode::kInvalidArgument,
                  key + ": " + bad_key + ": " + finished.status().message());
  }
  // Without a network of our own, etcd's is ours whole, backend included.
  const NetworkConfig& ours = config.network_from_etcd ? *finished : config.network;
  auto adopted = adopt_etcd_network(ours, *finished, config.engine.dataplane.underlay_mtu, key);
  if (!adopted) return adopted.status();
  // The underlay against the network, now that it is known: the addresses
  // its families need, no overlap, and an MTU IPv6 can use.
  Config settled = config;
  settled.network = *adopted;
  settled.network_from_etcd = false;
  derive_from_network(settled);
  if (auto problem = check_underlay(settled)) {
    const auto netconf = netconf_key(*problem);
    const std::string what =
        netconf ? *netconf + " " + problem->message : problem->key + ": " + problem->message;
    return Status(ErrorCode::kFailedPrecondition, key + ": " + what);
  }
  return adopted;
}

}  // namespace

Result<std::unique_ptr<EtcdClient>> connect_etcd(Config& config) {
  const EtcdConfig& ec = config.lease.etcd;
  auto client = EtcdClient::create(ec);
  if (!client) return client.status();
  const std::string key = ec.prefix + "/config";
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(ec.startup_timeout_s);
  Backoff backoff{std::chrono::milliseconds(ec.retry_initial_ms),
                  std::chrono::milliseconds(ec.retry_max_ms)};
  while (true) {
    auto got = (*client)->get(key);
    if (got && got->kvs.empty() && config.network_from_etcd) {
      // flanneld's "Couldn't find network config", retried until it is written.
      got = Status(ErrorCode::kUnavailable,
                   key + " is not in etcd: with no network (or network_file) in " +
                       config.source_name +
                       ", it is the network config, as for flanneld (etcdctl put " + key +
                       " '{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}')");
    }
    if (got) {
      if (got->kvs.empty()) {
        TARTAN_LOG(NOTICE, kControl,
                   "etcd: no %s: running with the network of %s (flanneld nodes on this prefix "
                   "need %s written)",
                   key.c_str(), config.source_name.c_str(), key.c_str());
        return client;
      }
      auto net = network_from(key, got->kvs[0].value, config);
      if (!net) return net.status();
      if (config.network_from_etcd) {
        TARTAN_LOG(NOTICE, kControl,
                   "etcd: network config from %s: Network %s, SubnetLen %u, %s backend",
                   key.c_str(), net->network.str().c_str(), unsigned{net->subnet_len},
                   backend_type_name(net->backend.type));
      } else if (net->network != config.network.network ||
                 net->subnet_len != config.network.subnet_len ||
                 net->subnet_min != config.network.subnet_min ||
                 net->subnet_max != config.network.subnet_max) {
        TARTAN_LOG(NOTICE, kControl,
                   "etcd: %s sets Network %s, SubnetLen %u, SubnetMin %s, SubnetMax %s; they "
                   "replace network.* of %s, as in flanneld",
                   key.c_str(), net->network.str().c_str(), unsigned{net->subnet_len},
                   net->subnet_min.str().c_str(), net->subnet_max.str().c_str(),
                   config.source_name.c_str());
      }
      config.network = *net;
      if (config.network_from_etcd) derive_from_network(config);
      return client;
    }
    if (got.status().code() != ErrorCode::kUnavailable ||
        std::chrono::steady_clock::now() >= deadline) {
      return Status(
          got.status().code(),
          got.status().message() + (got.status().code() == ErrorCode::kUnavailable
                                        ? " (gave up after lease.etcd.startup_timeout_s " +
                                              std::to_string(ec.startup_timeout_s) + ")"
                                        : ""));
    }
    const auto wait = backoff.next();
    TARTAN_LOG(WARNING, kControl, "etcd: %s; retrying in %lld ms", got.status().message().c_str(),
               static_cast<long long>(wait.count()));
    std::this_thread::sleep_for(wait);
  }
}

}  // namespace tartan
