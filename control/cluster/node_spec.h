// A Kubernetes Node as tartan mirrors it: what a v1 Node has that matters
// to flannel, as plain values (the API and manifests convert to this).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace tartan {

struct NodeAddressSpec {
  std::string type;  // "InternalIP", "ExternalIP", ...
  std::string address;
  friend bool operator==(const NodeAddressSpec&, const NodeAddressSpec&) = default;
};

struct NodeSpec {
  std::string name;
  std::vector<std::string> pod_cidrs;  // spec.podCIDRs
  std::vector<NodeAddressSpec> addresses;
  std::map<std::string, std::string> annotations;
  friend bool operator==(const NodeSpec&, const NodeSpec&) = default;
};

}  // namespace tartan
