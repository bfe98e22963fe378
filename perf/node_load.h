// Drives Node changes into a running tartand through its gRPC API (the
// Nodes service, as a Kubernetes watch or tartanctl would): tartan-perf's
// remote nodes applied in bulk, and route churn at a fixed rate, for the
// perf suite's table-size and table-churn runs.
#pragma once

#include <cstdint>
#include <string>

#include "engine/engine_config.h"
#include "perf/options.h"
#include "tartan/v1/node.pb.h"

namespace tartan::perf {

struct NodeLoadOptions {
  std::string socket = "/run/tartan/tartan.sock";
  uint32_t first = 0;  // remote node indexes first .. first + nodes - 1
  uint32_t nodes = 1;
  double churn_rate = 0;     // changes/s; 0: apply the nodes once, as fast as tartand takes them
  double duration_s = 5;     // of churn
  unsigned concurrency = 4;  // RPCs in flight
  uint32_t batch = 0;        // nodes (churn: changes) per ApplyNodes call; 0: one ApplyNode each
  BackendType backend = BackendType::kVxlan;
  bool dual_stack = false;  // IPv6 podCIDR and public IPv6 too, routed for both families
  TrafficOptions
      scheme;  // --pod-network(6), --subnet-len(6), --vtep-base(6), --vni: as tartan-perf's
  std::string json_path;
};

// Remote node k as flanneld annotates it: name "remote-<k>", podCIDR, VNI
// and VtepMAC from tartan-perf's scheme (flows.h). Its public IP is node k's
// VTEP, or with `moved` the same address one /8 further on (172.16.0.2 ->
// 173.16.0.2): a churn change moves a node between the two. Dual-stack, it
// has node k's IPv6 podCIDR, public IPv6 and flannel-v6 VtepMAC as well
// (which churn leaves alone).
v1::Node remote_node(const NodeLoadOptions& o, uint32_t k, bool moved);

struct NodeLoadResult {
  uint64_t requested = 0, applied = 0, failed = 0;
  double seconds = 0;     // from the first request to the last answer
  double rate_per_s = 0;  // applied / seconds
  double lag_max_ms = 0;  // churn: how far the latest request started behind its schedule
  double latency_p50_ms = 0, latency_p99_ms = 0, latency_max_ms = 0;  // per RPC
  std::string first_error;  // the first failed RPC's status, "" when none failed
};

// Applies nodes first .. first + nodes - 1, `concurrency` RPCs at a time
// (ApplyNode, or ApplyNodes of `batch` nodes). A change counts as applied
// when tartand answers that the node is routed.
NodeLoadResult apply_nodes(const NodeLoadOptions& o);
// For `duration_s`, applies one change every 1 / churn_rate seconds (spread
// over `concurrency` senders, each on its schedule), or with `batch` an
// ApplyNodes of `batch` changes every batch / churn_rate seconds: change i
// moves node first + i % nodes to its other public IP.
NodeLoadResult churn_nodes(const NodeLoadOptions& o);

std::string node_load_json(const NodeLoadOptions& o, const NodeLoadResult& r);

}  // namespace tartan::perf
