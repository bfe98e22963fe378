// lease.source kube: flanneld's kube subnet manager (--kube-subnet-mgr).
// The Kubernetes API is the store: our podCIDR is our Node's
// spec.podCIDRs, every other node comes from the Node objects, and our
// flannel annotations are published on our Node for the other nodes
// (kernel flanneld or tartan) to route to us.
//
// prepare(): credentials, our node name, and our Node read once before any
// port is touched (per-node underlay settings, the VtepMAC it already
// announces). start(): a NodeReflector lists and watches all Nodes; its
// changes go through a per-node coalescing queue to one thread that applies
// them to the mirror, follows our own Node (lease, annotations put back,
// NetworkUnavailable) and retries what failed, so the watch never waits
// for the engine or for a PATCH.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "control/cluster/node_update_queue.h"
#include "control/sources/backoff.h"
#include "control/sources/kube/kube_http.h"
#include "control/sources/kube/node_reflector.h"
#include "control/sources/node_source.h"

namespace tartan {

// What the source has done, for tests, benchmarks and logs.
struct KubeSourceStatus {
  std::string node_name;
  bool synced = false;                 // a complete LIST is in the mirror
  std::optional<Ipv4Prefix> pod_cidr;  // ours, once assigned
  uint64_t annotation_patches = 0;     // PATCHes that (re)published our annotations
  uint64_t condition_patches = 0;      // PATCHes of NetworkUnavailable
  uint64_t patch_failures = 0;
  uint64_t batches = 0;         // coalesced batches applied to the mirror
  uint64_t apply_failures = 0;  // node changes the mirror refused
  // The last complete LIST: when the reflector handed it over (its on_list)
  // and when the mirror had applied it, every route in the engine. Their
  // difference is what a sync costs tartan once the API server answered.
  std::optional<std::chrono::steady_clock::time_point> list_delivered_at;
  std::optional<std::chrono::steady_clock::time_point> list_applied_at;
  std::string last_error;
  NodeReflectorCounters reflector;
};

class KubeNodeSource final : public NodeSource {
 public:
  explicit KubeNodeSource(const Config& config);
  ~KubeNodeSource() override;
  std::vector<std::string> readiness_conditions() const override;
  Status prepare(Config& config) override;
  Status start(const SourceContext& context) override;
  void stop() override;
  std::string mirror_owner() const override;

  KubeSourceStatus status() const;

 private:
  using Clock = std::chrono::steady_clock;
  void run();
  // Our own Node as the watch last showed it: lease, annotations, condition.
  void follow_own(KubeNode own);
  // Publishes what our Node lacks; false when a PATCH failed (retried later).
  bool publish(KubeNode own);
  void set_synced();
  template <class F>
  void update_status(F&& f) {
    std::lock_guard lock(status_mu_);
    f(status_);
  }

  const Config& config_;
  AnnotationKeys keys_;
  std::unique_ptr<KubeHttp> http_;
  std::optional<SourceContext> context_;  // from start()
  std::unique_ptr<NodeReflector> reflector_;
  NodeUpdateQueue queue_;
  std::thread thread_;

  // Our Node, handed from the reflector's thread to the source's.
  std::mutex own_mu_;
  std::optional<KubeNode> own_pending_;

  // The source's thread only.
  std::optional<KubeNode> own_;  // as last seen
  // The resourceVersion our last PATCH answered with. Watch events for our
  // Node that come before its echo show the Node from before that write:
  // acting on them would PATCH again what is already there. They are
  // passed over (the last kept) until the echo, or for kEchoWait should the
  // echo never come (a relist in between, or a later event in its place).
  std::optional<std::string> written_rv_;
  Clock::time_point written_at_;
  std::optional<KubeNode> passed_over_;
  Clock::time_point retry_at_ = Clock::time_point::max();  // a failed PATCH, again
  Backoff patch_backoff_;
  bool first_list_applied_ = false;

  mutable std::mutex status_mu_;
  KubeSourceStatus status_;
};

}  // namespace tartan
