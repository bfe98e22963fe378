#include "engine/flow_rule.h"

#include <rte_ethdev.h>
#include <rte_ether.h>

namespace tartan {
namespace {

// Our tunnel endpoint, optionally from one sender. VXLAN rules match our VNI
// too, so VXLAN of another VNI falls through to the slow path, where the
// worker counts it as bad_vni instead of a hardware drop hiding it.
FlowMatch tunnel_match(const FlowPlanParams& p, std::optional<Ipv4Addr> sender) {
  FlowMatch m;
  m.src_ip = sender;
  m.dst_ip = *p.our_ip;
  m.udp_dst = p.udp_port;
  if (p.backend == BackendType::kVxlan) m.vni = p.vni;
  return m;
}

}  // namespace

const char* flow_class_name(FlowClass c) {
  switch (c) {
    case FlowClass::kTunnelSteering:
      return "tunnel_steering";
    case FlowClass::kSlowPath:
      return "slow_path";
    case FlowClass::kSenderFilter:
      return "sender_filter";
    case FlowClass::kHwDecap:
      return "hw_decap";
  }
  return "?";
}

bool has_tunnel(const FlowPlanParams& p) {
  return p.backend == BackendType::kVxlan || p.backend == BackendType::kUdp;
}

std::vector<uint32_t> steering_rss_levels(const FlowPlanParams& p) {
  if (p.backend == BackendType::kVxlan) return {2, 1, 0};
  return {1, 0};
}

FlowActions rss_over_workers(const FlowPlanParams& p, uint32_t level) {
  FlowActions a;
  a.fate = FlowFate::kRss;
  for (uint16_t q = 0; q < p.rx_queues; ++q) a.queues.push_back(q);
  a.rss_level = level;
  // Inside the tunnel any pod protocol; outside it is always UDP, whose
  // source port the sender derived from the inner flow (RFC 7348).
  a.rss_types = level >= 2
                    ? RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP
                    : RTE_ETH_RSS_NONFRAG_IPV4_UDP;
  return a;
}

FlowRule tunnel_steering_rule(const FlowPlanParams& p, const FlowActions& rss) {
  return {FlowClass::kTunnelSteering, kPrioritySteering, tunnel_match(p, std::nullopt), rss};
}

std::vector<FlowRule> slow_path_rules(const FlowPlanParams& p) {
  FlowActions to_slow;
  to_slow.fate = FlowFate::kQueue;
  to_slow.queues = {p.slow_queue};
  FlowRule arp{FlowClass::kSlowPath, kPrioritySlowPath, {}, to_slow};
  arp.match.ether_type = RTE_ETHER_TYPE_ARP;
  FlowRule to_us{FlowClass::kSlowPath, kPrioritySlowPath, {}, to_slow};
  to_us.match.dst_ip = *p.our_ip;
  return {arp, to_us};
}

FlowRule admit_rule(const FlowPlanParams& p, Ipv4Addr sender, const FlowActions& rss) {
  return {FlowClass::kSenderFilter, kPriorityAdmit, tunnel_match(p, sender), rss};
}

FlowRule spoof_drop_rule(const FlowPlanParams& p) {
  FlowActions drop;
  drop.fate = FlowFate::kDrop;
  drop.count = true;  // so unknown_sender still counts what the NIC drops
  return {FlowClass::kSenderFilter, kPrioritySpoofDrop, tunnel_match(p, std::nullopt), drop};
}

FlowRule decap_rule(const FlowPlanParams& p, Ipv4Addr sender, uint32_t next_hop_id,
                    const FlowActions& rss) {
  FlowRule r{FlowClass::kHwDecap, kPriorityDecap, tunnel_match(p, sender), rss};
  r.actions.mark = next_hop_id;
  r.actions.vxlan_decap = true;
  return r;
}

}  // namespace tartan
