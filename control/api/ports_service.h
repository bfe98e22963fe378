// tartan.v1.Ports: the engine's ports and where the underlay's flow rule
// classes run (engine/flow_offload.h).
#pragma once

#include "engine/engine.h"
#include "tartan/v1/ports.grpc.pb.h"

namespace tartan {

class PortsService final : public v1::Ports::Service {
 public:
  explicit PortsService(const Engine& engine) : engine_(engine) {}
  grpc::Status ListPorts(grpc::ServerContext*, const v1::ListPortsRequest* req,
                         v1::ListPortsResponse* out) override;

 private:
  const Engine& engine_;
};

}  // namespace tartan
