#include "control/cluster/local_lease.h"

#include "control/host/subnet_file.h"
#include "engine/log.h"

namespace tartan {

Status LocalLease::set(const Ipv4Prefix& pod_cidr, LeaseSource source) {
  const NetworkConfig& net = config_.network;
  if (!net.network.contains(pod_cidr)) {
    return Status::invalid("pod_cidr: " + pod_cidr.str() + " is outside network.Network " +
                           net.network.str());
  }
  // Kubernetes assigns podCIDRs of its own length (kube-controller-manager's
  // --node-cidr-mask-size): flanneld does not check SubnetLen then.
  if (source != LeaseSource::kKube && pod_cidr.len != net.subnet_len) {
    return Status::invalid("pod_cidr: " + pod_cidr.str() + " is not a /" +
                           std::to_string(net.subnet_len) + " (network.SubnetLen)");
  }
  std::lock_guard lock(mu_);
  const std::optional<Ipv4Prefix> previous =
      state_ ? std::optional(state_->pod_cidr) : std::nullopt;
  if (Status s = mirror_.set_local_subnet(pod_cidr); !s.ok()) return s;
  const SubnetFile file{net.network, pod_cidr, config_.engine.dataplane.overlay_mtu(),
                        config_.ip_masq};
  if (Status s = write_subnet_file(config_.subnet_file, file); !s.ok()) {
    (void)mirror_.set_local_subnet(previous);
    readiness_.set("subnet_env_written", false, s.message());
    return s;
  }
  state_ = LocalLeaseState{pod_cidr, source};
  TARTAN_LOG(INFO, kControl, "lease set: this node (%s) has podCIDR %s (from %s)",
             config_.node.name.c_str(), pod_cidr.str().c_str(), lease_source_name(source));
  readiness_.set("lease_acquired", true,
                 std::string(lease_source_name(source)) + " " + pod_cidr.str());
  readiness_.set("subnet_env_written", true, config_.subnet_file);
  if (hook_) hook_(pod_cidr);
  return {};
}

void LocalLease::clear(const std::string& reason) {
  std::lock_guard lock(mu_);
  (void)mirror_.set_local_subnet(std::nullopt);  // removing cannot overlap anything
  if (state_) {
    TARTAN_LOG(INFO, kControl, "lease cleared: this node (%s) gives up podCIDR %s (%s)",
               config_.node.name.c_str(), state_->pod_cidr.str().c_str(), reason.c_str());
  }
  state_.reset();
  readiness_.set("lease_acquired", false, reason);
}

std::optional<LocalLeaseState> LocalLease::get() const {
  std::lock_guard lock(mu_);
  return state_;
}

}  // namespace tartan
