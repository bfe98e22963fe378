#include "control/api/nodes_service.h"

#include "control/api/api_convert.h"

namespace tartan {
namespace {

constexpr uint32_t kDefaultPageSize = 500;
constexpr uint32_t kMaxPageSize = 10000;
// A page of ListNodes can be applied back in one call.
constexpr size_t kMaxApplyChanges = kMaxPageSize;

}  // namespace

grpc::Status NodesService::refuse_if_owned(const char* what) const {
  if (mirror_owner_.empty()) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                      std::string(what) + " refused: the node mirror is owned by " + mirror_owner_);
}

void NodesService::add_probe(v1::Node* node) const {
  if (prober_ == nullptr) return;
  if (auto p = prober_->get(node->name()))
    probe_to_proto(*p, node->mutable_status()->mutable_probe());
}

void NodesService::add_wireguard(const NodeRecord& r, v1::Node* node) const {
  if (!wireguard_) return;
  // Each device's peer: flannel-wg's, and flannel-wg-v6's in Mode separate.
  // (The message is made only for a peer: an empty one would say it has one.)
  for (const NodeWireguardPeer& p : wireguard_peers_of(r.status)) {
    if (auto view = wireguard_->engine.wireguard_peer(p.public_ip); view.ok()) {
      v1::NodeStatus* st = node->mutable_status();
      wireguard_peer_to_proto(*view, p.public_key, p.public_ip, p.port, wireguard_->settings,
                              p.v6_device ? st->mutable_wireguard_v6() : st->mutable_wireguard());
    }
  }
}

grpc::Status NodesService::ApplyNode(grpc::ServerContext*, const v1::ApplyNodeRequest* req,
                                     v1::Node* out) {
  if (grpc::Status s = refuse_if_owned("ApplyNode"); !s.ok()) return s;
  auto upsert = upsert_from_proto(*req);
  if (!upsert) return to_grpc(upsert.status());
  auto rec = mirror_.apply(upsert->node, upsert->expected_version, "applied through the API");
  if (!rec) return to_grpc(rec.status());
  node_to_proto(*rec, out);
  return grpc::Status::OK;
}

grpc::Status NodesService::ApplyNodes(grpc::ServerContext*, const v1::ApplyNodesRequest* req,
                                      v1::ApplyNodesResponse* out) {
  if (grpc::Status s = refuse_if_owned("ApplyNodes"); !s.ok()) return s;
  const size_t changes = static_cast<size_t>(req->apply_size()) + req->remove_size();
  if (changes > kMaxApplyChanges) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "apply, remove: " + std::to_string(changes) + " changes, more than " +
                            std::to_string(kMaxApplyChanges) + " in one call");
  }
  // Which change an error is about: "node 'node-7'" (names are unique in
  // a call), or where it is in the request when it has no name: "apply[3]".
  const auto which = [&](size_t i) {
    const bool upsert = i < static_cast<size_t>(req->apply_size());
    const int at = static_cast<int>(upsert ? i : i - req->apply_size());
    const std::string& name = upsert ? req->apply(at).node().name() : req->remove(at).name();
    if (!name.empty()) return "node '" + name + "'";
    return std::string(upsert ? "apply[" : "remove[") + std::to_string(at) + "]";
  };
  const auto refused = [&](size_t i, const Status& s) {
    if (i == SIZE_MAX) return to_grpc(s);
    const std::string who = which(i);
    // "node 'x' not found" names its node already.
    if (s.message().rfind(who + " ", 0) == 0) return to_grpc(s);
    return to_grpc(Status(s.code(), who + ": " + s.message()));
  };
  std::vector<NodeMirror::Upsert> upserts;
  upserts.reserve(req->apply_size());
  for (const v1::ApplyNodeRequest& a : req->apply()) {
    auto u = upsert_from_proto(a);
    if (!u) return refused(upserts.size(), u.status());
    upserts.push_back(std::move(*u));
  }
  std::vector<NodeMirror::Removal> removals;
  removals.reserve(req->remove_size());
  for (const v1::DeleteNodeRequest& d : req->remove()) {
    auto r = removal_from_proto(d);
    if (!r) return refused(upserts.size() + removals.size(), r.status());
    removals.push_back(std::move(*r));
  }
  size_t failed = SIZE_MAX;
  const size_t applies = upserts.size();
  auto applied =
      mirror_.apply_all(std::move(upserts), removals, "applied through the API", &failed);
  if (!applied) return refused(failed, applied.status());
  out->mutable_applied()->Reserve(static_cast<int>(applies));
  for (size_t i = 0; i < applies; ++i) applied_to_proto(*applied->records[i], out->add_applied());
  out->set_resource_version(std::to_string(applied->resource_version));
  return grpc::Status::OK;
}

grpc::Status NodesService::DeleteNode(grpc::ServerContext*, const v1::DeleteNodeRequest* req,
                                      v1::DeleteNodeResponse* out) {
  if (grpc::Status s = refuse_if_owned("DeleteNode"); !s.ok()) return s;
  auto removal = removal_from_proto(*req);
  if (!removal) return to_grpc(removal.status());
  auto version =
      mirror_.remove(removal->name, removal->expected_version, "deleted through the API");
  if (!version) return to_grpc(version.status());
  out->set_resource_version(std::to_string(*version));
  return grpc::Status::OK;
}

grpc::Status NodesService::GetNode(grpc::ServerContext*, const v1::GetNodeRequest* req,
                                   v1::Node* out) {
  auto rec = mirror_.get(req->name());
  if (!rec)
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "node '" + req->name() + "' not found");
  node_to_proto(*rec, out);
  add_probe(out);
  add_wireguard(*rec, out);
  return grpc::Status::OK;
}

grpc::Status NodesService::ListNodes(grpc::ServerContext*, const v1::ListNodesRequest* req,
                                     v1::ListNodesResponse* out) {
  const uint32_t size = req->page_size() == 0 ? kDefaultPageSize : req->page_size();
  if (size > kMaxPageSize) {
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        "page_size: " + std::to_string(size) + " is above " + std::to_string(kMaxPageSize));
  }
  // The page token is the last name of the previous page: nodes are listed
  // in name order, so the next page starts right after it.
  auto [nodes, version] = mirror_.list(req->page_token(), size + 1);
  const bool more = nodes.size() > size;
  if (more) nodes.pop_back();
  for (const NodeRecord& r : nodes) {
    v1::Node* n = out->add_nodes();
    node_to_proto(r, n);
    add_probe(n);
    add_wireguard(r, n);
  }
  if (more) out->set_next_page_token(nodes.back().spec.name);
  out->set_resource_version(std::to_string(version));
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<v1::NodeEvent>* NodesService::WatchNodes(
    grpc::CallbackServerContext* ctx, const v1::WatchNodesRequest* req) {
  return watches_.open(ctx, *req);
}

}  // namespace tartan
