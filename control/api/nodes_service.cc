#include "control/api/nodes_service.h"

#include "control/api/api_convert.h"

namespace tartan {
namespace {

constexpr uint32_t kDefaultPageSize = 500;
constexpr uint32_t kMaxPageSize = 10000;

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

grpc::Status NodesService::ApplyNode(grpc::ServerContext*, const v1::ApplyNodeRequest* req,
                                     v1::Node* out) {
  if (grpc::Status s = refuse_if_owned("ApplyNode"); !s.ok()) return s;
  if (!req->has_node()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "node: required");
  auto expected =
      parse_resource_version(req->expected_resource_version(), "expected_resource_version");
  if (!expected) return to_grpc(expected.status());
  auto rec = mirror_.apply(node_from_proto(req->node()), *expected, "applied through the API");
  if (!rec) return to_grpc(rec.status());
  node_to_proto(*rec, out);
  return grpc::Status::OK;
}

grpc::Status NodesService::DeleteNode(grpc::ServerContext*, const v1::DeleteNodeRequest* req,
                                      v1::DeleteNodeResponse* out) {
  if (grpc::Status s = refuse_if_owned("DeleteNode"); !s.ok()) return s;
  if (req->name().empty())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "name: required");
  auto expected =
      parse_resource_version(req->expected_resource_version(), "expected_resource_version");
  if (!expected) return to_grpc(expected.status());
  auto version = mirror_.remove(req->name(), *expected, "deleted through the API");
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
