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

void NodeMirror::route_change(const NodeRecord* before, const NodeStatusView& after,
                              TableDelta& delta) const {
  const bool was_routed = before != nullptr && before->status.routed;
  if (was_routed && same_route(before->status, after)) return;
  if (!was_routed && !after.routed) return;
  if (after.routed) delta.upsert_routes.push_back(route_of(after));
  // A new podCIDR replaces the old one in the same delta; the same podCIDR
  // is simply replaced by the upsert.
  if (was_routed && (!after.routed || after.route != before->status.route)) {
    delta.remove_routes.push_back(*before->status.route);
  }
}

Status NodeMirror::program(TableDelta& delta, const std::vector<const NodeStatusView*>& upserted) {
  // A podCIDR one node of a batch gives up and another takes is simply
  // replaced by the upsert.
  if (!delta.upsert_routes.empty() && !delta.remove_routes.empty()) {
    std::set<Ipv4Prefix> taken;
    for (const RouteSpec& r : delta.upsert_routes) taken.insert(r.prefix);
    std::erase_if(delta.remove_routes, [&](const Ipv4Prefix& p) { return taken.count(p) != 0; });
  }
  if (delta.upsert_routes.empty() && delta.remove_routes.empty()) return {};
  if (Status s = engine_.apply(delta); !s.ok()) return s;
  if (route_hook_) {
    for (const Ipv4Prefix& gone : delta.remove_routes) route_hook_(gone, std::nullopt);
    for (const NodeStatusView* after : upserted) route_hook_(*after->route, *after);
  }
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
  log_message(level, LogComponent::kControl, "node %s %s (%s): podCIDR %s, %s",
              node.spec.name.c_str(), what, cause.c_str(), cidr.c_str(), route.c_str());
}

