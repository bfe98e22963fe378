// The handshake side's counters (WireguardHandshakeCounters) as one table
// of names and help, as engine/observe/stats_fields.h lists the engine's:
// the Stats API's WireguardStats fields, the /metrics stems
// (tartan_wg_<name>_total) and tartanctl's columns all come from it.
#pragma once

#include <span>

#include "control/wireguard/wireguard_peers.h"
#include "engine/observe/stats_fields.h"

namespace tartan {

std::span<const StatField<WireguardHandshakeCounters>> handshake_counter_fields();

// `now` minus `before`, counter by counter, the rejections by reason too.
WireguardHandshakeCounters handshake_counters_delta(const WireguardHandshakeCounters& now,
                                                    const WireguardHandshakeCounters& before);

}  // namespace tartan
