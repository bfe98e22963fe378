// A FlowRule as dpdk-testpmd's `flow create` command, so an operator can
// check on their own NIC (`flow validate` / `flow create` at testpmd's
// prompt) exactly what tartan would install.
#pragma once

#include <cstdint>
#include <string>

#include "engine/flow_rule.h"

namespace tartan {

// e.g. "flow create 0 priority 3 ingress pattern eth / ipv4 dst is 192.0.2.19 /
// udp dst is 8472 / vxlan vni is 1 / end actions rss queues 0 1 end level 2
// types ipv4 ipv4-tcp ipv4-udp end / end"
std::string testpmd_flow_create(uint16_t port_id, const FlowRule& rule);

}  // namespace tartan
