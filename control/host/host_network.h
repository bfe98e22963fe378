// The host kernel's side of the overlay tap, programmed as flanneld
// programs flannel.<VNI> (pkg/backend/vxlan/vxlan_network.go): the tap gets
// our podCIDR's network address as a /32 and the overlay MTU, and each
// remote podCIDR a permanent neighbour (its network address -> the remote
// VtepMAC) and the route "<podCIDR> via <podCIDR network> dev <tap> onlink".
// Routes carry tartan's own protocol number so a restarted tartand finds
// the ones it left behind and reconciles instead of duplicating.
//
// Dual stack: the same tap carries the IPv6 pods' traffic, so it gets what
// flanneld gives flannel-v6.<VNI> too: our IPv6 podCIDR's network address
// as a /128, and per remote IPv6 podCIDR its neighbour and onlink route.
// Each family's methods are the same code (templates in the .cc).
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
  Status set_local(const Ipv6Prefix& pod_cidr, uint16_t mtu);  // a /128, as flannel-v6's

  // Neighbour and onlink route for a remote podCIDR (replacing what was there).
  Status add_route(const Ipv4Prefix& pod_cidr, const MacAddr& next_hop_mac);
  Status add_route(const Ipv6Prefix& pod_cidr, const MacAddr& next_hop_mac);
  Status remove_route(const Ipv4Prefix& pod_cidr);
  Status remove_route(const Ipv6Prefix& pod_cidr);

  // Deletes routes with tartan's protocol on the tap that are not in
  // `wanted` (left by a tartand that was killed), with their neighbours.
  Status reconcile(const std::map<Ipv4Prefix, MacAddr>& wanted,
                   const std::map<Ipv6Prefix, MacAddr>& wanted6 = {});

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
  // One family's state: our address on the tap and the routes we program,
  // including what failed (the tap may be gone for a moment): reattach()
  // programs all of it again.
  template <class Prefix>
  struct Programmed {
    std::optional<Prefix> local;
    std::map<Prefix, MacAddr> routes;
  };
  template <class Prefix>
  Programmed<Prefix>& programmed();
  template <class Prefix>
  Status set_local_address(const Prefix& pod_cidr, uint16_t mtu);
  template <class Prefix>
  Status add_route_locked(const Prefix& pod_cidr, const MacAddr& next_hop_mac);
  template <class Prefix>
  Status delete_route(const Prefix& pod_cidr);
  template <class Prefix>
  Status reconcile_family(const std::map<Prefix, MacAddr>& wanted);
  template <class Prefix>
  Status reprogram(const Programmed<Prefix>& saved, uint16_t mtu);

  mutable std::mutex mu_;
  nl_sock* sock_ = nullptr;
  std::string ifname_;
  int ifindex_ = 0;
  MacAddr mac_;
  uint16_t mtu_ = 0;  // 0 until set_local()
  Programmed<Ipv4Prefix> v4_;
  Programmed<Ipv6Prefix> v6_;
};

}  // namespace tartan
