#pragma once

#include <optional>

#include "control/api/api_convert.h"
#include "control/api/node_watches.h"
#include "control/cluster/node_mirror.h"
#include "control/cluster/tunnel_prober.h"
#include "engine/engine.h"
#include "tartan/v1/node.grpc.pb.h"

namespace tartan {

// WatchNodes is served with gRPC's callback API (control/node_watches.h):
// open watches cost no thread; the other calls are synchronous.
// ApplyNode, ApplyNodes and DeleteNode read their requests the same way
// (node_change): one node's checks and conversion are written once.
class NodesService final : public v1::Nodes::WithCallbackMethod_WatchNodes<v1::Nodes::Service> {
 public:
  // `mirror_owner`: NodeSource::mirror_owner(); when not "", ApplyNode and
  // DeleteNode are refused with FAILED_PRECONDITION naming it. `prober`
  // (null: probes are off) gives GetNode's and ListNodes' status.probe;
  // `wireguard` (null: another backend) their status.wireguard.
  struct Wireguard {
    const Engine& engine;
    WireguardPeerSettings settings;
  };
  explicit NodesService(NodeMirror& mirror, const WatchLimits& limits = {},
                        std::string mirror_owner = "", const TunnelProber* prober = nullptr,
                        std::optional<Wireguard> wireguard = std::nullopt)
      : mirror_(mirror),
        watches_(mirror, limits),
        mirror_owner_(std::move(mirror_owner)),
        prober_(prober),
        wireguard_(std::move(wireguard)) {}

  grpc::Status ApplyNode(grpc::ServerContext*, const v1::ApplyNodeRequest* req,
                         v1::Node* out) override;
  grpc::Status ApplyNodes(grpc::ServerContext*, const v1::ApplyNodesRequest* req,
                          v1::ApplyNodesResponse* out) override;
  grpc::Status DeleteNode(grpc::ServerContext*, const v1::DeleteNodeRequest* req,
                          v1::DeleteNodeResponse* out) override;
  grpc::Status GetNode(grpc::ServerContext*, const v1::GetNodeRequest* req, v1::Node* out) override;
  grpc::Status ListNodes(grpc::ServerContext*, const v1::ListNodesRequest* req,
                         v1::ListNodesResponse* out) override;
  grpc::ServerWriteReactor<v1::NodeEvent>* WatchNodes(grpc::CallbackServerContext* ctx,
                                                      const v1::WatchNodesRequest* req) override;

  // Ends every open watch stream (on shutdown).
  void stop_watches() { watches_.stop(); }
  size_t open_watches() const { return watches_.open_count(); }

 private:
  grpc::Status refuse_if_owned(const char* what) const;
  void add_probe(v1::Node* node) const;
  void add_wireguard(const NodeRecord& record, v1::Node* node) const;

  NodeMirror& mirror_;
  NodeWatches watches_;
  const std::string mirror_owner_;
  const TunnelProber* prober_;
  const std::optional<Wireguard> wireguard_;
};

}  // namespace tartan
