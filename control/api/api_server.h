// The gRPC server of the tartan.v1 API: a unix socket by default (0660,
// group control.socket_group, directory created), TCP only with TLS. Bounds
// message sizes and the calls open at once per connection. Runs on gRPC's
// own threads, never on an EAL lcore.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "control/config/config.h"
#include "engine/status.h"

namespace tartan {

class ApiServer {
 public:
  static Result<std::unique_ptr<ApiServer>> start(const ControlConfig& config,
                                                  const std::vector<grpc::Service*>& services);
  ~ApiServer();
  void shutdown();  // idempotent; removes the unix socket

  const std::string& address() const { return address_; }
  // The TCP port listened on (the one picked when the config said 0); 0 for unix sockets.
  int port() const { return port_; }

 private:
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::string socket_path_;  // empty for TCP
  int port_ = 0;
};

}  // namespace tartan
