#include "engine/flow_testpmd.h"

#include <rte_ethdev.h>

#include <cstdio>
#include <variant>

namespace tartan {
namespace {

// testpmd's names for the RSS types tartan asks for (its rss_type_table).
std::string rss_types(uint64_t types) {
  std::string s;
  if (types & RTE_ETH_RSS_IPV4) s += " ipv4";
  if (types & RTE_ETH_RSS_NONFRAG_IPV4_TCP) s += " ipv4-tcp";
  if (types & RTE_ETH_RSS_NONFRAG_IPV4_UDP) s += " ipv4-udp";
  if (types & RTE_ETH_RSS_IPV6) s += " ipv6";
  if (types & RTE_ETH_RSS_NONFRAG_IPV6_TCP) s += " ipv6-tcp";
  if (types & RTE_ETH_RSS_NONFRAG_IPV6_UDP) s += " ipv6-udp";
  return s;
}

std::string ip_item(std::monostate) {
  return "";
}

template <class Addr>
std::string ip_item(const IpMatch<Addr>& ip) {
  std::string s = std::string(" / ") + family_name<Addr>();
  if (ip.src) s += " src is " + ip.src->str();
  if (ip.dst) s += " dst is " + ip.dst->str();
  return s;
}

std::string pattern(const FlowMatch& m) {
  std::string s = "eth";
  if (m.ether_type) {
    char type[16];
    std::snprintf(type, sizeof type, " type is 0x%04x", *m.ether_type);
    s += type;
  }
  s += std::visit([](const auto& ip) { return ip_item(ip); }, m.ip);
  if (m.udp_dst) s += " / udp dst is " + std::to_string(*m.udp_dst);
  if (m.vni) s += " / vxlan vni is " + std::to_string(*m.vni);
  return s + " / end";
}

std::string actions(const FlowActions& a) {
  std::string s;
  if (a.count) s += "count / ";
  if (a.mark) s += "mark id " + std::to_string(*a.mark) + " / ";
  if (a.vxlan_decap) s += "vxlan_decap / ";
  switch (a.fate) {
    case FlowFate::kDrop:
      s += "drop";
      break;
    case FlowFate::kQueue:
      s += "queue index " + std::to_string(a.queues.empty() ? 0 : a.queues[0]);
      break;
    case FlowFate::kRss:
      s += "rss queues";
      for (uint16_t q : a.queues) s += " " + std::to_string(q);
      s += " end level " + std::to_string(a.rss_level) + " types" + rss_types(a.rss_types) + " end";
      break;
  }
  return s + " / end";
}

}  // namespace

std::string testpmd_flow_create(uint16_t port_id, const FlowRule& rule) {
  return "flow create " + std::to_string(port_id) + " priority " + std::to_string(rule.priority) +
         " ingress pattern " + pattern(rule.match) + " actions " + actions(rule.actions);
}

}  // namespace tartan
