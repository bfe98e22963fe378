// This node's lease: its podCIDR, programmed into the engine (through the
// mirror, which checks it against every node's) and written to subnet.env.
#pragma once

#include <functional>
#include <mutex>
#include <optional>

#include "control/cluster/node_mirror.h"
#include "control/cluster/readiness.h"
#include "control/config/config.h"
#include "engine/status.h"

namespace tartan {

struct LocalLeaseState {
  Ipv4Prefix pod_cidr;
  LeaseSource source = LeaseSource::kStatic;
};

class LocalLease {
 public:
  LocalLease(const Config& config, NodeMirror& mirror, Readiness& readiness)
      : config_(config), mirror_(mirror), readiness_(readiness) {}

  // All or nothing: if subnet.env cannot be written the previous lease
  // stays in the engine and the error names the file.
  Status set(const Ipv4Prefix& pod_cidr, LeaseSource source);
  std::optional<LocalLeaseState> get() const;
  // Gives the lease up (etcd: our key vanished): the engine stops
  // delivering to the podCIDR and readiness says why. subnet.env stays, as
  // flanneld leaves it, so the same subnet is asked for again.
  void clear(const std::string& reason);

  // Called after each lease change took effect (the host side of the
  // overlay follows it).
  void set_hook(std::function<void(const Ipv4Prefix&)> hook) { hook_ = std::move(hook); }

 private:
  const Config& config_;
  NodeMirror& mirror_;
  Readiness& readiness_;
  mutable std::mutex mu_;
  std::optional<LocalLeaseState> state_;
  std::function<void(const Ipv4Prefix&)> hook_;
};

}  // namespace tartan
