#include "control/cluster/node_mirror.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>
#include <string_view>
#include <unordered_set>

#include "engine/log.h"

namespace tartan {
namespace {

// A change of at most this many nodes logs one info line per node; a larger
// one (a source's initial list, an ApplyNodes call) one summary line at
// info and each node's line at debug: 100,000 lines, each its own write,
// took longer than the change itself.
constexpr size_t kNodesLoggedOneByOne = 16;

double unix_seconds_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

bool valid_node_name(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  if (!std::isalnum(static_cast<unsigned char>(name.front())) ||
      !std::isalnum(static_cast<unsigned char>(name.back()))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::islower(c) || std::isdigit(c) || c == '-' || c == '.';
  });
}

namespace {

// In wireguard's one-device modes a route goes to the node's address and
// port of either family.
bool same_one_device_peer(const NodeStatusView& a, const NodeStatusView& b) {
  return a.one_peer_over_ipv6 == b.one_peer_over_ipv6 &&
         (!a.one_peer_over_ipv6 ||
          (a.public_ip == b.public_ip && a.wireguard_port == b.wireguard_port &&
           a.public_ipv6 == b.public_ipv6 && a.wireguard_port_v6 == b.wireguard_port_v6));
}

bool same_route(const NodeStatusView& a, const NodeStatusView& b) {
  return a.routed == b.routed && a.route == b.route && a.public_ip == b.public_ip &&
         a.vtep_mac == b.vtep_mac && a.wireguard_port == b.wireguard_port &&
         same_one_device_peer(a, b);
}

bool same_route_v6(const NodeStatusView& a, const NodeStatusView& b) {
  return a.routed_v6 == b.routed_v6 && a.route_v6 == b.route_v6 && a.public_ipv6 == b.public_ipv6 &&
         a.vtep_mac_v6 == b.vtep_mac_v6 && a.wireguard_port_v6 == b.wireguard_port_v6 &&
         same_one_device_peer(a, b);
}

// One family's part of a node's change: the upsert of its new route, the
// removal of its old one (a new podCIDR replaces the old one in the same
// delta; the same podCIDR is simply replaced by the upsert).
template <class Spec, class Prefix, class MakeSpec>
void family_change(bool was_routed, bool same, bool routed, const std::optional<Prefix>& old_route,
                   const std::optional<Prefix>& new_route, MakeSpec make,
                   std::vector<Spec>& upserts, std::vector<Prefix>& removals) {
  if (was_routed && same) return;
  if (!was_routed && !routed) return;
  if (routed) upserts.push_back(make());
  if (was_routed && (!routed || new_route != old_route)) removals.push_back(*old_route);
}

// A podCIDR one node of a batch gives up and another takes is simply
// replaced by the upsert.
template <class Spec, class Prefix>
void drop_replaced(const std::vector<Spec>& upserts, std::vector<Prefix>& removals) {
  if (upserts.empty() || removals.empty()) return;
  std::set<Prefix> taken;
  for (const Spec& r : upserts) taken.insert(r.prefix);
  std::erase_if(removals, [&](const Prefix& p) { return taken.count(p) != 0; });
}

// Whether `cidr` of node `name` overlaps our own podCIDR or another node's.
template <class Prefix>
Status overlap(const std::string& name, const Prefix& cidr, const std::optional<Prefix>& local,
               const std::string& own_name, const PrefixIndex<Prefix>& index) {
  if (name != own_name && local && local->overlaps(cidr)) {
    return Status::invalid("pod_cidrs: " + cidr.str() + " overlaps our own podCIDR " +
                           local->str());
  }
  if (auto other = index.overlapping(name, cidr)) {
    return Status::invalid("pod_cidrs: " + cidr.str() + " overlaps the podCIDR of node '" + *other +
                           "'");
  }
  return {};
}

// As Kubernetes counts them: keys and values.
size_t annotation_bytes(const NodeSpec& node) {
  size_t bytes = 0;
  for (const auto& [k, v] : node.annotations) bytes += k.size() + v.size();
  return bytes;
}

}  // namespace

std::vector<NodeWireguardPeer> wireguard_peers_of(const NodeStatusView& s) {
  std::vector<NodeWireguardPeer> out;
  const bool v4 = s.public_ip && s.public_key, v6 = s.public_ipv6 && s.public_key_v6;
  if (s.one_peer_over_ipv6) {
    if (!s.routed_any()) return out;
    if (*s.one_peer_over_ipv6 && v6) {
      out.push_back({*s.public_ipv6, *s.public_key_v6, s.wireguard_port_v6});
    } else if (!*s.one_peer_over_ipv6 && v4) {
      out.push_back({*s.public_ip, *s.public_key, s.wireguard_port});
    }
    return out;
  }
  if (s.routed && v4) out.push_back({*s.public_ip, *s.public_key, s.wireguard_port});
  if (s.routed_v6 && v6)
    out.push_back({*s.public_ipv6, *s.public_key_v6, s.wireguard_port_v6, true});
  return out;
}

size_t node_bytes(const NodeSpec& node) {
  // A std::map node costs about four pointers and a colour beside its pair.
  constexpr size_t kMapNode = 48;
  size_t bytes = sizeof(NodeRecord) + node.name.size();
  for (const std::string& c : node.pod_cidrs) bytes += sizeof(std::string) + c.size();
  for (const NodeAddressSpec& a : node.addresses)
    bytes += sizeof(NodeAddressSpec) + a.type.size() + a.address.size();
  for (const auto& [k, v] : node.annotations)
    bytes += kMapNode + 2 * sizeof(std::string) + k.size() + v.size();
  return bytes;
}

// One family's view of a node's annotations, for the checks both take.
struct NodeMirror::Family {
  const char* name;  // "IPv4", "IPv6"
  bool has_pod_cidr;
  const std::string& data_key;  // backend-data, backend-v6-data
  const std::optional<MacAddr>& vtep_mac;
  const std::optional<uint32_t>& vni;
  const std::optional<WireguardKey>& public_key;
  bool has_public_ip;
  const std::string& public_ip_key;  // public-ip, public-ipv6
};

std::optional<std::string> NodeMirror::unrouted(const NodeSpec& spec, const FlannelNodeInfo& info,
                                                const Family& f) const {
  if (spec.name == settings_.own_node_name) return "this node (our own lease)";
  if (!f.has_pod_cidr) return std::string("no ") + f.name + " podCIDR";
  if (!info.subnet_manager) {
    return "no " + settings_.keys.kube_subnet_manager +
           "=\"true\" annotation: flannel has not registered it";
  }
  if (!info.backend_type) return "no " + settings_.keys.backend_type + " annotation";
  const std::string ours = flannel_backend_type(settings_.backend);
  const bool same_backend = *info.backend_type == ours ||
                            (settings_.backend == BackendType::kUdp && *info.backend_type == "udp");
  if (!same_backend) {
    const std::string theirs = info.backend_type->empty() ? "udp" : *info.backend_type;
    return "backend-type is '" + theirs + "', this node runs " +
           backend_type_name(settings_.backend);
  }
  if (settings_.backend == BackendType::kVxlan) {
    if (!f.vtep_mac) return "no VtepMAC in " + f.data_key;
    if (!f.vni) return "no VNI in " + f.data_key;
    if (*f.vni != settings_.vni) {
      return "VNI " + std::to_string(*f.vni) + " differs from ours (" +
             std::to_string(settings_.vni) + ")";
    }
  }
  if (settings_.backend == BackendType::kWireguard && !f.public_key)
    return "no PublicKey in " + f.data_key;
  if (!f.has_public_ip) return "no " + f.public_ip_key + " annotation";
  return std::nullopt;
}

NodeStatusView NodeMirror::derive(const NodeSpec& spec, const FlannelNodeInfo& info) const {
  NodeStatusView s;
  s.public_ip = info.public_ip;
  s.vtep_mac = info.vtep_mac;
  s.public_key = info.public_key;
  s.wireguard_port = info.wireguard_port;
  s.public_ipv6 = info.public_ipv6;
  s.vtep_mac_v6 = info.vtep_mac_v6;
  s.wireguard_port_v6 = info.wireguard_port_v6;
  s.public_key_v6 = info.public_key_v6;
  s.backend = info.backend_type ? (info.backend_type->empty() ? "udp" : *info.backend_type) : "";
  // With one family off there is nothing to pick: its own carries it.
  if (settings_.backend == BackendType::kWireguard && settings_.enable_ipv4 &&
      settings_.ipv6_network) {
    s.one_peer_over_ipv6 =
        one_peer_over_ipv6(settings_.wireguard, info.public_ip, info.public_ipv6);
  }
  const AnnotationKeys& k = settings_.keys;
  // What a family's routes are sent to: its own annotations, or in
  // wireguard's one-device modes those of the family the node's one peer
  // is reached over.
  const auto tunnel = [&](bool ipv6, const char* name, bool has_pod_cidr) -> Family {
    const bool v6 = s.one_peer_over_ipv6.value_or(ipv6);
    return v6 ? Family{name,
                       has_pod_cidr,
                       k.backend_v6_data,
                       info.vtep_mac_v6,
                       info.vni_v6,
                       info.public_key_v6,
                       info.public_ipv6.has_value(),
                       k.public_ipv6}
              : Family{name,
                       has_pod_cidr,
                       k.backend_data,
                       info.vtep_mac,
                       info.vni,
                       info.public_key,
                       info.public_ip.has_value(),
                       k.public_ip};
  };
  // Each family is routed on its own: a node without public-ipv6 keeps its
  // IPv4 route and says why it has no IPv6 one. A family that is off has
  // nothing to say.
  if (settings_.enable_ipv4) {
    const auto why = unrouted(spec, info, tunnel(false, "IPv4", info.pod_cidr.has_value()));
    s.routed = !why;
    s.reason = why.value_or("");
    if (s.routed) s.route = info.pod_cidr;
  }
  if (!settings_.ipv6_network) return s;
  const auto why6 = info.ipv6_invalid
                        ? info.ipv6_invalid
                        : unrouted(spec, info, tunnel(true, "IPv6", info.pod_cidr_v6.has_value()));
  s.routed_v6 = !why6;
  s.reason_v6 = why6.value_or("");
  if (s.routed_v6) s.route_v6 = info.pod_cidr_v6;
  return s;
}

// In wireguard's one-device modes a route of the family the node's peer
// is not reached over crosses to the other family's next hop, at that
// family's address and Port.
RouteSpec NodeMirror::route_of(const NodeStatusView& s) const {
  if (s.one_peer_over_ipv6.value_or(false)) {
    return RouteSpec{*s.route,      s.public_ip.value_or(Ipv4Addr{}),
                     MacAddr{},     settings_.backend,
                     settings_.vni, s.wireguard_port_v6,
                     *s.public_ipv6};
  }
  return RouteSpec{*s.route,          *s.public_ip,  s.vtep_mac.value_or(MacAddr{}),
                   settings_.backend, settings_.vni, s.wireguard_port};
}

Route6Spec NodeMirror::route6_of(const NodeStatusView& s) const {
  if (!s.one_peer_over_ipv6.value_or(true)) {
    return Route6Spec{*s.route_v6,   s.public_ipv6.value_or(Ipv6Addr{}),
                      MacAddr{},     settings_.backend,
                      settings_.vni, s.wireguard_port,
                      *s.public_ip};
  }
  return Route6Spec{*s.route_v6,       *s.public_ipv6, s.vtep_mac_v6.value_or(MacAddr{}),
                    settings_.backend, settings_.vni,  s.wireguard_port_v6};
}

void NodeMirror::route_change(const NodeRecord* before, const NodeStatusView& after,
                              TableDelta& delta) const {
  static const NodeStatusView kNone;
  const NodeStatusView& was = before != nullptr ? before->status : kNone;
  family_change(
      was.routed, same_route(was, after), after.routed, was.route, after.route,
      [&] { return route_of(after); }, delta.upsert_routes, delta.remove_routes);
  family_change(
      was.routed_v6, same_route_v6(was, after), after.routed_v6, was.route_v6, after.route_v6,
      [&] { return route6_of(after); }, delta.upsert_routes6, delta.remove_routes6);
}

Status NodeMirror::program(TableDelta& delta) {
  drop_replaced(delta.upsert_routes, delta.remove_routes);
  drop_replaced(delta.upsert_routes6, delta.remove_routes6);
  if (delta.upsert_routes.empty() && delta.remove_routes.empty() && delta.upsert_routes6.empty() &&
      delta.remove_routes6.empty())
    return {};
  if (Status s = engine_.apply(delta); !s.ok()) return s;
  if (route_hook_) route_hook_(delta);
  return {};
}

void NodeMirror::set_route_hook(RouteHook hook) {
  std::lock_guard lock(mu_);
  route_hook_ = std::move(hook);
}

void NodeMirror::log_change(NodeEvent::Type type, const NodeRecord& node, const std::string& cause,
                            uint32_t level) const {
  if (!log_enabled(level, LogComponent::kControl)) return;
  const char* what = type == NodeEvent::Type::kAdded      ? "added"
                     : type == NodeEvent::Type::kModified ? "modified"
                                                          : "deleted";
  // Each family the network enables, on its own: its podCIDR and route.
  const auto side = [type](const std::string& label, const auto& cidr, bool routed,
                           const auto& public_ip, const std::string& reason) {
    std::string out = label + " " + (cidr ? cidr->str() : "(none)") + ", ";
    if (type == NodeEvent::Type::kDeleted)
      return out + (routed ? "route removed" : "was not routed");
    if (!routed) return out + "not routed: " + reason;
    return out + "routed via " + (public_ip ? public_ip->str() : "?") +
           (reason.empty() ? "" : " (" + reason + ")");
  };
  const NodeStatusView& st = node.status;
  std::string sides;
  if (settings_.enable_ipv4)
    sides = side("podCIDR", node.pod_cidr, st.routed, st.public_ip, st.reason);
  if (settings_.ipv6_network) {
    sides += (sides.empty() ? "" : "; ") +
             side("IPv6 podCIDR", node.pod_cidr_v6, st.routed_v6, st.public_ipv6, st.reason_v6);
  }
  log_message(level, LogComponent::kControl, "node %s %s (%s): %s", node.spec.name.c_str(), what,
              cause.c_str(), sides.c_str());
}

void NodeMirror::record(NodeEvent::Type type, NodeRecordRef node) {
  log_bytes_ += node->bytes;
  log_.push_back(NodeEvent{type, std::move(node), version_});
  // The newest event stays whatever it costs: watchers must see it.
  while (log_.size() > 1 &&
         (log_.size() > settings_.event_log_size || log_bytes_ > settings_.event_log_bytes)) {
    log_bytes_ -= log_.front().node->bytes;
    log_.pop_front();
  }
}

Result<NodeRecord> NodeMirror::apply(const NodeSpec& node, std::optional<uint64_t> expected_version,
                                     const std::string& cause) {
  std::lock_guard lock(mu_);
  return apply_one(Change{&node, node.name, expected_version}, Invalid::kRefuse, cause);
}

Result<NodeRecord> NodeMirror::keep(const NodeSpec& node, const std::string& cause,
                                    const std::optional<std::string>& unroutable) {
  std::lock_guard lock(mu_);
  return apply_one(Change{&node, node.name, std::nullopt, unroutable ? &*unroutable : nullptr},
                   Invalid::kKeepUnrouted, cause);
}

Result<NodeRecord> NodeMirror::apply_one(Change change, Invalid invalid, const std::string& cause) {
  std::vector<NodeRecordRef> out;
  if (Status s = apply_locked({std::move(change)}, invalid, cause, &out, nullptr); !s.ok())
    return s;
  return *out.front();
}

Result<NodeRecord> NodeMirror::note(const std::string& name, const std::string& note,
                                    const std::string& cause) {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return Status(ErrorCode::kNotFound, "node '" + name + "' not found");
  const NodeStatusView& st = it->second->status;
  if ((!st.routed || st.reason == note) && (!st.routed_v6 || st.reason_v6 == note))
    return *it->second;
  // Only the reasons change: nothing to program, published as any change.
  auto noted = std::make_shared<NodeRecord>(*it->second);
  if (st.routed) noted->status.reason = note;
  if (st.routed_v6) noted->status.reason_v6 = note;
  std::vector<Staged> staged;
  staged.push_back(Staged{it->second, std::move(noted)});
  std::vector<NodeRecordRef> out;
  publish(staged, cause, &out);
  return *out.front();
}

std::optional<Status> NodeMirror::invalidity(const NodeSpec& node,
                                             const Result<FlannelNodeInfo>& info) const {
  if (const size_t bytes = annotation_bytes(node); bytes > kMaxAnnotationBytes) {
    return Status::invalid("annotations: " + std::to_string(bytes) + " bytes, more than the " +
                           std::to_string(kMaxAnnotationBytes) + " Kubernetes allows");
  }
  if (!info) return info.status();
  if (info->pod_cidr && settings_.enable_ipv4) {
    if (!settings_.network.contains(*info->pod_cidr)) {
      return Status::invalid("pod_cidrs: " + info->pod_cidr->str() +
                             " is outside the cluster network " + settings_.network.str());
    }
    if (Status s = overlap(node.name, *info->pod_cidr, local_subnet_, settings_.own_node_name,
                           cidr_index_);
        !s.ok())
      return s;
  }
  if (info->pod_cidr_v6 && settings_.ipv6_network) {
    if (!settings_.ipv6_network->contains(*info->pod_cidr_v6)) {
      return Status::invalid("pod_cidrs: " + info->pod_cidr_v6->str() +
                             " is outside the cluster IPv6 network " +
                             settings_.ipv6_network->str());
    }
    if (Status s = overlap(node.name, *info->pod_cidr_v6, local_subnet_v6_, settings_.own_node_name,
                           cidr6_index_);
        !s.ok())
      return s;
  }
  return std::nullopt;
}

void NodeMirror::index_cidrs(const NodeRecord& rec, bool add, IndexUndo& undo) {
  cidr_index_.set(rec.pod_cidr, rec.spec.name, add, undo.v4);
  cidr6_index_.set(rec.pod_cidr_v6, rec.spec.name, add, undo.v6);
}

void NodeMirror::undo_index(const IndexUndo& undo) {
  cidr_index_.undo(undo.v4);
  cidr6_index_.undo(undo.v6);
}

Result<NodeMirror::Staged> NodeMirror::stage(const Change& change, Invalid invalid,
                                             const std::string& cause, IndexUndo& undo) {
  auto existing = nodes_.find(change.name);
  const bool exists = existing != nodes_.end();
  const auto check_version = [&]() -> Status {
    if (!change.expected_version) return {};
    if (!exists) {
      return Status(ErrorCode::kAborted, "node '" + change.name +
                                             "' does not exist (expected resource version " +
                                             std::to_string(*change.expected_version) + ")");
    }
    if (existing->second->resource_version != *change.expected_version) {
      return Status(ErrorCode::kAborted, "node '" + change.name + "' is at resource version " +
                                             std::to_string(existing->second->resource_version) +
                                             ", not " + std::to_string(*change.expected_version));
    }
    return {};
  };
  if (change.node == nullptr) {
    if (!exists) return Status(ErrorCode::kNotFound, "node '" + change.name + "' not found");
    if (Status s = check_version(); !s.ok()) return s;
    index_cidrs(*existing->second, false, undo);
    return Staged{existing->second, nullptr, false};
  }

  const NodeSpec& node = *change.node;
  if (!valid_node_name(node.name)) {
    return Status::invalid("name: '" + node.name +
                           "' is not a valid node name (lowercase DNS-1123 subdomain)");
  }
  const auto info = read_flannel_node(node, settings_.keys);
  const std::optional<Status> bad = change.unroutable
                                        ? std::optional(Status::invalid(*change.unroutable))
                                        : invalidity(node, info);
  if (bad && invalid == Invalid::kRefuse) return *bad;
  // A kept node with bad IPv6 annotations keeps its IPv4 route (derive says
  // why it has no IPv6 one); one pushed through the API is refused.
  if (invalid == Invalid::kRefuse && settings_.ipv6_network && info && info->ipv6_invalid)
    return Status::invalid(*info->ipv6_invalid);
  // Our own lease decides our podCIDR: a node pushed under our name that
  // says otherwise is a mistake worth refusing, not a change to keep quietly.
  if (invalid == Invalid::kRefuse && node.name == settings_.own_node_name && info) {
    const auto differs = [&](const auto& theirs, const auto& ours) -> std::optional<Status> {
      if (!theirs || !ours || *theirs == *ours) return std::nullopt;
      TARTAN_LOG(WARNING, kControl,
                 "node %s refused (%s): podCIDR %s differs from our own lease %s",
                 node.name.c_str(), cause.c_str(), theirs->str().c_str(), ours->str().c_str());
      return Status::invalid("pod_cidrs: " + theirs->str() + " differs from our own lease " +
                             ours->str() + " (node '" + node.name + "' is this node)");
    };
    if (auto s = differs(info->pod_cidr, local_subnet_)) return *s;
    if (auto s = differs(info->pod_cidr_v6, local_subnet_v6_)) return *s;
  }
  if (Status s = check_version(); !s.ok()) return s;
  NodeRecordRef before = exists ? existing->second : nullptr;
  // Unchanged, unless a note() or the source's reason is to be replaced.
  if (exists && before->spec == node) {
    const NodeStatusView& was = before->status;
    const std::string& reason = settings_.enable_ipv4 ? was.reason : was.reason_v6;
    const bool noted =
        (was.routed && !was.reason.empty()) || (was.routed_v6 && !was.reason_v6.empty());
    if (change.unroutable ? !was.routed_any() && reason == *change.unroutable : !noted)
      return Staged{before, nullptr, true};
  }

  auto after = std::make_shared<NodeRecord>();
  NodeRecord& rec = *after;
  const bool oversized = bad && annotation_bytes(node) > kMaxAnnotationBytes;
  if (bad) {
    if (settings_.enable_ipv4) rec.status.reason = bad->message();
    if (settings_.ipv6_network) rec.status.reason_v6 = bad->message();
    if (info) {
      rec.status.public_ip = info->public_ip;
      rec.status.vtep_mac = info->vtep_mac;
      rec.status.public_ipv6 = info->public_ipv6;
      rec.status.vtep_mac_v6 = info->vtep_mac_v6;
    }
  } else {
    rec.status = derive(node, *info);
    if (settings_.enable_ipv4) rec.pod_cidr = info->pod_cidr;
    if (settings_.ipv6_network) rec.pod_cidr_v6 = info->pod_cidr_v6;
  }
  // Last, as `node` may be moved from.
  rec.spec = change.take ? std::move(*change.take) : node;
  if (before) index_cidrs(*before, false, undo);
  index_cidrs(rec, true, undo);
  if (oversized) rec.spec.annotations.clear();
  rec.bytes = node_bytes(rec.spec);
  return Staged{std::move(before), std::move(after), false};
}

void NodeMirror::commit(Staged& staged, const Batch& batch, std::vector<NodeRecordRef>* out) {
  if (staged.unchanged) {
    if (out) out->push_back(std::move(staged.before));
    return;
  }
  const NodeRecord* before = staged.before.get();
  if (before) {
    if (before->status.route) routed_.erase(*before->status.route);
    if (before->status.route_v6) routed6_.erase(*before->status.route_v6);
    node_bytes_ -= before->bytes;
  }
  // An event the log would drop again before this change ends is not kept.
  const bool kept_in_log = version_ - batch.first_version >= batch.events_not_kept;
  ++version_;
  if (!staged.after) {
    nodes_.erase(before->spec.name);
    log_change(NodeEvent::Type::kDeleted, *before, batch.cause, batch.log_level);
    if (out) {
      // The caller's record is at the version of the deletion, the event's
      // as the node was.
      auto removed = std::make_shared<NodeRecord>(*before);
      removed->resource_version = version_;
      out->push_back(std::move(removed));
    }
    if (kept_in_log) record(NodeEvent::Type::kDeleted, std::move(staged.before));
    return;
  }
  NodeRecord& rec = *staged.after;
  if (rec.status.routed) routed_[*rec.status.route] = rec.spec.name;
  if (rec.status.routed_v6) routed6_[*rec.status.route_v6] = rec.spec.name;
  rec.resource_version = version_;
  node_bytes_ += rec.bytes;
  NodeRecordRef kept = std::move(staged.after);
  nodes_.insert_or_assign(kept->spec.name, kept);
  const NodeEvent::Type type = before ? NodeEvent::Type::kModified : NodeEvent::Type::kAdded;
  log_change(type, *kept, batch.cause, batch.log_level);
  if (out) out->push_back(kept);
  if (kept_in_log) record(type, std::move(kept));
}

namespace {

// The route an engine error names ("route 10.244.3.0/24: ...", "route
// fd00::/64: ..."), so a batch's error can say which node it was.
std::optional<std::string> route_named(const std::string& message) {
  static constexpr std::string_view kRoute = "route ";
  if (message.rfind(kRoute, 0) != 0) return std::nullopt;
  const size_t end = message.find(": ");
  return message.substr(kRoute.size(),
                        end == std::string::npos ? std::string::npos : end - kRoute.size());
}

// Whether `status` routes the prefix written `text`, in either family.
bool routes(const NodeStatusView& status, const std::string& text) {
  return (status.route && status.route->str() == text) ||
         (status.route_v6 && status.route_v6->str() == text);
}

}  // namespace

Status NodeMirror::apply_locked(const std::vector<Change>& changes, Invalid invalid,
                                const std::string& cause, std::vector<NodeRecordRef>* out,
                                size_t* failed) {
  IndexUndo undo;
  // An entry for each podCIDR a change adds (and one for each it replaces).
  undo.v4.reserve(settings_.enable_ipv4 ? changes.size() : 0);
  undo.v6.reserve(settings_.ipv6_network ? changes.size() : 0);
  const auto fail = [&](size_t i, Status s) {
    undo_index(undo);
    if (failed) *failed = i;
    return s;
  };
  // Kept nodes are independent of each other: one that cannot be (a bad
  // name) is left out, named in `skipped`, and the others go ahead.
  const bool all_or_nothing = invalid == Invalid::kRefuse || changes.size() == 1;
  std::string skipped;
  std::vector<Staged> staged;
  staged.reserve(changes.size());
  std::set<std::string_view> names;
  for (size_t i = 0; i < changes.size(); ++i) {
    const Change& c = changes[i];
    auto s = changes.size() > 1 && !names.insert(c.name).second
                 ? Result<Staged>(Status::invalid("name: '" + c.name + "' is given twice"))
                 : stage(c, invalid, cause, undo);
    if (!s && all_or_nothing) return fail(i, s.status());
    if (!s) {
      skipped += "; node '" + c.name + "': " + s.status().message();
      continue;
    }
    staged.push_back(std::move(*s));
  }

  TableDelta delta;
  static const NodeStatusView kRemoved;
  for (const Staged& s : staged) {
    if (!s.unchanged) route_change(s.before.get(), s.after ? s.after->status : kRemoved, delta);
  }
  if (Status s = program(delta); !s.ok()) {
    // The engine refused the routes (a public IP another node's VTEP has,
    // a full table).
    if (invalid == Invalid::kRefuse) {
      size_t culprit = SIZE_MAX;
      if (const auto prefix = route_named(s.message())) {
        for (size_t i = 0; i < staged.size() && culprit == SIZE_MAX; ++i) {
          const Staged& st = staged[i];
          if ((st.after && routes(st.after->status, *prefix)) ||
              (st.before && routes(st.before->status, *prefix)))
            culprit = i;
        }
      }
      return fail(culprit, s);
    }
    undo_index(undo);
    // A kept node stays, unrouted, saying why: one at a time, so only the
    // nodes the engine refuses are.
    if (!all_or_nothing) {
      std::string failures;
      for (const Change& c : changes) {
        std::vector<NodeRecordRef> one;
        if (Status f = apply_locked({c}, invalid, cause, out ? &one : nullptr, nullptr); !f.ok()) {
          failures += "; node '" + c.name + "': " + f.message();
        } else if (out) {
          out->push_back(std::move(one.front()));
        }
      }
      if (failures.empty()) return {};
      return Status::invalid(failures.substr(2));
    }
    Staged& one = staged.front();
    if (!one.after) return s;
    NodeStatusView& st = one.after->status;
    st.routed = false;
    st.route.reset();
    if (settings_.enable_ipv4) st.reason = s.message();
    if (st.routed_v6) {
      st.routed_v6 = false;
      st.route_v6.reset();
      st.reason_v6 = s.message();
    }
    TableDelta removal;
    route_change(one.before.get(), st, removal);
    if (Status removed = program(removal); !removed.ok()) return removed;
    if (one.before) index_cidrs(*one.before, false, undo);
    index_cidrs(*one.after, true, undo);
  }
  publish(staged, cause, out);
  if (skipped.empty()) return {};
  return Status::invalid(skipped.substr(2));
}

void NodeMirror::publish(std::vector<Staged>& staged, const std::string& cause,
                         std::vector<NodeRecordRef>* out) {
  const size_t events = static_cast<size_t>(
      std::count_if(staged.begin(), staged.end(), [](const Staged& s) { return !s.unchanged; }));
  const Batch batch{cause, events <= kNodesLoggedOneByOne ? RTE_LOG_INFO : RTE_LOG_DEBUG, version_,
                    events > settings_.event_log_size ? events - settings_.event_log_size : 0};
  if (events > kNodesLoggedOneByOne) log_summary(staged, events, cause);
  if (batch.events_not_kept > 0) {
    // Every event before this change would leave the log too.
    log_.clear();
    log_bytes_ = 0;
  }
  if (out) out->reserve(out->size() + staged.size());
  for (Staged& s : staged) commit(s, batch, out);
  if (events > 0) {
    last_update_seconds_ = unix_seconds_now();
    if (event_hook_) event_hook_();
  }
}

void NodeMirror::log_summary(const std::vector<Staged>& staged, size_t events,
                             const std::string& cause) const {
  size_t added = 0, modified = 0, deleted = 0, routed = 0, unrouted = 0;
  const NodeRecord* first_unrouted = nullptr;
  for (const Staged& s : staged) {
    if (s.unchanged) continue;
    if (!s.after) {
      ++deleted;
      continue;
    }
    ++(s.before ? modified : added);
    if (s.after->status.routed) {
      ++routed;
    } else if (++unrouted == 1) {
      first_unrouted = &*s.after;
    }
  }
  std::string why;
  if (first_unrouted) {
    why = " (the first: node " + first_unrouted->spec.name + ", " + first_unrouted->status.reason +
          ")";
  }
  TARTAN_LOG(INFO, kControl,
             "%zu nodes changed (%s): %zu added, %zu modified, %zu deleted; of those added or "
             "modified %zu routed, %zu not routed%s; resource versions %llu to %llu; each node's "
             "line is at debug level",
             events, cause.c_str(), added, modified, deleted, routed, unrouted, why.c_str(),
             static_cast<unsigned long long>(version_ + 1),
             static_cast<unsigned long long>(version_ + events));
}

Result<uint64_t> NodeMirror::remove(const std::string& name,
                                    std::optional<uint64_t> expected_version,
                                    const std::string& cause) {
  std::lock_guard lock(mu_);
  std::vector<NodeRecordRef> out;
  if (Status s = apply_locked({Change{nullptr, name, expected_version}}, Invalid::kRefuse, cause,
                              &out, nullptr);
      !s.ok())
    return s;
  return out.front()->resource_version;
}

Result<NodeMirror::Applied> NodeMirror::apply_all(std::vector<Upsert> upserts,
                                                  const std::vector<Removal>& removals,
                                                  const std::string& cause, size_t* failed) {
  std::vector<Change> changes;
  changes.reserve(upserts.size() + removals.size());
  for (const Removal& r : removals) changes.push_back(Change{nullptr, r.name, r.expected_version});
  for (Upsert& u : upserts)
    changes.push_back(Change{&u.node, u.node.name, u.expected_version, nullptr, &u.node});
  std::lock_guard lock(mu_);
  std::vector<NodeRecordRef> out;
  size_t at = SIZE_MAX;
  if (Status s = apply_locked(changes, Invalid::kRefuse, cause, &out, &at); !s.ok()) {
    // Removals go first, but the caller counts upserts first.
    if (failed) {
      *failed = at == SIZE_MAX         ? SIZE_MAX
                : at < removals.size() ? upserts.size() + at
                                       : at - removals.size();
    }
    return s;
  }
  // Upserts first, as the caller gave them.
  std::rotate(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(removals.size()), out.end());
  return Applied{std::move(out), version_};
}

Status NodeMirror::replace_all(const std::vector<NodeSpec>& nodes, const std::string& cause,
                               const std::map<std::string, std::string>& unroutable) {
  std::lock_guard lock(mu_);
  std::unordered_set<std::string_view> wanted;
  wanted.reserve(nodes.size());
  for (const NodeSpec& n : nodes) wanted.insert(n.name);
  std::vector<Change> changes;
  changes.reserve(nodes.size() + nodes_.size());
  for (const auto& [name, rec] : nodes_) {
    if (!wanted.count(name)) changes.push_back(Change{nullptr, name, std::nullopt});
  }
  for (const NodeSpec& n : nodes) {
    const auto reason = unroutable.find(n.name);
    changes.push_back(
        Change{&n, n.name, std::nullopt, reason == unroutable.end() ? nullptr : &reason->second});
  }
  const Status s = apply_locked(changes, Invalid::kKeepUnrouted, cause, nullptr, nullptr);
  last_update_seconds_ = unix_seconds_now();
  if (s.ok()) return {};
  // One change alone fails as it is; several name theirs.
  const std::string who = changes.size() == 1 ? "node '" + changes.front().name + "': " : "";
  return Status::invalid("some nodes were not applied: " + who + s.message());
}

std::optional<NodeRecord> NodeMirror::get(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return std::nullopt;
  return *it->second;
}

std::pair<std::vector<NodeRecord>, uint64_t> NodeMirror::list(const std::string& after_name,
                                                              size_t limit) const {
  std::lock_guard lock(mu_);
  std::vector<NodeRecord> out;
  for (auto it = nodes_.upper_bound(after_name); it != nodes_.end() && out.size() < limit; ++it) {
    out.push_back(*it->second);
  }
  return {out, version_};
}

double NodeMirror::last_update_seconds() const {
  std::lock_guard lock(mu_);
  return last_update_seconds_;
}

uint64_t NodeMirror::resource_version() const {
  std::lock_guard lock(mu_);
  return version_;
}

NodeMirror::Footprint NodeMirror::footprint() const {
  std::lock_guard lock(mu_);
  return {nodes_.size(), node_bytes_, log_.size(), log_bytes_};
}

NodeMirror::WatchBatch NodeMirror::events_after(uint64_t version, size_t max_events) const {
  std::lock_guard lock(mu_);
  WatchBatch batch;
  const uint64_t oldest_known = log_.empty() ? version_ : log_.front().resource_version - 1;
  if (version < oldest_known || version > version_) {
    batch.resync = true;
    return batch;
  }
  // Versions in the log are consecutive: the event after `version` is at
  // index version - oldest_known.
  for (size_t i = version - oldest_known; i < log_.size() && batch.events.size() < max_events; ++i)
    batch.events.push_back(log_[i]);
  return batch;
}

void NodeMirror::set_event_hook(std::function<void()> hook) {
  std::lock_guard lock(mu_);
  event_hook_ = std::move(hook);
}

Status NodeMirror::set_local_subnets(const PodCidrs& subnets) {
  std::lock_guard lock(mu_);
  const auto taken = [&](const char* field, const auto& subnet, const auto& index) -> Status {
    if (!subnet) return {};
    if (auto other = index.any_overlapping(*subnet, settings_.own_node_name)) {
      return Status::invalid(std::string(field) + ": " + subnet->str() +
                             " overlaps the podCIDR of node '" + *other + "'");
    }
    return {};
  };
  if (Status s = taken("pod_cidr", subnets.v4, cidr_index_); !s.ok()) return s;
  if (Status s = taken("pod_cidr_v6", subnets.v6, cidr6_index_); !s.ok()) return s;
  if (Status s = engine_.set_local_subnet(subnets.v4); !s.ok()) return s;
  if (subnets.v6 || local_subnet_v6_) {
    if (Status s = engine_.set_local_subnet6(subnets.v6); !s.ok()) {
      (void)engine_.set_local_subnet(local_subnet_);  // all or nothing
      return s;
    }
  }
  local_subnet_ = subnets.v4;
  local_subnet_v6_ = subnets.v6;
  return {};
}

std::optional<std::string> NodeMirror::node_of(const Ipv4Prefix& prefix) const {
  std::lock_guard lock(mu_);
  auto it = routed_.find(prefix);
  if (it == routed_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> NodeMirror::node_of(const Ipv6Prefix& prefix) const {
  std::lock_guard lock(mu_);
  auto it = routed6_.find(prefix);
  if (it == routed6_.end()) return std::nullopt;
  return it->second;
}

std::vector<NodeRecord> NodeMirror::routed() const {
  std::lock_guard lock(mu_);
  // In IPv4 route order, then the nodes routed for IPv6 alone.
  std::vector<NodeRecord> out;
  for (const auto& [prefix, name] : routed_) out.push_back(*nodes_.at(name));
  for (const auto& [prefix, name] : routed6_) {
    const NodeRecordRef& rec = nodes_.at(name);
    if (!rec->status.routed) out.push_back(*rec);
  }
  return out;
}

}  // namespace tartan
