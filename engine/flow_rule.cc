#include "engine/flow_rule.h"

#include <rte_ethdev.h>
#include <rte_ether.h>

#include "engine/neighbours/nd.h"

namespace tartan {
namespace {

// The RSS types of each family: inside the tunnel any pod protocol; outside
// it is always UDP, whose source port the sender derived from the inner flow
// (RFC 7348).
template <class Addr>
struct RssTypes;
template <>
struct RssTypes<Ipv4Addr> {
  static constexpr uint64_t kInner =
      RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP;
  static constexpr uint64_t kOuter = RTE_ETH_RSS_NONFRAG_IPV4_UDP;
};
template <>
struct RssTypes<Ipv6Addr> {
  static constexpr uint64_t kInner =
      RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_NONFRAG_IPV6_TCP | RTE_ETH_RSS_NONFRAG_IPV6_UDP;
  static constexpr uint64_t kOuter = RTE_ETH_RSS_NONFRAG_IPV6_UDP;
};

template <class Addr>
FlowMatch to_us(const FlowPlanParams& p, std::optional<Addr> sender) {
  FlowMatch m;
  m.ip = IpMatch<Addr>{sender, *our_address<Addr>(p)};
  return m;
}

// Our tunnel endpoint, optionally from one sender. VXLAN rules match our VNI
// too, so VXLAN of another VNI falls through to the slow path, where the
// worker counts it as bad_vni instead of a hardware drop hiding it.
template <class Addr>
FlowMatch tunnel_match(const FlowPlanParams& p, std::optional<Addr> sender) {
  FlowMatch m = to_us(p, sender);
  m.udp_dst = p.udp_port;
  if (p.backend == BackendType::kVxlan) m.vni = p.vni;
  return m;
}

// What the slow path takes besides IP to us: the address resolution that
// reaches us otherwise (ARP; neighbour solicitations, sent to our
// solicited-node address).
template <class Addr>
FlowMatch neighbour_discovery(const FlowPlanParams& p);

template <>
FlowMatch neighbour_discovery<Ipv4Addr>(const FlowPlanParams&) {
  FlowMatch arp;
  arp.ether_type = RTE_ETHER_TYPE_ARP;
  return arp;
}

template <>
FlowMatch neighbour_discovery<Ipv6Addr>(const FlowPlanParams& p) {
  FlowMatch ns;
  ns.ip = IpMatch<Ipv6Addr>{std::nullopt, solicited_node(*p.our_ip6)};
  return ns;
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
  // Not wireguard's: its packets are authenticated per keypair, not by
  // sender, and the NIC cannot decrypt them.
  return p.backend == BackendType::kVxlan || p.backend == BackendType::kUdp;
}

std::vector<uint32_t> steering_rss_levels(const FlowPlanParams& p) {
  if (p.backend == BackendType::kVxlan) return {2, 1, 0};
  return {1, 0};
}

template <class Addr>
FlowActions rss_over_workers(const FlowPlanParams& p, uint32_t level) {
  FlowActions a;
  a.fate = FlowFate::kRss;
  for (uint16_t q = 0; q < p.rx_queues; ++q) a.queues.push_back(q);
  a.rss_level = level;
  a.rss_types = level >= 2 ? RssTypes<Addr>::kInner : RssTypes<Addr>::kOuter;
  return a;
}

template <class Addr>
FlowRule tunnel_steering_rule(const FlowPlanParams& p, const FlowActions& rss) {
  return {FlowClass::kTunnelSteering, kPrioritySteering, tunnel_match<Addr>(p, std::nullopt), rss};
}

template <class Addr>
std::vector<FlowRule> slow_path_rules(const FlowPlanParams& p) {
  FlowActions to_slow;
  to_slow.fate = FlowFate::kQueue;
  to_slow.queues = {p.slow_queue};
  return {{FlowClass::kSlowPath, kPrioritySlowPath, neighbour_discovery<Addr>(p), to_slow},
          {FlowClass::kSlowPath, kPrioritySlowPath, to_us<Addr>(p, std::nullopt), to_slow}};
}

template <class Addr>
FlowRule admit_rule(const FlowPlanParams& p, const Addr& sender, const FlowActions& rss) {
  return {FlowClass::kSenderFilter, kPriorityAdmit, tunnel_match<Addr>(p, sender), rss};
}

template <class Addr>
FlowRule spoof_drop_rule(const FlowPlanParams& p) {
  FlowActions drop;
  drop.fate = FlowFate::kDrop;
  drop.count = true;  // so unknown_sender still counts what the NIC drops
  return {FlowClass::kSenderFilter, kPrioritySpoofDrop, tunnel_match<Addr>(p, std::nullopt), drop};
}

template <class Addr>
FlowRule decap_rule(const FlowPlanParams& p, const Addr& sender, uint32_t next_hop_id,
                    const FlowActions& rss) {
  FlowRule r{FlowClass::kHwDecap, kPriorityDecap, tunnel_match<Addr>(p, sender), rss};
  r.actions.mark = next_hop_id;
  r.actions.vxlan_decap = true;
  return r;
}

#define TARTAN_FLOW_RULES_OF(Addr)                                                            \
  template FlowActions rss_over_workers<Addr>(const FlowPlanParams&, uint32_t);               \
  template FlowRule tunnel_steering_rule<Addr>(const FlowPlanParams&, const FlowActions&);    \
  template std::vector<FlowRule> slow_path_rules<Addr>(const FlowPlanParams&);                \
  template FlowRule admit_rule<Addr>(const FlowPlanParams&, const Addr&, const FlowActions&); \
  template FlowRule spoof_drop_rule<Addr>(const FlowPlanParams&);                             \
  template FlowRule decap_rule<Addr>(const FlowPlanParams&, const Addr&, uint32_t,            \
                                     const FlowActions&);
TARTAN_FLOW_RULES_OF(Ipv4Addr)
TARTAN_FLOW_RULES_OF(Ipv6Addr)
#undef TARTAN_FLOW_RULES_OF

}  // namespace tartan
