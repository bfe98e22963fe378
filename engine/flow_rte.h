// A FlowRule handed to rte_flow: validate, create, destroy and read its
// COUNT, with the PMD's error message made part of the Status.
#pragma once

#include <rte_flow.h>

#include <cstdint>

#include "engine/flow_rule.h"
#include "engine/status.h"

namespace tartan {

// Whether the device would accept the rule as it is now.
Status flow_validate(uint16_t port_id, const FlowRule& rule);
Result<rte_flow*> flow_create(uint16_t port_id, const FlowRule& rule);
// Best effort: a failure is logged (the rule is forgotten either way).
void flow_destroy(uint16_t port_id, rte_flow* flow);
// Packets the rule's COUNT action has seen since it was created.
Result<uint64_t> flow_count(uint16_t port_id, rte_flow* flow);

}  // namespace tartan
