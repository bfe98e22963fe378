// Our VTEP MAC stays the same across restarts, so remote nodes' neighbour
// and FDB entries stay right: it is kept in <state_dir>/vtep_mac (and
// flannel-v6's, a MAC of its own as flanneld's second device has, in
// <state_dir>/vtep_mac_v6).
#pragma once

#include <string>

#include "engine/net_types.h"
#include "engine/status.h"

namespace tartan {

// The stored MAC, or a new random locally administered unicast MAC (as
// flannel makes them) written there first.
Result<MacAddr> stable_vtep_mac(const std::string& state_dir, bool ipv6 = false);

// Keeps `mac` as the stored one (the VtepMAC our Node already announces,
// which peers' neighbour and FDB entries hold).
Status store_vtep_mac(const std::string& state_dir, const MacAddr& mac, bool ipv6 = false);

}  // namespace tartan
