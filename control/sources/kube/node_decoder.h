// A Kubernetes Node, as the API server sends it, to what routing needs and
// nothing more. A kubelet-managed Node is large (managedFields, images,
// nodeInfo, labels, capacity: 10-20 KB); the parse callback of
// nlohmann-json drops every member the decoder does not read while
// parsing, so none of that is ever held in a JSON tree, and annotations
// are kept only under the flannel prefix and tartan.io/.
//
// Structural errors (a member of the wrong JSON type, a missing name) are
// INVALID_ARGUMENT naming the field: "items[3].spec.podCIDRs[1]: not a
// string". The values themselves (CIDRs, annotations) are judged by
// read_flannel_node (control/cluster/flannel_annotations.h).
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/cluster/flannel_annotations.h"
#include "control/cluster/node_spec.h"
#include "engine/status.h"

namespace tartan {

// A condition of status.conditions (only NetworkUnavailable is kept).
struct NodeConditionState {
  std::string status;  // "True", "False", "Unknown"
  std::string reason;
  friend bool operator==(const NodeConditionState&, const NodeConditionState&) = default;
};

struct KubeNode {
  std::string resource_version;  // metadata.resourceVersion
  // metadata.name; spec.podCIDRs, else [spec.podCIDR]; status.addresses;
  // the kept annotations.
  NodeSpec spec;
  // The NetworkUnavailable condition, for our own node only (what
  // --set-node-network-unavailable writes).
  std::optional<NodeConditionState> network_unavailable;
  friend bool operator==(const KubeNode&, const KubeNode&) = default;
};

struct NodeDecodeOptions {
  std::vector<std::string> annotation_prefixes;  // annotations kept: keys starting with one
  std::string own_name;                          // whose NetworkUnavailable is kept
};

// The flannel prefix of `keys` ("flannel.alpha.coreos.com/", or
// "example.com/foo-" for a custom --kube-annotation-prefix) and "tartan.io/".
NodeDecodeOptions node_decode_options(const AnnotationKeys& keys, std::string own_name);

// A Node object (GET /api/v1/nodes/NAME).
Result<KubeNode> decode_node(std::string_view json, const NodeDecodeOptions& options);

// A NodeList (a LIST page).
struct KubeNodeList {
  std::string resource_version;  // metadata.resourceVersion
  std::string continue_token;    // metadata.continue; "" on the last page
  std::vector<KubeNode> items;
};
Result<KubeNodeList> decode_node_list(std::string_view json, const NodeDecodeOptions& options);

// The heap and object bytes a KubeNode holds (strings past their inline
// buffer, vector and map storage), for the mirror's memory figure.
size_t node_kept_bytes(const KubeNode& node);

// Below: the pieces decode_watch_event (watch_stream.h) shares.

// Where the Node is in a document.
enum class NodeDocument {
  kNode,       // the document is the Node
  kList,       // items[] of a NodeList; metadata.resourceVersion/continue
  kWatchEvent  // "object" of {"type":..., "object":...}; Status members of an ERROR's object
};

// Parses `json` keeping only what the decoders read. Invalid JSON is
// INVALID_ARGUMENT with nlohmann's position.
Result<nlohmann::json> parse_kept(std::string_view json, NodeDocument document,
                                  const NodeDecodeOptions& options);

// A Node object out of parse_kept's tree; `field` is its place, prefixed
// to errors ("items[3]." or "object.", "" for the document).
Result<KubeNode> node_from_json(const nlohmann::json& node, const std::string& field,
                                const NodeDecodeOptions& options);

}  // namespace tartan
