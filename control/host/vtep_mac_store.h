// Our VTEP MAC stays the same across restarts, so remote nodes' neighbour
// and FDB entries stay right: it is kept in <state_dir>/vtep_mac.
#pragma once

#include <string>

#include "engine/net_types.h"
#include "engine/status.h"

namespace tartan {

// The stored MAC, or a new random locally administered unicast MAC (as
// flannel makes them) written there first.
Result<MacAddr> stable_vtep_mac(const std::string& state_dir);

// Keeps `mac` as the stored one (the VtepMAC our Node already announces,
// which peers' neighbour and FDB entries hold).
Status store_vtep_mac(const std::string& state_dir, const MacAddr& mac);

}  // namespace tartan
