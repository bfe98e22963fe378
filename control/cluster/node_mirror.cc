#include "control/cluster/node_mirror.h"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "engine/log.h"

namespace tartan {
namespace {}  // namespace

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

uint32_t last_address(const Ipv4Prefix& p) {
  return p.addr.value | ~p.mask();
}

bool same_route(const NodeStatusView& a, const NodeStatusView& b) {
  return a.routed == b.routed && a.route == b.route && a.public_ip == b.public_ip &&
         a.vtep_mac == b.vtep_mac;
}

// As Kubernetes counts them: keys and values.
size_t annotation_bytes(const NodeSpec& node) {
  size_t bytes = 0;
  for (const auto& [k, v] : node.annotations) bytes += k.size() + v.size();
  return bytes;
}

}  // namespace

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

NodeStatusView NodeMirror::derive(const NodeSpec& spec, const FlannelNodeInfo& info) const {
  NodeStatusView s;
  s.public_ip = info.public_ip;
  s.vtep_mac = info.vtep_mac;
  s.backend = info.backend_type ? (info.backend_type->empty() ? "udp" : *info.backend_type) : "";
  const auto not_routed = [&](std::string reason) {
    s.reason = std::move(reason);
    return s;
  };
  if (spec.name == settings_.own_node_name) return not_routed("this node (our own lease)");
  if (!info.pod_cidr) return not_routed("no IPv4 podCIDR");
  if (!info.subnet_manager) {
    return not_routed("no " + settings_.keys.kube_subnet_manager +
                      "=\"true\" annotation: flannel has not registered it");
  }
  if (!info.backend_type) return not_routed("no " + settings_.keys.backend_type + " annotation");
  const std::string ours = flannel_backend_type(settings_.backend);
  const bool same_backend = *info.backend_type == ours ||
                            (settings_.backend == BackendType::kUdp && *info.backend_type == "udp");
  if (!same_backend) {
    return not_routed("backend-type is '" + s.backend + "', this node runs " +
                      backend_type_name(settings_.backend));
  }
  if (settings_.backend == BackendType::kVxlan) {
    if (!info.vtep_mac) return not_routed("no VtepMAC in " + settings_.keys.backend_data);
    if (!info.vni) return not_routed("no VNI in " + settings_.keys.backend_data);
    if (*info.vni != settings_.vni) {
      return not_routed("VNI " + std::to_string(*info.vni) + " differs from ours (" +
                        std::to_string(settings_.vni) + ")");
    }
  }
  if (!info.public_ip) return not_routed("no " + settings_.keys.public_ip + " annotation");
  s.routed = true;
  s.route = info.pod_cidr;
  return s;
}

Status NodeMirror::check_overlap(const std::string& name, const Ipv4Prefix& cidr) const {
  if (name != settings_.own_node_name && local_subnet_ && local_subnet_->overlaps(cidr)) {
    return Status::invalid("pod_cidrs: " + cidr.str() + " overlaps our own podCIDR " +
                           local_subnet_->str());
  }
  const uint32_t first = cidr.addr.value, last = last_address(cidr);
  // The entry starting at or before `last` with the highest start is the
  // only one that can overlap, as stored ranges do not overlap each other.
  auto it = cidr_index_.upper_bound(last);
  if (it == cidr_index_.begin()) return {};
  --it;
  if (it->second.first >= first && it->second.second != name) {
    return Status::invalid("pod_cidrs: " + cidr.str() + " overlaps the podCIDR of node '" +
                           it->second.second + "'");
  }
  // A range of this same node may sit just below; look one further.
  if (it->second.second == name && it != cidr_index_.begin()) {
    auto prev = std::prev(it);
    if (prev->second.first >= first) {
      return Status::invalid("pod_cidrs: " + cidr.str() + " overlaps the podCIDR of node '" +
                             prev->second.second + "'");
    }
  }
  return {};
}

RouteSpec NodeMirror::route_of(const NodeStatusView& s) const {
  return RouteSpec{*s.route, *s.public_ip, s.vtep_mac.value_or(MacAddr{}), settings_.backend,
                   settings_.vni};
}

