// Kubernetes Node manifests as `kubectl get node -o yaml|json` prints them
// (a Node, a List/NodeList of them, or several YAML documents), read into
// tartan.v1 Nodes: metadata.name, metadata.annotations, spec.podCIDR(s),
// status.addresses; everything else is ignored.
#pragma once

#include <string>
#include <vector>

#include "engine/status.h"
#include "tartan/v1/node.pb.h"

namespace tartan::ctl {

// `source` names the input in errors ("node.yaml", "-").
Result<std::vector<v1::Node>> parse_node_manifests(const std::string& text,
                                                   const std::string& source);

}  // namespace tartan::ctl
