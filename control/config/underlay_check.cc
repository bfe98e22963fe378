#include "control/config/underlay_check.h"

#include <string_view>

#include "engine/path/icmp6.h"

namespace tartan {

namespace {

// Whether the network's families are known and the config alone must give
// the underlay's addresses for them: not with lease.source kube (our Node's
// annotations may give them; the source checks again once they are read,
// underlay_known) nor before etcd's network config is read.
bool addresses_required(const Config& c) {
  return !c.network_from_etcd && c.lease.source != LeaseSource::kKube;
}

// An underlay address (`key`) that is not there: fine unless the config
// alone must give it and the network enables its family (`flag`,
// EnableIPvN) or a key that is set needs it (`needed_by`, or nullptr).
std::optional<ConfigProblem> missing_address(const Config& c, const std::string& key,
                                             const char* needed_by, bool enabled,
                                             const std::string& flag, const std::string& what) {
  if (!addresses_required(c)) return std::nullopt;
  if (enabled)
    return ConfigProblem{key, "required with network." + flag + " (our underlay " + what + ")"};
  if (needed_by != nullptr) return ConfigProblem{needed_by, "needs " + key};
  return std::nullopt;
}

// The first static neighbour of `key` (static_neighbours or its _v6 twin)
// that is not on the underlay prefix `address`.
template <class Neighbour, class Prefix>
std::optional<ConfigProblem> neighbour_off_subnet(const std::string& key,
                                                  const std::vector<Neighbour>& neighbours,
                                                  const Prefix& address) {
  for (size_t i = 0; i < neighbours.size(); ++i) {
    if (!address.contains(neighbours[i].ip)) {
      return ConfigProblem{
          "dataplane." + key + "[" + std::to_string(i) + "].ip",
          neighbours[i].ip.str() + " is not on the underlay subnet " + address.network().str()};
    }
  }
  return std::nullopt;
}

// With EnableIPv4 the underlay needs an IPv4 address (flannel.1's tunnels
// start and end there); the gateway and static neighbours lie on its
// subnet; Network does not overlap it.
std::optional<ConfigProblem> check_underlay_v4(const Config& c) {
  const auto& address = c.engine.underlay.address;
  const auto& neighbours = c.engine.dataplane.static_neighbours;
  if (!address) {
    const char* needed_by = c.engine.underlay.gateway ? "ports.underlay.gateway"
                            : !neighbours.empty()     ? "dataplane.static_neighbours[0].ip"
                                                      : nullptr;
    return missing_address(c, "ports.underlay.address", needed_by, c.network.enable_ipv4,
                           "EnableIPv4", "IPv4 address and its prefix, e.g. 192.0.2.10/24");
  }
  const Ipv4Prefix subnet = address->network();
  if (address->len == 0 || address->len > 31)
    return ConfigProblem{"ports.underlay.address", "prefix length must be 1..31"};
  if (const auto& gw = c.engine.underlay.gateway; gw && !address->contains(*gw)) {
    return ConfigProblem{"ports.underlay.gateway",
                         gw->str() + " is not inside the underlay subnet " + subnet.str()};
  }
  if (auto problem = neighbour_off_subnet("static_neighbours", neighbours, *address))
    return problem;
  if (!c.network_from_etcd && c.network.enable_ipv4 && c.network.network.overlaps(subnet)) {
    return ConfigProblem{"network.Network", c.network.network.str() +
                                                " overlaps the underlay subnet " + subnet.str() +
                                                " (ports.underlay.address)"};
  }
  return std::nullopt;
}

// With EnableIPv6 the underlay needs an IPv6 address (flannel-v6's tunnels
// start and end there); its gateway and static neighbours lie on its
// prefix; IPv6Network does not overlap it.
std::optional<ConfigProblem> check_underlay_v6(const Config& c) {
  const auto& address = c.engine.underlay.ipv6_address;
  const auto& neighbours = c.engine.dataplane.static_neighbours_v6;
  if (!address) {
    const char* needed_by = c.engine.underlay.ipv6_gateway ? "ports.underlay.ipv6_gateway"
                            : !neighbours.empty()          ? "dataplane.static_neighbours_v6[0].ip"
                                                           : nullptr;
    return missing_address(c, "ports.underlay.ipv6_address", needed_by, c.network.enable_ipv6,
                           "EnableIPv6", "IPv6 address and its prefix, e.g. 2001:db8::10/64");
  }
  const Ipv6Prefix subnet = address->network();
  if (const auto& gw = c.engine.underlay.ipv6_gateway; gw && !address->contains(*gw)) {
    return ConfigProblem{"ports.underlay.ipv6_gateway",
                         gw->str() + " is not inside the underlay's IPv6 subnet " + subnet.str()};
  }
  if (auto problem = neighbour_off_subnet("static_neighbours_v6", neighbours, *address))
    return problem;
  if (c.network.enable_ipv6 && c.network.ipv6_network && c.network.ipv6_network->overlaps(subnet)) {
    return ConfigProblem{"network.IPv6Network",
                         c.network.ipv6_network->str() + " overlaps the underlay's IPv6 subnet " +
                             subnet.str() + " (ports.underlay.ipv6_address)"};
  }
  return std::nullopt;
}

// IPv6 needs an MTU of at least 1280 on every link (RFC 8200 5): on the
// underlay, which carries flannel-v6's tunnels, and on the overlay, whose
// MTU the pods' IPv6 gets (DataplaneConfig::overlay_mtu6). The key named is
// the one the underlay MTU comes from.
//
// flanneld does not check this. It asks for flannel-v6.<VNI> with the
// underlay's MTU minus 50; the kernel caps a VXLAN-over-IPv6 device at the
// underlay's minus 70 and gives a device below 1280 no IPv6 at all, so on an
// underlay of 1300 flanneld gets a 1230 device and then fails adding the
// lease's /128 to it with "invalid argument" (Linux 6.18). tartan refuses the
// config instead, saying which MTU would do.
std::optional<ConfigProblem> check_ipv6_mtu(const Config& c) {
  if (!c.network.enable_ipv6) return std::nullopt;
  const DataplaneConfig& d = c.engine.dataplane;
  const std::string key = c.network.backend.mtu ? "network.Backend.MTU" : "ports.underlay.mtu";
  const std::string mtu = std::to_string(d.underlay_mtu);
  const std::string minimum = "IPv6's minimum " + std::to_string(kIpv6MinMtu);
  if (d.underlay_mtu < kIpv6MinMtu) {
    return ConfigProblem{
        key, mtu + " is below " + minimum + " (network.EnableIPv6: the underlay carries IPv6)"};
  }
  if (d.overlay_mtu6() < kIpv6MinMtu) {
    const int overhead = d.underlay_mtu - d.overlay_mtu6();
    return ConfigProblem{key, mtu + " leaves an IPv6 overlay MTU of " +
                                  std::to_string(d.overlay_mtu6()) + ", below " + minimum +
                                  " (network.EnableIPv6: " + backend_type_name(d.backend) +
                                  " over IPv6 takes " + std::to_string(overhead) +
                                  ", so the underlay needs at least " +
                                  std::to_string(kIpv6MinMtu + overhead) + ")"};
  }
  return std::nullopt;
}

}  // namespace

bool underlay_known(const Config& c) {
  return !c.engine.ports.empty() && !c.engine.ports[0].device.empty() &&
         (!c.network.enable_ipv4 || c.engine.underlay.address) &&
         (!c.network.enable_ipv6 || c.engine.underlay.ipv6_address);
}

std::optional<ConfigProblem> check_underlay(const Config& c) {
  if (auto problem = check_underlay_v4(c)) return problem;
  if (auto problem = check_underlay_v6(c)) return problem;
  return check_ipv6_mtu(c);
}

std::optional<std::string> netconf_key(const ConfigProblem& problem) {
  constexpr std::string_view kSection = "network.";
  if (!problem.key.starts_with(kSection)) return std::nullopt;
  return problem.key.substr(kSection.size());
}

}  // namespace tartan