void NodeMirror::record(NodeEvent::Type type, NodeRecordRef node) {
  log_bytes_ += node_bytes(node->spec);
  log_.push_back(NodeEvent{type, std::move(node), version_});
  // The newest event stays whatever it costs: watchers must see it.
  while (log_.size() > 1 &&
         (log_.size() > settings_.event_log_size || log_bytes_ > settings_.event_log_bytes)) {
    log_bytes_ -= node_bytes(log_.front().node->spec);
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
  if (it->second->status.reason == note) return *it->second;
  // Only the reason changes: nothing to program, published as any change.
  auto noted = std::make_shared<NodeRecord>(*it->second);
  noted->status.reason = note;
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
  if (info->pod_cidr) {
    if (!settings_.network.contains(*info->pod_cidr)) {
      return Status::invalid("pod_cidrs: " + info->pod_cidr->str() +
                             " is outside the cluster network " + settings_.network.str());
    }
    if (Status s = check_overlap(node.name, *info->pod_cidr); !s.ok()) return s;
  }
  return std::nullopt;
}

void NodeMirror::index_cidr(const std::optional<Ipv4Prefix>& cidr, const std::string& name,
                            bool add, IndexUndo& undo) {
  if (!cidr) return;
  const uint32_t first = cidr->addr.value;
  auto it = cidr_index_.find(first);
  undo.emplace_back(first, it == cidr_index_.end() ? std::nullopt : std::optional(it->second));
  if (add) {
    cidr_index_[first] = {last_address(*cidr), name};
  } else if (it != cidr_index_.end()) {
    cidr_index_.erase(it);
  }
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
    index_cidr(existing->second->pod_cidr, change.name, false, undo);
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
  if (Status s = check_version(); !s.ok()) return s;
  NodeRecordRef before = exists ? existing->second : nullptr;
  // Unchanged, unless a note() or the source's reason is to be replaced.
  if (exists && before->spec == node) {
    const NodeStatusView& was = before->status;
    if (change.unroutable ? !was.routed && was.reason == *change.unroutable
                          : !was.routed || was.reason.empty())
      return Staged{before, nullptr, true};
  }

  auto after = std::make_shared<NodeRecord>();
  NodeRecord& rec = *after;
  const bool oversized = bad && annotation_bytes(node) > kMaxAnnotationBytes;
  if (bad) {
    rec.status.reason = bad->message();
    if (info) {
      rec.status.public_ip = info->public_ip;
      rec.status.vtep_mac = info->vtep_mac;
    }
  } else {
    rec.status = derive(node, *info);
    rec.pod_cidr = info->pod_cidr;
  }
  if (before) index_cidr(before->pod_cidr, change.name, false, undo);
  index_cidr(rec.pod_cidr, change.name, true, undo);
  // Last, as `node` may be moved from.
  rec.spec = change.take ? std::move(*change.take) : node;
  if (oversized) rec.spec.annotations.clear();
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
    node_bytes_ -= node_bytes(before->spec);
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
  rec.resource_version = version_;
  node_bytes_ += node_bytes(rec.spec);
  NodeRecordRef kept = std::move(staged.after);
  nodes_.insert_or_assign(kept->spec.name, kept);
  const NodeEvent::Type type = before ? NodeEvent::Type::kModified : NodeEvent::Type::kAdded;
  log_change(type, *kept, batch.cause, batch.log_level);
  if (out) out->push_back(kept);
  if (kept_in_log) record(type, std::move(kept));
}

namespace {

// The change whose route an engine error names ("route 10.244.3.0/24: ..."),
// so a batch's error can say which node it was.
std::optional<Ipv4Prefix> route_named(const std::string& message) {
  static constexpr std::string_view kRoute = "route ";
  if (message.rfind(kRoute, 0) != 0) return std::nullopt;
  const size_t end = message.find(':');
  return Ipv4Prefix::parse(std::string_view(message).substr(
      kRoute.size(), end == std::string::npos ? std::string::npos : end - kRoute.size()));
}

}  // namespace

Status NodeMirror::apply_locked(const std::vector<Change>& changes, Invalid invalid,
                                const std::string& cause, std::vector<NodeRecordRef>* out,
                                size_t* failed) {
  IndexUndo undo;
  const auto undo_index = [&] {
    for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
      if (it->second) {
        cidr_index_[it->first] = *it->second;
      } else {
        cidr_index_.erase(it->first);
      }
    }
  };
  const auto fail = [&](size_t i, Status s) {
    undo_index();
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
  std::vector<const NodeStatusView*> upserted;
  static const NodeStatusView kRemoved;
  for (const Staged& s : staged) {
    if (s.unchanged) continue;
    const NodeStatusView& after = s.after ? s.after->status : kRemoved;
    const size_t upserts = delta.upsert_routes.size();
    route_change(s.before.get(), after, delta);
    if (delta.upsert_routes.size() > upserts) upserted.push_back(&after);
  }
  if (Status s = program(delta, upserted); !s.ok()) {
    // The engine refused the routes (a public IP another node's VTEP has,
    // a full table).
    if (invalid == Invalid::kRefuse) {
      size_t culprit = SIZE_MAX;
      if (const auto prefix = route_named(s.message())) {
        for (size_t i = 0; i < staged.size() && culprit == SIZE_MAX; ++i) {
          const Staged& st = staged[i];
          if ((st.after && st.after->status.route == *prefix) ||
              (st.before && st.before->status.route == *prefix))
            culprit = i;
        }
      }
      return fail(culprit, s);
    }
    undo_index();
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
    one.after->status.routed = false;
    one.after->status.route.reset();
    one.after->status.reason = s.message();
    TableDelta removal;
    route_change(one.before.get(), one.after->status, removal);
    if (Status removed = program(removal, {}); !removed.ok()) return removed;
    if (one.before) index_cidr(one.before->pod_cidr, one.before->spec.name, false, undo);
    index_cidr(one.after->pod_cidr, one.after->spec.name, true, undo);
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
  for (const auto& [prefix, name] : routed_) out.push_back(*nodes_.at(name));
  return out;
}

}  // namespace tartan
