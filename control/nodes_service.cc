#include "control/nodes_service.h"

#include "control/api_convert.h"

namespace tartan {
namespace {

constexpr uint32_t kDefaultPageSize = 500;
constexpr uint32_t kMaxPageSize = 10000;

}  // namespace

grpc::Status NodesService::ApplyNode(grpc::ServerContext*, const v1::ApplyNodeRequest* req,
                                     v1::Node* out) {
  if (!req->has_node()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "node: required");
  auto expected =
      parse_resource_version(req->expected_resource_version(), "expected_resource_version");
  if (!expected) return to_grpc(expected.status());
  auto rec = mirror_.apply(node_from_proto(req->node()), *expected);
  if (!rec) return to_grpc(rec.status());
  node_to_proto(*rec, out);
  return grpc::Status::OK;
}

grpc::Status NodesService::DeleteNode(grpc::ServerContext*, const v1::DeleteNodeRequest* req,
                                      v1::DeleteNodeResponse* out) {
  if (req->name().empty())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "name: required");
  auto expected =
      parse_resource_version(req->expected_resource_version(), "expected_resource_version");
  if (!expected) return to_grpc(expected.status());
  auto version = mirror_.remove(req->name(), *expected);
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
  for (const NodeRecord& r : nodes) node_to_proto(r, out->add_nodes());
  if (more) out->set_next_page_token(nodes.back().spec.name);
  out->set_resource_version(std::to_string(version));
  return grpc::Status::OK;
}

grpc::Status NodesService::WatchNodes(grpc::ServerContext* ctx, const v1::WatchNodesRequest* req,
                                      grpc::ServerWriter<v1::NodeEvent>* writer) {
  auto from = parse_resource_version(req->resource_version(), "resource_version");
  if (!from) return to_grpc(from.status());
  uint64_t version = from->value_or(0);
  while (!ctx->IsCancelled() && !stopping_) {
    NodeMirror::WatchBatch batch = mirror_.events_after(version, std::chrono::milliseconds(200));
    if (batch.resync) {
      v1::NodeEvent start;
      start.set_type(v1::NodeEvent::RESYNC);
      if (!writer->Write(start)) break;
      auto [nodes, now] = mirror_.list("", SIZE_MAX);
      for (const NodeRecord& r : nodes) {
        v1::NodeEvent e;
        e.set_type(v1::NodeEvent::ADDED);
        node_to_proto(r, e.mutable_node());
        e.set_resource_version(std::to_string(r.resource_version));
        if (!writer->Write(e)) return grpc::Status::CANCELLED;
      }
      v1::NodeEvent bookmark;
      bookmark.set_type(v1::NodeEvent::BOOKMARK);
      bookmark.set_resource_version(std::to_string(now));
      if (!writer->Write(bookmark)) break;
      version = now;
      continue;
    }
    for (const NodeEvent& ev : batch.events) {
      v1::NodeEvent e;
      e.set_type(ev.type == NodeEvent::Type::kAdded      ? v1::NodeEvent::ADDED
                 : ev.type == NodeEvent::Type::kModified ? v1::NodeEvent::MODIFIED
                                                         : v1::NodeEvent::DELETED);
      node_to_proto(ev.node, e.mutable_node());
      e.set_resource_version(std::to_string(ev.resource_version));
      if (!writer->Write(e)) return grpc::Status::CANCELLED;
      version = ev.resource_version;
    }
  }
  return stopping_ ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "tartand is shutting down")
                   : grpc::Status::OK;
}

void NodesService::stop_watches() {
  stopping_ = true;
  mirror_.wake_watchers();
}

}  // namespace tartan
