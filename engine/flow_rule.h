// The rte_flow rules tartan asks of a dedicated underlay NIC, as plain data.
// Rules come in four classes; each class is placed in hardware or left to
// the workers on its own (flow_offload.h). flow_rte.cc turns a rule into
// rte_flow items and actions, flow_testpmd.cc prints it as testpmd's
// `flow create` command.
//
// Priorities (lower wins) keep overlapping rules apart, since two matching
// rules of one priority give undefined results in rte_flow:
//   0  hw_decap         per node: its VXLAN -> MARK(next hop), VXLAN_DECAP, RSS
//   1  sender_filter    per node: its tunnel traffic -> RSS
//   2  sender_filter    any other tunnel traffic to us -> COUNT, DROP
//   3  tunnel_steering  tunnel traffic to us -> RSS (while nothing above matches)
//   4  slow_path        ARP, and other IPv4 to us -> the slow-path queue
// so a class that falls back to software only uncovers the rule below it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "engine/engine_config.h"
#include "engine/net_types.h"

namespace tartan {

enum class FlowClass : uint8_t { kTunnelSteering, kSlowPath, kSenderFilter, kHwDecap };
inline constexpr size_t kNumFlowClasses = 4;

// "tunnel_steering", "slow_path", "sender_filter", "hw_decap".
const char* flow_class_name(FlowClass c);

inline constexpr uint32_t kPriorityDecap = 0;
inline constexpr uint32_t kPriorityAdmit = 1;
inline constexpr uint32_t kPrioritySpoofDrop = 2;
inline constexpr uint32_t kPrioritySteering = 3;
inline constexpr uint32_t kPrioritySlowPath = 4;

// Header fields a rule matches; unset fields match anything.
struct FlowMatch {
  std::optional<uint16_t> ether_type;  // alone: a non-IP frame type (ARP)
  std::optional<Ipv4Addr> src_ip;      // these imply an IPv4 item
  std::optional<Ipv4Addr> dst_ip;
  std::optional<uint16_t> udp_dst;  // implies a UDP item
  std::optional<uint32_t> vni;      // implies a VXLAN item
};

enum class FlowFate : uint8_t { kRss, kQueue, kDrop };

struct FlowActions {
  FlowFate fate = FlowFate::kRss;
  std::vector<uint16_t> queues;  // kRss: the spread; kQueue: the one queue
  // RSS encapsulation level: 0 the device's default, 1 the outer headers,
  // 2 the headers inside the VXLAN tunnel.
  uint32_t rss_level = 0;
  uint64_t rss_types = 0;  // RTE_ETH_RSS_* bits
  std::optional<uint32_t> mark;
  bool vxlan_decap = false;
  bool count = false;
};

struct FlowRule {
  FlowClass cls = FlowClass::kTunnelSteering;
  uint32_t priority = 0;
  FlowMatch match;
  FlowActions actions;
};

// What the rules are made of: our tunnel endpoint and the RX queues.
struct FlowPlanParams {
  BackendType backend = BackendType::kVxlan;
  // The rules match IPv4 to us; without an IPv4 underlay address there
  // are none (FlowOffload leaves every class to the workers).
  std::optional<Ipv4Addr> our_ip;
  uint16_t udp_port = 8472;
  uint32_t vni = 1;
  uint16_t rx_queues = 1;   // tunnel traffic is spread over queues 0..rx_queues-1
  uint16_t slow_queue = 0;  // polled by the slow-path worker (worker 0)
};

// Whether the backend carries tunnel traffic that rules can match (vxlan,
// udp); host-gw has none.
bool has_tunnel(const FlowPlanParams& p);

// The RSS levels tunnel steering asks for, best first: inside the tunnel
// (vxlan only: the NIC cannot parse a udp-backend payload), then the outer
// headers, then whatever the device does by default.
std::vector<uint32_t> steering_rss_levels(const FlowPlanParams& p);
// The RSS fate over every worker queue at `level`.
FlowActions rss_over_workers(const FlowPlanParams& p, uint32_t level);

FlowRule tunnel_steering_rule(const FlowPlanParams& p, const FlowActions& rss);
std::vector<FlowRule> slow_path_rules(const FlowPlanParams& p);
// A known node's tunnel traffic, spread as `rss` says.
FlowRule admit_rule(const FlowPlanParams& p, Ipv4Addr sender, const FlowActions& rss);
// Tunnel traffic to us that no admit rule took: counted and dropped.
FlowRule spoof_drop_rule(const FlowPlanParams& p);
// A known node's VXLAN decapsulated by the NIC, marked with its next hop.
FlowRule decap_rule(const FlowPlanParams& p, Ipv4Addr sender, uint32_t next_hop_id,
                    const FlowActions& rss);

}  // namespace tartan