Status NodeMirror::program(const NodeRecord* before, const NodeStatusView& after) {
  const bool was_routed = before != nullptr && before->status.routed;
  if (was_routed && same_route(before->status, after)) return {};
  if (!was_routed && !after.routed) return {};
  TableDelta delta;
  if (after.routed) delta.upsert_routes.push_back(route_of(after));
  // A new podCIDR replaces the old one in the same delta; the same podCIDR
  // is simply replaced by the upsert.
  if (was_routed && (!after.routed || after.route != before->status.route)) {
    delta.remove_routes.push_back(*before->status.route);
  }
  if (Status s = engine_.apply(delta); !s.ok()) return s;
  if (route_hook_) {
    for (const Ipv4Prefix& gone : delta.remove_routes) route_hook_(gone, std::nullopt);
    if (after.routed) route_hook_(*after.route, after);
  }
  return {};
}

void NodeMirror::set_route_hook(RouteHook hook) {
  std::lock_guard lock(mu_);
  route_hook_ = std::move(hook);
}

namespace {

double unix_seconds_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

void NodeMirror::record(NodeEvent::Type type, NodeRecord node, const std::string& cause) {
  last_update_seconds_ = unix_seconds_now();
  const char* what = type == NodeEvent::Type::kAdded      ? "added"
                     : type == NodeEvent::Type::kModified ? "modified"
                                                          : "deleted";
  const std::string cidr = node.pod_cidr ? node.pod_cidr->str() : "(none)";
  std::string route;
  if (type == NodeEvent::Type::kDeleted) {
    route = node.status.routed ? "route removed" : "was not routed";
  } else if (node.status.routed) {
    route = "routed via " + (node.status.public_ip ? node.status.public_ip->str() : "?");
    if (!node.status.reason.empty()) route += " (" + node.status.reason + ")";
  } else {
    route = "not routed: " + node.status.reason;
  }
  TARTAN_LOG(INFO, kControl, "node %s %s (%s): podCIDR %s, %s", node.spec.name.c_str(), what,
             cause.c_str(), cidr.c_str(), route.c_str());
  log_bytes_ += node_bytes(node.spec);
  log_.push_back(NodeEvent{type, std::move(node), version_});
  // The newest event stays whatever it costs: watchers must see it.
  while (log_.size() > 1 &&
         (log_.size() > settings_.event_log_size || log_bytes_ > settings_.event_log_bytes)) {
    log_bytes_ -= node_bytes(log_.front().node.spec);
    log_.pop_front();
  }
  if (event_hook_) event_hook_();
}

Result<NodeRecord> NodeMirror::apply(const NodeSpec& node, std::optional<uint64_t> expected_version,
                                     const std::string& cause) {
  std::lock_guard lock(mu_);
  return apply_locked(node, expected_version, Invalid::kRefuse, cause);
}

Result<NodeRecord> NodeMirror::keep(const NodeSpec& node, const std::string& cause,
                                    const std::optional<std::string>& unroutable) {
  std::lock_guard lock(mu_);
  return apply_locked(node, std::nullopt, Invalid::kKeepUnrouted, cause,
                      unroutable ? &*unroutable : nullptr);
}

Result<NodeRecord> NodeMirror::note(const std::string& name, const std::string& note,
                                    const std::string& cause) {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return Status(ErrorCode::kNotFound, "node '" + name + "' not found");
  if (it->second.status.reason == note) return it->second;
  it->second.status.reason = note;
  it->second.resource_version = ++version_;
  record(NodeEvent::Type::kModified, it->second, cause);
  return it->second;
}

std::optional<Status> NodeMirror::invalidity(const NodeSpec& node,
                                             const Result<FlannelNodeInfo>& info) const {
  if (const size_t bytes = annotation_bytes(node); bytes > kMaxAnnotationBytes) {
    return Status::invalid("annotations: " + std::to_string(bytes) + " bytes, more than the " +
                           std::to_string(kMaxAnnotationBytes) + " Kubernetes allows");
  }
  if (!info) return info.status();
  if (info->pod_cidr) {
    if (!settings_.network.contains(*info->pod_cidr)) {
      return Status::invalid("pod_cidrs: " + info->pod_cidr->str() +
                             " is outside the cluster network " + settings_.network.str());
    }
    if (Status s = check_overlap(node.name, *info->pod_cidr); !s.ok()) return s;
  }
  return std::nullopt;
}

Result<NodeRecord> NodeMirror::apply_locked(const NodeSpec& node,
                                            std::optional<uint64_t> expected_version,
                                            Invalid invalid, const std::string& cause,
                                            const std::string* unroutable) {
  if (!valid_node_name(node.name)) {
    return Status::invalid("name: '" + node.name +
                           "' is not a valid node name (lowercase DNS-1123 subdomain)");
  }
  const auto info = read_flannel_node(node, settings_.keys);
  const std::optional<Status> bad =
      unroutable ? std::optional(Status::invalid(*unroutable)) : invalidity(node, info);
  if (bad && invalid == Invalid::kRefuse) return *bad;
  // Our own lease decides our podCIDR: a node pushed under our name that
  // says otherwise is a mistake worth refusing, not a change to keep quietly.
  if (invalid == Invalid::kRefuse && node.name == settings_.own_node_name && info &&
      info->pod_cidr && local_subnet_ && *info->pod_cidr != *local_subnet_) {
    TARTAN_LOG(WARNING, kControl, "node %s refused (%s): podCIDR %s differs from our own lease %s",
               node.name.c_str(), cause.c_str(), info->pod_cidr->str().c_str(),
               local_subnet_->str().c_str());
    return Status::invalid("pod_cidrs: " + info->pod_cidr->str() + " differs from our own lease " +
                           local_subnet_->str() + " (node '" + node.name + "' is this node)");
  }
  auto existing = nodes_.find(node.name);
  if (expected_version) {
    if (existing == nodes_.end()) {
      return Status(ErrorCode::kAborted, "node '" + node.name +
                                             "' does not exist (expected resource version " +
                                             std::to_string(*expected_version) + ")");
    }
    if (existing->second.resource_version != *expected_version) {
      return Status(ErrorCode::kAborted, "node '" + node.name + "' is at resource version " +
                                             std::to_string(existing->second.resource_version) +
                                             ", not " + std::to_string(*expected_version));
    }
  }
  const bool exists = existing != nodes_.end();
  // Unchanged, unless a note() or the source's reason is to be replaced.
  if (exists && existing->second.spec == node) {
    const NodeStatusView& was = existing->second.status;
    if (unroutable ? !was.routed && was.reason == *unroutable : !was.routed || was.reason.empty())
      return existing->second;
  }

  NodeRecord rec{node, 0, {}, std::nullopt};
  if (bad) {
    if (annotation_bytes(node) > kMaxAnnotationBytes) rec.spec.annotations.clear();
    rec.status.reason = bad->message();
    if (info) {
      rec.status.public_ip = info->public_ip;
      rec.status.vtep_mac = info->vtep_mac;
    }
  } else {
    rec.status = derive(node, *info);
    rec.pod_cidr = info->pod_cidr;
  }
  const NodeRecord* before = exists ? &existing->second : nullptr;
  if (Status s = program(before, rec.status); !s.ok()) {
    // The engine refused the route (a public IP another node's VTEP has,
    // a full table): a kept node stays, unrouted, saying why.
    if (invalid == Invalid::kRefuse) return s;
    rec.status.routed = false;
    rec.status.route.reset();
    rec.status.reason = s.message();
    if (Status removed = program(before, rec.status); !removed.ok()) return removed;
  }

  if (exists) unindex(existing->second);
  if (rec.pod_cidr)
    cidr_index_[rec.pod_cidr->addr.value] = {last_address(*rec.pod_cidr), node.name};
  if (rec.status.routed) routed_[*rec.status.route] = node.name;
  rec.resource_version = ++version_;
  node_bytes_ += node_bytes(rec.spec);
  nodes_[node.name] = rec;
  record(exists ? NodeEvent::Type::kModified : NodeEvent::Type::kAdded, rec, cause);
  return rec;
}

void NodeMirror::unindex(const NodeRecord& rec) {
  if (rec.pod_cidr) cidr_index_.erase(rec.pod_cidr->addr.value);
  if (rec.status.route) routed_.erase(*rec.status.route);
  node_bytes_ -= node_bytes(rec.spec);
}

Result<uint64_t> NodeMirror::remove(const std::string& name,
                                    std::optional<uint64_t> expected_version,
                                    const std::string& cause) {
  std::lock_guard lock(mu_);
  return remove_locked(name, expected_version, cause);
}

Result<uint64_t> NodeMirror::remove_locked(const std::string& name,
                                           std::optional<uint64_t> expected_version,
                                           const std::string& cause) {
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return Status(ErrorCode::kNotFound, "node '" + name + "' not found");
  if (expected_version && it->second.resource_version != *expected_version) {
    return Status(ErrorCode::kAborted, "node '" + name + "' is at resource version " +
                                           std::to_string(it->second.resource_version) + ", not " +
                                           std::to_string(*expected_version));
  }
  if (Status s = program(&it->second, NodeStatusView{}); !s.ok()) return s;
  unindex(it->second);
  NodeRecord gone = it->second;
  nodes_.erase(it);
  ++version_;
  record(NodeEvent::Type::kDeleted, std::move(gone), cause);
  return version_;
}

Status NodeMirror::replace_all(const std::vector<NodeSpec>& nodes, const std::string& cause,
                               const std::map<std::string, std::string>& unroutable) {
  std::lock_guard lock(mu_);
  std::map<std::string, const NodeSpec*> wanted;
  for (const NodeSpec& n : nodes) wanted[n.name] = &n;
  std::vector<std::string> gone;
  for (const auto& [name, rec] : nodes_) {
    if (!wanted.count(name)) gone.push_back(name);
  }
  std::string failures;
  for (const std::string& name : gone) {
    if (auto r = remove_locked(name, std::nullopt, cause); !r)
      failures += "; " + r.status().message();
  }
  for (const NodeSpec& n : nodes) {
    const auto reason = unroutable.find(n.name);
    if (auto r = apply_locked(n, std::nullopt, Invalid::kKeepUnrouted, cause,
                              reason == unroutable.end() ? nullptr : &reason->second);
        !r)
      failures += "; node '" + n.name + "': " + r.status().message();
  }
  last_update_seconds_ = unix_seconds_now();
  if (failures.empty()) return {};
  return Status::invalid("some nodes were not applied: " + failures.substr(2));
}

std::optional<NodeRecord> NodeMirror::get(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return std::nullopt;
  return it->second;
}

std::pair<std::vector<NodeRecord>, uint64_t> NodeMirror::list(const std::string& after_name,
                                                              size_t limit) const {
  std::lock_guard lock(mu_);
  std::vector<NodeRecord> out;
  for (auto it = nodes_.upper_bound(after_name); it != nodes_.end() && out.size() < limit; ++it) {
    out.push_back(it->second);
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

Status NodeMirror::set_local_subnet(std::optional<Ipv4Prefix> subnet) {
  std::lock_guard lock(mu_);
  if (subnet) {
    for (const auto& [first, range] : cidr_index_) {
      const Ipv4Prefix& s = *subnet;
      const bool overlaps = first <= last_address(s) && range.first >= s.addr.value;
      if (overlaps && range.second != settings_.own_node_name) {
        return Status::invalid("pod_cidr: " + s.str() + " overlaps the podCIDR of node '" +
                               range.second + "'");
      }
    }
  }
  if (Status s = engine_.set_local_subnet(subnet); !s.ok()) return s;
  local_subnet_ = subnet;
  return {};
}

std::optional<std::string> NodeMirror::node_of(const Ipv4Prefix& prefix) const {
  std::lock_guard lock(mu_);
  auto it = routed_.find(prefix);
  if (it == routed_.end()) return std::nullopt;
  return it->second;
}

std::vector<NodeRecord> NodeMirror::routed() const {
  std::lock_guard lock(mu_);
  std::vector<NodeRecord> out;
  for (const auto& [prefix, name] : routed_) out.push_back(nodes_.at(name));
  return out;
}

}  // namespace tartan
