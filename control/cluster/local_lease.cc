#include "control/cluster/local_lease.h"

#include "control/config/netconf.h"
#include "control/config/pod_mtu.h"
#include "control/host/subnet_file.h"
#include "engine/log.h"

namespace tartan {

std::optional<Ipv4Addr> own_public_ip(const Config& config) {
  const auto& address = config.engine.underlay.address;
  if (!config.network.enable_ipv4 || !address) return std::nullopt;
  return address->addr;
}

std::optional<OwnIpv6> own_public_ipv6(const Config& config) {
  const auto& address = config.engine.underlay.ipv6_address;
  if (!config.network.enable_ipv6 || !address) return std::nullopt;
  return OwnIpv6{address->addr, config.engine.dataplane.vtep_mac_v6};
}

std::optional<OwnWireguard> own_wireguard(const Config& config) {
  const WireguardBackendConfig& wg = config.network.backend.wireguard;
  if (!wg.public_key) return std::nullopt;
  return OwnWireguard{*wg.public_key, wg.listen_port, wg.listen_port_v6};
}

namespace {

// Each family the network enables has its podCIDR, inside its network.
Status check_cidrs(const NetworkConfig& net, const PodCidrs& cidrs, LeaseSource source) {
  // Kubernetes assigns podCIDRs of its own length (kube-controller-manager's
  // --node-cidr-mask-size): flanneld does not check SubnetLen then.
  const bool check_length = source != LeaseSource::kKube;
  if (net.enable_ipv4 && !cidrs.v4)
    return Status::invalid("pod_cidr: required (network.EnableIPv4)");
  if (!net.enable_ipv4 && cidrs.v4)
    return Status::invalid("pod_cidr: " + cidrs.v4->str() + ": network.EnableIPv4 is false");
  if (net.enable_ipv6 && !cidrs.v6)
    return Status::invalid("pod_cidr_v6: required (network.EnableIPv6)");
  if (!net.enable_ipv6 && cidrs.v6)
    return Status::invalid("pod_cidr_v6: " + cidrs.v6->str() + ": network.EnableIPv6 is false");
  if (cidrs.v4) {
    if (!net.network.contains(*cidrs.v4)) {
      return Status::invalid("pod_cidr: " + cidrs.v4->str() + " is outside network.Network " +
                             net.network.str());
    }
    if (check_length && cidrs.v4->len != net.subnet_len) {
      return Status::invalid("pod_cidr: " + cidrs.v4->str() + " is not a /" +
                             std::to_string(net.subnet_len) + " (network.SubnetLen)");
    }
  }
  if (cidrs.v6) {
    if (Status s = check_pod_cidr_v6(net, *cidrs.v6, check_length); !s.ok())
      return Status::invalid("pod_cidr_v6: " + s.message());
  }
  return {};
}

}  // namespace

Status LocalLease::set(const PodCidrs& cidrs, LeaseSource source) {
  const NetworkConfig& net = config_.network;
  if (Status s = check_cidrs(net, cidrs, source); !s.ok()) return s;
  std::lock_guard lock(mu_);
  const PodCidrs previous = state_ ? state_->cidrs() : PodCidrs{};
  if (Status s = mirror_.set_local_subnets(cidrs); !s.ok()) return s;
  SubnetFile file;
  if (cidrs.v4) file.ipv4 = SubnetFileFamily<Ipv4Prefix>{net.network, *cidrs.v4};
  if (cidrs.v6) file.ipv6 = SubnetFileFamily<Ipv6Prefix>{*net.ipv6_network, *cidrs.v6};
  file.mtu = pod_mtu(net, config_.engine.dataplane);
  file.ip_masq = config_.ip_masq;
  if (Status s = write_subnet_file(config_.subnet_file, file); !s.ok()) {
    (void)mirror_.set_local_subnets(previous);
    readiness_.set("subnet_env_written", false, s.message());
    return s;
  }
  state_ = LocalLeaseState{cidrs.v4, cidrs.v6, source};
  TARTAN_LOG(INFO, kControl, "lease set: this node (%s) has podCIDR %s (from %s)",
             config_.node.name.c_str(), cidrs.str().c_str(), lease_source_name(source));
  readiness_.set("lease_acquired", true,
                 std::string(lease_source_name(source)) + " " + cidrs.str());
  readiness_.set("subnet_env_written", true, config_.subnet_file);
  if (hook_) hook_(cidrs);
  return {};
}

void LocalLease::clear(const std::string& reason) {
  std::lock_guard lock(mu_);
  (void)mirror_.set_local_subnets({});  // removing cannot overlap anything
  if (state_) {
    TARTAN_LOG(INFO, kControl, "lease cleared: this node (%s) gives up podCIDR %s (%s)",
               config_.node.name.c_str(), state_->cidrs().str().c_str(), reason.c_str());
  }
  state_.reset();
  readiness_.set("lease_acquired", false, reason);
}

std::optional<LocalLeaseState> LocalLease::get() const {
  std::lock_guard lock(mu_);
  return state_;
}

}  // namespace tartan
