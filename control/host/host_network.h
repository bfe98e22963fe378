// The host kernel's side of the overlay tap, programmed as flanneld
// programs flannel.<VNI> (pkg/backend/vxlan/vxlan_network.go): the tap gets
// our podCIDR's network address as a /32 and the overlay MTU, and each
// remote podCIDR a permanent neighbour (its network address -> the remote
// VtepMAC) and the route "<podCIDR> via <podCIDR network> dev <tap> onlink".
// Routes carry tartan's own protocol number so a restarted tartand finds
// the ones it left behind and reconciles instead of duplicating.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "engine/net_types.h"
#include "engine/status.h"

struct nl_sock;

namespace tartan {

// "proto 116" in `ip route`: routes tartan programmed.
inline constexpr uint8_t kTartanRouteProtocol = 116;

class HostNetwork {
 public:
  // Opens a netlink socket in the current network namespace for the tap
  // named `ifname`, whose MAC is `mac` (tartan makes it the VtepMAC, as
  // flannel.<VNI> has: tools read it there).
  static Result<std::unique_ptr<HostNetwork>> open(const std::string& ifname, const MacAddr& mac);
  ~HostNetwork();  // removes every route and neighbour it added
  HostNetwork(const HostNetwork&) = delete;
  HostNetwork& operator=(const HostNetwork&) = delete;

  // Link up, MTU, and our podCIDR's network address as a /32 (flannel.1's
  // address); an address of an earlier lease is removed.
  Status set_local(const Ipv4Prefix& pod_cidr, uint16_t mtu);

  // Neighbour and onlink route for a remote podCIDR (replacing what was there).
  Status add_route(const Ipv4Prefix& pod_cidr, const MacAddr& next_hop_mac);
  Status remove_route(const Ipv4Prefix& pod_cidr);

  // Deletes routes with tartan's protocol on the tap that are not in
  // `wanted` (left by a tartand that was killed), with their neighbours.
  Status reconcile(const std::map<Ipv4Prefix, MacAddr>& wanted);

  // The tap was deleted and created again (TapWatchdog): finds it by name
  // and gives it again our address, MTU, neighbours and routes.
  Status reattach();

  // What flannel.<VNI> keeps and a tap lets anyone change: its MTU (the
  // kernel's vxlan device refuses one above the underlay's minus the
  // overhead) and its MAC. Puts back either where it was changed from
  // outside; returns what it put back, "" when nothing.
  Result<std::string> restore_link();

  const std::string& ifname() const { return ifname_; }
  int ifindex() const;

 private:
  HostNetwork() = default;
  Status delete_route(const Ipv4Prefix& pod_cidr);

  mutable std::mutex mu_;
  nl_sock* sock_ = nullptr;
  std::string ifname_;
  int ifindex_ = 0;
  MacAddr mac_;
  std::optional<Ipv4Prefix> local_;
  uint16_t mtu_ = 0;  // 0 until set_local()
  // What we program, including what failed (the tap may be gone for a
  // moment): reattach() programs all of it again.
  std::map<Ipv4Prefix, MacAddr> routes_;
};

}  // namespace tartan
