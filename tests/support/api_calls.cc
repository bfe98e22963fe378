#include "tests/support/api_calls.h"

#include <chrono>

namespace tartan::testing {

v1::Node flannel_node(int i) {
  v1::Node n;
  n.set_name("node-" + std::to_string(i));
  n.add_pod_cidrs("10.244." + std::to_string(i) + ".0/24");
  auto& a = *n.mutable_annotations();
  a["flannel.alpha.coreos.com/backend-data"] =
      R"({"VNI":1,"VtepMAC":"0e:00:00:00:00:0)" + std::to_string(i) + R"("})";
  a["flannel.alpha.coreos.com/backend-type"] = "vxlan";
  a["flannel.alpha.coreos.com/kube-subnet-manager"] = "true";
  a["flannel.alpha.coreos.com/public-ip"] = "192.0.2." + std::to_string(18 + i);
  auto* addr = n.add_addresses();
  addr->set_type("InternalIP");
  addr->set_address("192.0.2." + std::to_string(18 + i));
  return n;
}

std::unique_ptr<grpc::ClientContext> ctx() {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return c;
}

grpc::Status apply(v1::Nodes::Stub& s, const v1::Node& n, v1::Node* out,
                   const std::string& version) {
  v1::ApplyNodeRequest req;
  *req.mutable_node() = n;
  req.set_expected_resource_version(version);
  v1::Node ignored;
  return s.ApplyNode(ctx().get(), req, out ? out : &ignored);
}

}  // namespace tartan::testing
