// The checks that tie the underlay's address and MTU to the rest of the config,
// kept apart from the YAML reader: with lease.source kube the address (and
// device) may come from our Node's annotations instead, and must pass the
// same checks once they are known.
#pragma once

#include <optional>
#include <string>

#include "control/config/config.h"

namespace tartan {

struct ConfigProblem {
  std::string key;  // the config key at fault, e.g. "ports.underlay.gateway"
  std::string message;
};

// The net-conf key a problem is about ("Network" for "network.Network"),
// for errors that name the net-conf (network_file, etcd's config); nullopt
// when it is about another config key.
std::optional<std::string> netconf_key(const ConfigProblem& problem);

// Whether the config names the underlay's device and the address of each
// family the network enables (always, except with lease.source kube before
// the Node's annotations are read).
bool underlay_known(const Config& c);

// Each enabled family's underlay address is there (unless lease.source kube
// or etcd's network config may still give it), and its prefix length,
// gateway, static neighbours and Network (IPv6Network) agree with it; with
// EnableIPv6 the underlay's MTU leaves both links IPv6's minimum. `c` is
// as derive_from_network (config_loader.h) leaves it. nullopt when all hold.
std::optional<ConfigProblem> check_underlay(const Config& c);

}  // namespace tartan
