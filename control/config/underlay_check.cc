#include "control/config/underlay_check.h"

namespace tartan {

namespace {

// With EnableIPv6 the underlay needs an IPv6 address (flannel-v6's tunnels
// start and end there); its gateway lies on its prefix; IPv6Network does
// not overlap it.
std::optional<ConfigProblem> check_underlay_v6(const Config& c) {
  const auto& address = c.engine.underlay.ipv6_address;
  if (const auto& gw = c.engine.underlay.ipv6_gateway; gw && !address) {
    return ConfigProblem{"ports.underlay.ipv6_gateway", "needs ports.underlay.ipv6_address"};
  }
  if (!address) {
    // With lease.source kube our Node's annotations may give it: the
    // source checks again once they are read (underlay_known).
    if (c.network.enable_ipv6 && !c.network_from_etcd && c.lease.source != LeaseSource::kKube) {
      return ConfigProblem{"ports.underlay.ipv6_address",
                           "required with network.EnableIPv6 (our underlay IPv6 address and its "
                           "prefix, e.g. 2001:db8::10/64)"};
    }
    return std::nullopt;
  }
  const Ipv6Prefix subnet = address->network();
  if (const auto& gw = c.engine.underlay.ipv6_gateway; gw && !address->contains(*gw)) {
    return ConfigProblem{"ports.underlay.ipv6_gateway",
                         gw->str() + " is not inside the underlay's IPv6 subnet " + subnet.str()};
  }
  if (c.network.enable_ipv6 && c.network.ipv6_network && c.network.ipv6_network->overlaps(subnet)) {
    return ConfigProblem{"network.IPv6Network",
                         c.network.ipv6_network->str() + " overlaps the underlay's IPv6 subnet " +
                             subnet.str() + " (ports.underlay.ipv6_address)"};
  }
  return std::nullopt;
}

}  // namespace

bool underlay_known(const Config& c) {
  return !c.engine.ports.empty() && !c.engine.ports[0].device.empty() &&
         c.engine.underlay.address.len != 0 &&
         (!c.network.enable_ipv6 || c.engine.underlay.ipv6_address);
}

std::optional<ConfigProblem> check_underlay(const Config& c) {
  if (c.engine.underlay.address.len == 0) return check_underlay_v6(c);
  const Ipv4Prefix& address = c.engine.underlay.address;
  const Ipv4Prefix subnet = address.network();
  if (address.len > 31)
    return ConfigProblem{"ports.underlay.address", "prefix length must be 1..31"};
  if (const auto& gw = c.engine.underlay.gateway; gw && !address.contains(*gw)) {
    return ConfigProblem{"ports.underlay.gateway",
                         gw->str() + " is not inside the underlay subnet " + subnet.str()};
  }
  const auto& neighbours = c.engine.dataplane.static_neighbours;
  for (size_t i = 0; i < neighbours.size(); ++i) {
    if (!address.contains(neighbours[i].ip)) {
      return ConfigProblem{
          "dataplane.static_neighbours[" + std::to_string(i) + "].ip",
          neighbours[i].ip.str() + " is not on the underlay subnet " + subnet.str()};
    }
  }
  if (!c.network_from_etcd && c.network.enable_ipv4 && c.network.network.overlaps(subnet)) {
    return ConfigProblem{"network.Network", c.network.network.str() +
                                                " overlaps the underlay subnet " + subnet.str() +
                                                " (ports.underlay.address)"};
  }
  return check_underlay_v6(c);
}

}  // namespace tartan
