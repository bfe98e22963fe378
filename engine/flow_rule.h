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
//
// Each address family of the underlay has its own rules of each shape
// (flannel.<VNI>'s tunnels to our IPv4, flannel-v6.<VNI>'s to our IPv6),
// built by the same templates: the IPv6 slow path takes neighbour discovery
// (to our solicited-node address) where IPv4's takes ARP. An IPv4 rule and
// an IPv6 rule never match the same frame, so the priorities serve both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <variant>
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

// The addresses an IPv4 (Ipv4Addr) or IPv6 (Ipv6Addr) item matches.
template <class Addr>
struct IpMatch {
  std::optional<Addr> src;
  std::optional<Addr> dst;
};

// Header fields a rule matches; unset fields match anything.
struct FlowMatch {
  std::optional<uint16_t> ether_type;  // alone: a non-IP frame type (ARP)
  std::variant<std::monostate, IpMatch<Ipv4Addr>, IpMatch<Ipv6Addr>> ip;  // the IP item, if any
  std::optional<uint16_t> udp_dst;  // implies a UDP item, after the IP item
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

// What the rules are made of: our tunnel endpoints and the RX queues.
struct FlowPlanParams {
  BackendType backend = BackendType::kVxlan;
  // The rules match traffic to our underlay address of their family; a
  // family without one has none (FlowOffload leaves its classes to the
  // workers).
  std::optional<Ipv4Addr> our_ip;
  std::optional<Ipv6Addr> our_ip6;
  uint16_t udp_port = 8472;
  uint32_t vni = 1;
  uint16_t rx_queues = 1;   // tunnel traffic is spread over queues 0..rx_queues-1
  uint16_t slow_queue = 0;  // polled by the slow-path worker (worker 0)
};

// Our underlay address of `Addr`'s family.
template <class Addr>
const std::optional<Addr>& our_address(const FlowPlanParams& p) {
  if constexpr (std::is_same_v<Addr, Ipv4Addr>)
    return p.our_ip;
  else
    return p.our_ip6;
}

// "ipv4" or "ipv6", as the API and the log name the family of `Addr`.
template <class Addr>
constexpr const char* family_name() {
  return std::is_same_v<Addr, Ipv4Addr> ? "ipv4" : "ipv6";
}

// Whether the backend carries tunnel traffic that rules can match (vxlan,
// udp); host-gw has none, wireguard's no rule takes (flow_offload.cc).
bool has_tunnel(const FlowPlanParams& p);

// The RSS levels tunnel steering asks for, best first: inside the tunnel
// (vxlan only: the NIC cannot parse a udp-backend payload), then the outer
// headers, then whatever the device does by default.
std::vector<uint32_t> steering_rss_levels(const FlowPlanParams& p);
// The RSS fate over every worker queue at `level`, for tunnels of `Addr`'s
// family (whose inner packets are of that family too).
template <class Addr>
FlowActions rss_over_workers(const FlowPlanParams& p, uint32_t level);

// Each rule below for the tunnels to our address of `Addr`'s family; there
// must be one (our_address).
template <class Addr>
FlowRule tunnel_steering_rule(const FlowPlanParams& p, const FlowActions& rss);
// IPv4: ARP and other IPv4 to us; IPv6: what is sent to our solicited-node
// address (neighbour solicitations) and other IPv6 to us.
template <class Addr>
std::vector<FlowRule> slow_path_rules(const FlowPlanParams& p);
// A known node's tunnel traffic, spread as `rss` says.
template <class Addr>
FlowRule admit_rule(const FlowPlanParams& p, const Addr& sender, const FlowActions& rss);
// Tunnel traffic to us that no admit rule took: counted and dropped.
template <class Addr>
FlowRule spoof_drop_rule(const FlowPlanParams& p);
// A known node's VXLAN decapsulated by the NIC, marked with its next hop.
template <class Addr>
FlowRule decap_rule(const FlowPlanParams& p, const Addr& sender, uint32_t next_hop_id,
                    const FlowActions& rss);

}  // namespace tartan
