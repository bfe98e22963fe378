#include "control/api/trace_render.h"

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>
#include <optional>

#include "engine/observe/stats.h"
#include "engine/tables/next_hop.h"

namespace tartan {
namespace {

const char* class_name(TraceClass c) {
  switch (c) {
    case TraceClass::kArp:
      return "arp";
    case TraceClass::kIpv4:
      return "ipv4";
    case TraceClass::kNotIpv4:
      return "not_ipv4";
    case TraceClass::kTunnel:
      return "tunnel";
    case TraceClass::kOffloadedDecap:
      return "offloaded_decap";
    case TraceClass::kUnencapsulated:
      return "unencapsulated";
    case TraceClass::kNotForUs:
      return "not_for_us";
    case TraceClass::kOuterFragment:
      return "outer_fragment";
    case TraceClass::kGsoPacket:
      return "gso_packet";
    case TraceClass::kIpv6:
      return "ipv6";
    case TraceClass::kNd:
      return "nd";
  }
  return "unknown";
}

const char* class_help(TraceClass c) {
  switch (c) {
    case TraceClass::kArp:
      return "ARP";
    case TraceClass::kIpv4:
      return "IPv4";
    case TraceClass::kNotIpv4:
      return "neither IPv4 nor ARP";
    case TraceClass::kTunnel:
      return "tunnel packet: UDP to our address and the backend's port";
    case TraceClass::kOffloadedDecap:
      return "decapsulated by the NIC";
    case TraceClass::kUnencapsulated:
      return "unencapsulated pod traffic for our podCIDR (host-gw, DirectRouting)";
    case TraceClass::kNotForUs:
      return "not a tunnel packet for us: the host's (exception path)";
    case TraceClass::kOuterFragment:
      return "outer IPv4 fragment";
    case TraceClass::kGsoPacket:
      return "GSO packet from the tap";
    case TraceClass::kIpv6:
      return "IPv6";
    case TraceClass::kNd:
      return "neighbour discovery for the underlay's IPv6 address or its neighbours";
  }
  return "unknown";
}

const char* step_name(TraceStep s) {
  switch (s) {
    case TraceStep::kClassify:
      return "classify";
    case TraceStep::kSender:
      return "sender";
    case TraceStep::kVni:
      return "vni";
    case TraceStep::kDecap:
      return "decap";
    case TraceStep::kRoute:
    case TraceStep::kRoute6:
      return "route";
    case TraceStep::kNeighbour:
      return "neighbour";
    case TraceStep::kRewrite:
    case TraceStep::kRewrite6:
      return "rewrite";
    case TraceStep::kArpReply:
      return "arp_reply";
    case TraceStep::kIcmpError:
      return "icmp_error";
    case TraceStep::kToControl:
      return "to_control";
    case TraceStep::kSlowPath:
      return "slow_path";
    case TraceStep::kReassembly:
      return "reassembly";
    case TraceStep::kGso:
      return "gso";
    case TraceStep::kGro:
      return "gro";
    case TraceStep::kTx:
      return "tx";
    case TraceStep::kDrop:
      return "drop";
  }
  return "unknown";
}

std::string ip_str(uint32_t be) {
  return Ipv4Addr::from_be(be).str();
}

std::string port_name(const TraceNames& names, uint64_t port) {
  if (port < names.ports.size() && !names.ports[port].empty()) return names.ports[port];
  return "port " + std::to_string(port);
}

// The route of `dst` among those of next hop `id` (the longest that holds
// it; a next hop serves every podCIDR of one node).
const TraceNames::Route* route_of(const TraceNames& names, uint32_t id, Ipv4Addr dst) {
  const auto it = names.next_hops.find(id);
  if (it == names.next_hops.end()) return nullptr;
  const TraceNames::Route* best = nullptr;
  for (const auto& r : it->second) {
    if (r.prefix.contains(dst) && (best == nullptr || r.prefix.len > best->prefix.len)) best = &r;
  }
  return best != nullptr ? best : &it->second.front();
}

// The same among next hop `id`'s IPv6 routes.
const TraceNames::Route6* route6_of(const TraceNames& names, uint32_t id, const Ipv6Addr& dst) {
  const auto it = names.next_hops6.find(id);
  if (it == names.next_hops6.end()) return nullptr;
  const TraceNames::Route6* best = nullptr;
  for (const auto& r : it->second) {
    if (r.prefix.contains(dst) && (best == nullptr || r.prefix.len > best->prefix.len)) best = &r;
  }
  return best != nullptr ? best : &it->second.front();
}

// The node behind next hop `id`, whichever family's routes it serves.
std::string node_of(const TraceNames& names, uint32_t id) {
  if (const auto it = names.next_hops.find(id); it != names.next_hops.end()) {
    for (const auto& r : it->second) {
      if (!r.node.empty()) return r.node;
    }
  }
  if (const auto it = names.next_hops6.find(id); it != names.next_hops6.end()) {
    for (const auto& r : it->second) {
      if (!r.node.empty()) return r.node;
    }
  }
  return "";
}

bool knows(const TraceNames& names, uint32_t id) {
  return names.next_hops.contains(id) || names.next_hops6.contains(id);
}

// The IPv6 address `at` bytes into the frame as received; nullopt when the
// record's head does not hold it.
std::optional<Ipv6Addr> ipv6_in_head(const TraceRecord& r, uint32_t at) {
  if (at + 16 > r.head_len) return std::nullopt;
  Ipv6Addr a;
  std::memcpy(a.bytes.data(), r.head + at, 16);
  return a;
}

// The route decision, either family: `dst` as text, the route found (its
// prefix and node) and the next hop.
void describe_route(const TraceEvent& e, const std::string& dst, const std::string& prefix,
                    const TraceNames& names, v1::TraceDecision* d, std::string& detail) {
  auto& f = *d->mutable_fields();
  f["destination"] = dst;
  f["found"] = e.a8 ? "true" : "false";
  if (!e.a8) {
    detail = dst + ": no route";
    return;
  }
  const auto id = static_cast<uint32_t>(e.b);
  const char* kind = next_hop_kind_name(static_cast<NextHopKind>(e.a16));
  f["next_hop_id"] = std::to_string(id);
  f["kind"] = kind;
  detail = dst;
  if (!prefix.empty()) {
    f["prefix"] = prefix;
    detail += " via " + prefix;
  }
  detail += ": next hop " + std::to_string(id) + " (" + kind;
  const std::string node = node_of(names, id);
  if (!node.empty()) {
    f["node"] = node;
    detail += ", node " + node;
  }
  detail += ")";
}

// A tunnel encapsulation to `outer_dst`, either family.
std::string describe_tunnel_rewrite(const TraceEvent& e, const std::string& outer_dst,
                                    const std::string& out, v1::TraceDecision* d) {
  const auto kind = static_cast<NextHopKind>(e.a8);
  auto& f = *d->mutable_fields();
  f["outer_destination"] = outer_dst;
  f["outer_source_port"] = std::to_string(e.a16);
  return std::string("encap ") + next_hop_kind_name(kind) + " to " + outer_dst +
         ", outer UDP source port " + std::to_string(e.a16) + ", out " + out;
}

// `ipv6`: the packet as received was IPv6, so its neighbour is resolved by
// neighbour discovery rather than ARP.
void describe(const TraceEvent& e, const TraceRecord& r, bool ipv6, const TraceNames& names,
              v1::TraceDecision* d) {
  auto& f = *d->mutable_fields();
  std::string detail;
  const char* resolution = ipv6 ? "neighbour discovery" : "ARP";
  switch (e.step) {
    case TraceStep::kClassify: {
      const auto c = static_cast<TraceClass>(e.a8);
      f["class"] = class_name(c);
      detail = std::string(class_name(c)) + ": " + class_help(c);
      break;
    }
    case TraceStep::kSender: {
      const auto id = static_cast<uint32_t>(e.b);
      const std::string node = e.a8 ? node_of(names, id) : "";
      f["known"] = e.a8 ? "true" : "false";
      std::string source;
      if (e.a16 != 0) {
        const auto src = ipv6_in_head(r, e.a16);
        source = src ? src->str() : "(beyond the recorded head)";
      } else if (e.a32 != 0) {
        source = ip_str(e.a32);
      }
      if (!source.empty()) f["source"] = source;
      const std::string who = !source.empty() ? source : std::string("marked by the NIC");
      if (e.a8) {
        f["next_hop_id"] = std::to_string(id);
        if (!node.empty()) f["node"] = node;
        detail = "known VTEP " + who + " (" + (node.empty() ? "" : "node " + node + ", ") +
                 "next hop " + std::to_string(id) + ")";
      } else {
        detail = "unknown sender " + who + ": no node has this public IP";
      }
      break;
    }
    case TraceStep::kVni:
      f["vni"] = std::to_string(e.a32);
      detail = "VNI " + std::to_string(e.a32);
      break;
    case TraceStep::kDecap: {
      const auto k = static_cast<TraceDecap>(e.a8);
      const char* kind = k == TraceDecap::kVxlan       ? "vxlan"
                         : k == TraceDecap::kUdp       ? "udp"
                         : k == TraceDecap::kOffloaded ? "offloaded"
                                                       : "wireguard";
      f["kind"] = kind;
      detail = k == TraceDecap::kOffloaded ? "done by the NIC (offloaded VXLAN)"
               : k == TraceDecap::kWireguardKeepalive
                   ? "wireguard keepalive (authenticated, empty): freed"
                   : std::string("outer headers stripped (") + kind + ")";
      break;
    }
    case TraceStep::kRoute: {
      const Ipv4Addr dst = Ipv4Addr::from_be(e.a32);
      const TraceNames::Route* route =
          e.a8 ? route_of(names, static_cast<uint32_t>(e.b), dst) : nullptr;
      describe_route(e, dst.str(), route ? route->prefix.str() : "", names, d, detail);
      break;
    }
    case TraceStep::kRoute6: {
      const auto dst = ipv6_in_head(r, e.a32);
      const TraceNames::Route6* route =
          e.a8 && dst ? route6_of(names, static_cast<uint32_t>(e.b), *dst) : nullptr;
      describe_route(e, dst ? dst->str() : "(beyond the recorded head)",
                     route ? route->prefix.str() : "", names, d, detail);
      break;
    }
    case TraceStep::kNeighbour:
      f["adjacency"] = std::to_string(e.a32);
      f["state"] = e.a8 ? "resolved" : "waiting";
      if (e.a8) {
        f["mac"] = trace_mac_of(e.b).str();
        detail = "resolved: " + f["mac"] + " (adjacency " + std::to_string(e.a32) + ")";
      } else {
        detail =
            std::string("waiting for ") + resolution + " (adjacency " + std::to_string(e.a32) + ")";
      }
      break;
    case TraceStep::kRewrite:
    case TraceStep::kRewrite6: {
      const auto kind = static_cast<NextHopKind>(e.a8);
      const std::string out = port_name(names, e.b);
      f["encap"] = next_hop_kind_name(kind);
      f["out_port"] = out;
      if (e.step == TraceStep::kRewrite6) {
        const auto it = names.next_hops6.find(e.a32);
        detail = describe_tunnel_rewrite(e,
                                         it != names.next_hops6.end()
                                             ? it->second.front().public_ip.str()
                                             : "next hop " + std::to_string(e.a32) + "'s node",
                                         out, d);
      } else if (tunnel_kind(kind)) {
        detail = describe_tunnel_rewrite(e, ip_str(e.a32), out, d);
      } else if (kind == NextHopKind::kDirect) {
        detail = "direct routing: Ethernet rewrite to the node's underlay MAC, out " + out;
      } else {
        detail = "local delivery: Ethernet header for " + out;
      }
      break;
    }
    case TraceStep::kArpReply:
      f["address"] = ip_str(e.a32);
      f["mac"] = trace_mac_of(e.b).str();
      detail = "answered: " + f["address"] + " is at " + f["mac"];
      break;
    case TraceStep::kIcmpError:
      f["type"] = std::to_string(e.a8);
      f["code"] = std::to_string(e.a16);
      detail = std::string(e.a32 == 6 ? "ICMPv6" : "ICMP") + " error type " + f["type"] + " code " +
               f["code"] + " back to the sender";
      break;
    case TraceStep::kToControl:
      switch (TraceToControl(e.a8)) {
        case TraceToControl::kArp:
          f["reason"] = "arp";
          detail = "ARP handed to the control thread (to learn from)";
          break;
        case TraceToControl::kProbeReply:
          f["reason"] = "probe_reply";
          detail = "tunnel probe reply handed to the control thread";
          break;
        case TraceToControl::kNd:
          f["reason"] = "nd";
          detail = "neighbour discovery handed to the control thread (to answer or learn from)";
          break;
        case TraceToControl::kWireguardHandshake:
          f["reason"] = "wireguard_handshake";
          detail = "wireguard handshake message handed to the control thread";
          break;
        case TraceToControl::kArpWait:
          f["adjacency"] = std::to_string(e.a32);
          f["reason"] = "arp_wait";
          detail = std::string("held for ") + resolution + " resolution of adjacency " +
                   std::to_string(e.a32);
          break;
      }
      break;
    case TraceStep::kSlowPath:
      detail = "handed to the slow-path worker (ARP, host traffic)";
      break;
    case TraceStep::kReassembly:
      f["reassembled"] = e.a8 ? "true" : "false";
      detail = e.a8 ? "reassembled; goes on as a whole packet"
                    : "held for reassembly (or refused): followed no further";
      break;
    case TraceStep::kGso:
      f["segments"] = std::to_string(e.a16);
      detail = "cut into " + f["segments"] + " segments, followed no further";
      break;
    case TraceStep::kGro:
      f["port"] = port_name(names, e.a16);
      detail = "staged for GRO, sent with its batch on " + f["port"];
      break;
    case TraceStep::kTx:
      f["port"] = port_name(names, e.a16);
      f["queue"] = std::to_string(e.a32);
      detail = f["port"] + " queue " + f["queue"];
      break;
    case TraceStep::kDrop: {
      const auto reason = static_cast<DropReason>(e.a8);
      f["reason"] = drop_reason_name(reason);
      detail = std::string(drop_reason_name(reason)) + ": " + drop_reason_help(reason);
      break;
    }
  }
  d->set_step(step_name(e.step));
  d->set_detail(detail);
}

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

std::string summarize_ip(uint16_t ether_type, const uint8_t* p, size_t len, const TraceNames& names,
                         int depth);

Ipv6Addr ipv6_at(const uint8_t* p) {
  Ipv6Addr a;
  std::memcpy(a.bytes.data(), p, 16);
  return a;
}

// The transport header `proto` at `l4` (`l4_len` bytes of it): " UDP x > y",
// and inside a tunnel packet (`depth` 0, to the backend's port) its inner
// packet.
std::string summarize_l4(uint8_t proto, const uint8_t* l4, size_t l4_len, const TraceNames& names,
                         int depth) {
  switch (proto) {
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: {
      std::string s = proto == IPPROTO_ICMP ? " ICMP" : " ICMPv6";
      if (l4_len < 2) return s;
      // Neighbour discovery names its target (RFC 4861 4.3, 4.4).
      if (proto == IPPROTO_ICMPV6 && l4_len >= 24 && (l4[0] == 135 || l4[0] == 136))
        return s +
               (l4[0] == 135 ? " neighbour solicitation who-has " : " neighbour advertisement ") +
               ipv6_at(l4 + 8).str();
      return s + " type " + std::to_string(l4[0]) + " code " + std::to_string(l4[1]);
    }
    case IPPROTO_TCP: {
      std::string s = " TCP";
      if (l4_len >= 4) s += " " + std::to_string(be16(l4)) + " > " + std::to_string(be16(l4 + 2));
      return s;
    }
    case IPPROTO_UDP: {
      std::string s = " UDP";
      if (l4_len < 4) return s;
      const uint16_t dport = be16(l4 + 2);
      s += " " + std::to_string(be16(l4)) + " > " + std::to_string(dport);
      if (l4_len < 8 || depth > 0 || names.tunnel_port == 0 || dport != names.tunnel_port) return s;
      const uint8_t* inner = l4 + 8;
      size_t inner_len = l4_len - 8;
      uint16_t inner_type = RTE_ETHER_TYPE_IPV4;  // the udp backend carries IPv4 packets
      if (names.vxlan) {
        if (inner_len < 8 + sizeof(rte_ether_hdr)) return s;
        s +=
            " VXLAN vni " + std::to_string((uint32_t{inner[4]} << 16) | (inner[5] << 8) | inner[6]);
        inner += 8, inner_len -= 8;
        inner_type = be16(inner + 12);
        inner += sizeof(rte_ether_hdr), inner_len -= sizeof(rte_ether_hdr);
      }
      const std::string packet = summarize_ip(inner_type, inner, inner_len, names, depth + 1);
      return packet.empty() ? s : s + ": " + packet;
    }
    default:
      return " proto " + std::to_string(proto);
  }
}

// IPv4 at `p` (`len` bytes of it): "IPv4 a > b UDP x > y", and inside a
// tunnel packet its inner packet.
std::string summarize_ipv4(const uint8_t* p, size_t len, const TraceNames& names, int depth) {
  if (len < sizeof(rte_ipv4_hdr)) return "IPv4 (truncated)";
  rte_ipv4_hdr ip;
  std::memcpy(&ip, p, sizeof(ip));
  std::string s = "IPv4 " + ip_str(ip.src_addr) + " > " + ip_str(ip.dst_addr);
  const size_t ihl = size_t{ip.version_ihl & 0x0fu} * 4;
  if ((rte_be_to_cpu_16(ip.fragment_offset) & 0x1fff) != 0) return s + " fragment";
  return s + summarize_l4(ip.next_proto_id, p + ihl, len > ihl ? len - ihl : 0, names, depth);
}

// IPv6 likewise: "IPv6 a > b ICMPv6 type 128 code 0". Extension headers
// are named by their number, not followed.
std::string summarize_ipv6(const uint8_t* p, size_t len, const TraceNames& names, int depth) {
  if (len < sizeof(rte_ipv6_hdr)) return "IPv6 (truncated)";
  rte_ipv6_hdr ip;
  std::memcpy(&ip, p, sizeof(ip));
  return "IPv6 " + ipv6_at(ip.src_addr).str() + " > " + ipv6_at(ip.dst_addr).str() +
         summarize_l4(ip.proto, p + sizeof(ip), len - sizeof(ip), names, depth);
}

// The IP packet of Ethernet type `ether_type`; "" when it is neither family.
std::string summarize_ip(uint16_t ether_type, const uint8_t* p, size_t len, const TraceNames& names,
                         int depth) {
  if (ether_type == RTE_ETHER_TYPE_IPV4) return summarize_ipv4(p, len, names, depth);
  if (ether_type == RTE_ETHER_TYPE_IPV6) return summarize_ipv6(p, len, names, depth);
  return "";
}

}  // namespace

std::string summarize_frame(const uint8_t* data, size_t len, const TraceNames& names) {
  if (len < sizeof(rte_ether_hdr)) return "runt (" + std::to_string(len) + " bytes)";
  const uint16_t type = be16(data + 12);
  const uint8_t* p = data + sizeof(rte_ether_hdr);
  const size_t rest = len - sizeof(rte_ether_hdr);
  if (std::string packet = summarize_ip(type, p, rest, names, 0); !packet.empty()) return packet;
  if (type == RTE_ETHER_TYPE_ARP) {
    if (rest < sizeof(rte_arp_hdr)) return "ARP (truncated)";
    rte_arp_hdr arp;
    std::memcpy(&arp, p, sizeof(arp));
    const std::string target = ip_str(arp.arp_data.arp_tip);
    const std::string sender = ip_str(arp.arp_data.arp_sip);
    if (rte_be_to_cpu_16(arp.arp_opcode) == RTE_ARP_OP_REQUEST)
      return "ARP who-has " + target + " tell " + sender;
    MacAddr mac;
    std::memcpy(mac.bytes.data(), arp.arp_data.arp_sha.addr_bytes, 6);
    return "ARP " + sender + " is-at " + mac.str();
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "ethertype 0x%04x", type);
  return buf;
}

void render_trace(const TraceRecord& r, const TraceNames& names, v1::TracedPacket* out) {
  out->set_worker(r.worker);
  out->set_rx_port(port_name(names, r.rx_port));
  out->set_rx_queue(r.rx_queue);
  out->set_length(r.orig_len);
  out->set_summary(summarize_frame(r.head, r.head_len, names));
  const bool ipv6 = r.head_len >= sizeof(rte_ether_hdr) && be16(r.head + 12) == RTE_ETHER_TYPE_IPV6;
  for (uint8_t i = 0; i < r.num_events; ++i)
    describe(r.events[i], r, ipv6, names, out->add_decisions());
  out->set_decisions_lost(r.events_lost);
  if (out->decisions().empty()) {
    out->set_verdict("no decision");
    return;
  }
  const v1::TraceDecision& last = *out->decisions().rbegin();
  std::string verdict = last.step() == "tx"     ? "tx " + last.detail()
                        : last.step() == "drop" ? "drop: " + last.fields().at("reason")
                                                : last.step() + ": " + last.detail();
  // Every path ends in a terminal decision; one that did not is shown as such.
  if (!r.finished) verdict = "unfinished after " + last.step();
  out->set_verdict(verdict);
}

bool names_stale(const TraceRecord& r, const TraceNames& names) {
  for (uint8_t i = 0; i < r.num_events; ++i) {
    const TraceEvent& e = r.events[i];
    if ((e.step == TraceStep::kRoute || e.step == TraceStep::kRoute6 ||
         e.step == TraceStep::kSender) &&
        e.a8 && !knows(names, static_cast<uint32_t>(e.b)))
      return true;
    if (e.step == TraceStep::kRewrite6 && !knows(names, e.a32)) return true;
  }
  return false;
}

}  // namespace tartan
