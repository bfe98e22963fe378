#pragma once

#include <atomic>

#include "control/node_mirror.h"
#include "tartan/v1/node.grpc.pb.h"

namespace tartan {

class NodesService final : public v1::Nodes::Service {
 public:
  explicit NodesService(NodeMirror& mirror) : mirror_(mirror) {}

  grpc::Status ApplyNode(grpc::ServerContext*, const v1::ApplyNodeRequest* req,
                         v1::Node* out) override;
  grpc::Status DeleteNode(grpc::ServerContext*, const v1::DeleteNodeRequest* req,
                          v1::DeleteNodeResponse* out) override;
  grpc::Status GetNode(grpc::ServerContext*, const v1::GetNodeRequest* req, v1::Node* out) override;
  grpc::Status ListNodes(grpc::ServerContext*, const v1::ListNodesRequest* req,
                         v1::ListNodesResponse* out) override;
  grpc::Status WatchNodes(grpc::ServerContext* ctx, const v1::WatchNodesRequest* req,
                          grpc::ServerWriter<v1::NodeEvent>* writer) override;

  // Ends every open watch stream (on shutdown).
  void stop_watches();

 private:
  NodeMirror& mirror_;
  std::atomic<bool> stopping_{false};
};

}  // namespace tartan
