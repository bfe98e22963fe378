// An etcd client URL as flanneld's --etcd-endpoints takes them:
// "http://host:port", "https://host:port", or "host:port" (plain http).
#pragma once

#include <string>

#include "engine/status.h"

namespace tartan {

struct EtcdEndpoint {
  bool tls = false;
  std::string target;  // "host:port", for gRPC
  std::string url;     // as configured, for messages
};

Result<EtcdEndpoint> parse_etcd_endpoint(const std::string& url);

}  // namespace tartan
