// Where this node's lease and the other nodes come from (lease.source):
// static, grpc, etcd or kube, each behind this interface so the daemon
// builds one from the config and knows nothing of how it works.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "control/cluster/local_lease.h"
#include "control/cluster/node_mirror.h"
#include "control/cluster/readiness.h"
#include "control/config/config.h"
#include "engine/net_types.h"
#include "engine/status.h"

namespace tartan {

// What a source feeds once the engine runs.
struct SourceContext {
  NodeMirror& mirror;
  LocalLease& lease;
  Readiness& readiness;
  MacAddr vtep_mac;  // ours, as the engine runs with it
};

class NodeSource {
 public:
  virtual ~NodeSource() = default;

  // Readiness conditions the source owns, reported false until it sets
  // them. Every source owns "tables_programmed": only it knows when the
  // mirror holds the whole cluster.
  virtual std::vector<std::string> readiness_conditions() const = 0;

  // Runs before any port is touched and may settle what the engine is
  // built with (etcd: the network in <prefix>/config; kube: the VtepMAC
  // our Node already announces). An error stops tartand with nothing
  // started.
  virtual Status prepare(Config& config) {
    (void)config;
    return {};
  }

  // Starts feeding the mirror and the local lease. Returns once the
  // source's start-up is done (what it waits for is its own); keeps them
  // current on its own threads until stop().
  virtual Status start(const SourceContext& context) = 0;

  // No mirror or lease change after this; the tables stay. Idempotent.
  virtual void stop() = 0;

  // Who owns the node mirror when the API does not ("" when it does): a
  // source that mirrors a store of record would undo, or silently lose,
  // what ApplyNode and DeleteNode changed, so the API refuses them naming
  // this.
  virtual std::string mirror_owner() const { return ""; }
};

// The source lease.source names. `config` must outlive it.
std::unique_ptr<NodeSource> make_node_source(const Config& config);

}  // namespace tartan
