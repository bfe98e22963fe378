// Shared by the API tests: Nodes as kube-flannel leaves them, and calls
// with a deadline.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "tartan/v1/node.grpc.pb.h"

namespace tartan::testing {

// node-<i>: podCIDR 10.244.<i>.0/24, public IP 192.0.2.<18+i>, vxlan VNI 1,
// VtepMAC 0e:00:00:00:00:0<i>, with flanneld's annotations.
v1::Node flannel_node(int i);

// A client context with a 10 s deadline.
std::unique_ptr<grpc::ClientContext> ctx();

grpc::Status apply(v1::Nodes::Stub& s, const v1::Node& n, v1::Node* out = nullptr,
                   const std::string& version = "");

}  // namespace tartan::testing
