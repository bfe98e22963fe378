// This node's lease: its podCIDR, programmed into the engine (through the
// mirror, which checks it against every node's) and written to subnet.env.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "control/cluster/node_mirror.h"
#include "control/cluster/readiness.h"
#include "control/config/config.h"
#include "engine/status.h"

namespace tartan {

struct LocalLeaseState {
  std::optional<Ipv4Prefix> pod_cidr;     // with network.EnableIPv4
  std::optional<Ipv6Prefix> pod_cidr_v6;  // with network.EnableIPv6
  LeaseSource source = LeaseSource::kStatic;
  PodCidrs cidrs() const { return {pod_cidr, pod_cidr_v6}; }
};

// What we advertise to peers (annotations, the API): with IPv4 on, our
// public IP, the underlay's address; with IPv6 on, the underlay's IPv6
// address and flannel-v6's VTEP MAC (dataplane.vtep_mac_v6, settled by
// the daemon before any source starts).
std::optional<Ipv4Addr> own_public_ip(const Config& config);
std::optional<OwnIpv6> own_public_ipv6(const Config& config);
// The wireguard backend's: our PublicKey with ListenPort and ListenPortV6;
// nullopt for other backends.
std::optional<OwnWireguard> own_wireguard(const Config& config);

class LocalLease {
 public:
  LocalLease(const Config& config, NodeMirror& mirror, Readiness& readiness)
      : config_(config), mirror_(mirror), readiness_(readiness) {}

  // All or nothing: if subnet.env cannot be written the previous lease
  // stays in the engine and the error names the file. A podCIDR for each
  // family the network enables and none other: INVALID_ARGUMENT naming
  // pod_cidr or pod_cidr_v6 otherwise (outside Network / IPv6Network, or,
  // except for Kubernetes' podCIDRs, not of SubnetLen / IPv6SubnetLen).
  Status set(const PodCidrs& cidrs, LeaseSource source);
  std::optional<LocalLeaseState> get() const;
  // Gives the lease up (etcd: our key vanished): the engine stops
  // delivering to the podCIDR and readiness says why. subnet.env stays, as
  // flanneld leaves it, so the same subnet is asked for again.
  void clear(const std::string& reason);

  // Called after each lease change took effect (the host side of the
  // overlay follows it).
  void set_hook(std::function<void(const PodCidrs&)> hook) { hook_ = std::move(hook); }

 private:
  const Config& config_;
  NodeMirror& mirror_;
  Readiness& readiness_;
  mutable std::mutex mu_;
  std::optional<LocalLeaseState> state_;
  std::function<void(const PodCidrs&)> hook_;
};

}  // namespace tartan
