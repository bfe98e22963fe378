#pragma once

#include "control/cluster/node_mirror.h"
#include "engine/engine.h"
#include "tartan/v1/route.grpc.pb.h"

namespace tartan {

class RoutesService final : public v1::Routes::Service {
 public:
  RoutesService(const Engine& engine, const NodeMirror& mirror)
      : engine_(engine), mirror_(mirror) {}
  grpc::Status ListRoutes(grpc::ServerContext*, const v1::ListRoutesRequest*,
                          v1::ListRoutesResponse* out) override;

 private:
  const Engine& engine_;
  const NodeMirror& mirror_;
};

}  // namespace tartan
