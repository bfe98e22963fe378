#pragma once

#include <string>

#include "tartan/v1/config.grpc.pb.h"

namespace tartan {

class ConfigService final : public v1::Config::Service {
 public:
  ConfigService(std::string source, std::string yaml)
      : source_(std::move(source)), yaml_(std::move(yaml)) {}
  grpc::Status GetConfig(grpc::ServerContext*, const v1::GetConfigRequest*,
                         v1::GetConfigResponse* out) override {
    out->set_source(source_);
    out->set_yaml(yaml_);
    return grpc::Status::OK;
  }

 private:
  const std::string source_;
  const std::string yaml_;
};

}  // namespace tartan
