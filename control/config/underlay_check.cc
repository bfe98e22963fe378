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

// The keys and words of one family's underlay checks.
struct FamilyKeys {
  std::string address;     // ports.underlay.address
  std::string gateway;     // ports.underlay.gateway
  std::string neighbours;  // static_neighbours (under dataplane.)
  std::string flag;        // EnableIPv4
  std::string what;        // what the address is, with an example
  std::string subnet;      // how messages name the underlay's subnet
  std::string network;     // network.Network
};

// With its family enabled (flag) the underlay needs an address of it (the
// family's tunnels start and end there); the gateway and static neighbours
// lie on its subnet; the pods' `network`, where known here, does not
// overlap it.
template <class Prefix, class Addr, class Neighbour>
std::optional<ConfigProblem> check_family(const Config& c, const std::optional<Prefix>& address,
                                          const std::optional<Addr>& gateway,
                                          const std::vector<Neighbour>& neighbours, bool enabled,
                                          const std::optional<Prefix>& network,
                                          const FamilyKeys& k) {
  if (!address) {
    const std::string first_neighbour = "dataplane." + k.neighbours + "[0].ip";
    const char* needed_by = gateway               ? k.gateway.c_str()
                            : !neighbours.empty() ? first_neighbour.c_str()
                                                  : nullptr;
    return missing_address(c, k.address, needed_by, enabled, k.flag, k.what);
  }
  const Prefix subnet = address->network();
  if (gateway && !address->contains(*gateway)) {
    return ConfigProblem{k.gateway,
                         gateway->str() + " is not inside the " + k.subnet + " " + subnet.str()};
  }
  if (auto problem = neighbour_off_subnet(k.neighbours, neighbours, *address)) return problem;
  if (network && network->overlaps(subnet)) {
    return ConfigProblem{k.network, network->str() + " overlaps the " + k.subnet + " " +
                                        subnet.str() + " (" + k.address + ")"};
  }
  return std::nullopt;
}

std::optional<ConfigProblem> check_underlay_v4(const Config& c) {
  const auto& address = c.engine.underlay.address;
  if (address && (address->len == 0 || address->len > 31))
    return ConfigProblem{"ports.underlay.address", "prefix length must be 1..31"};
  // (Network, when etcd gives it, is checked once it is read.)
  const bool network_known = !c.network_from_etcd && c.network.enable_ipv4;
  return check_family(
      c, address, c.engine.underlay.gateway, c.engine.dataplane.static_neighbours,
      c.network.enable_ipv4, network_known ? std::optional(c.network.network) : std::nullopt,
      {"ports.underlay.address", "ports.underlay.gateway", "static_neighbours", "EnableIPv4",
       "IPv4 address and its prefix, e.g. 192.0.2.10/24", "underlay subnet", "network.Network"});
}

std::optional<ConfigProblem> check_underlay_v6(const Config& c) {
  return check_family(
      c, c.engine.underlay.ipv6_address, c.engine.underlay.ipv6_gateway,
      c.engine.dataplane.static_neighbours_v6, c.network.enable_ipv6,
      c.network.enable_ipv6 ? c.network.ipv6_network : std::nullopt,
      {"ports.underlay.ipv6_address", "ports.underlay.ipv6_gateway", "static_neighbours_v6",
       "EnableIPv6", "IPv6 address and its prefix, e.g. 2001:db8::10/64", "underlay's IPv6 subnet",
       "network.IPv6Network"});
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
