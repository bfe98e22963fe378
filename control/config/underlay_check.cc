#include "control/config/underlay_check.h"

namespace tartan {

bool underlay_known(const Config& c) {
  return !c.engine.ports.empty() && !c.engine.ports[0].device.empty() &&
         c.engine.underlay.address.len != 0;
}

std::optional<ConfigProblem> check_underlay(const Config& c) {
  if (c.engine.underlay.address.len == 0) return std::nullopt;
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
  return std::nullopt;
}

}  // namespace tartan
