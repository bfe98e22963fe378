// What this node must look like in the Kubernetes API, and what its Node
// object tells tartand about itself, as flanneld's kube subnet manager
// reads and writes it (pkg/subnet/kube/kube.go: AcquireLease,
// CompleteLease). Pure functions: the kube source does the I/O.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "control/cluster/flannel_annotations.h"
#include "control/cluster/node_mirror.h"
#include "control/cluster/node_spec.h"
#include "control/config/config.h"
#include "control/sources/kube/node_decoder.h"
#include "engine/engine_config.h"
#include "engine/net_types.h"
#include "engine/status.h"

namespace tartan {

// Node annotations an operator sets on a node with a dedicated NIC, so that
// one tartan.yaml (a ConfigMap) serves every node: they replace
// ports.underlay.{device,address,gateway,ipv6_address,ipv6_gateway} for
// this node.
inline constexpr const char* kUnderlayDeviceAnnotation = "tartan.io/underlay-device";
inline constexpr const char* kUnderlayAddressAnnotation = "tartan.io/underlay-address";
inline constexpr const char* kUnderlayGatewayAnnotation = "tartan.io/underlay-gateway";
inline constexpr const char* kUnderlayIpv6AddressAnnotation = "tartan.io/underlay-ipv6-address";
inline constexpr const char* kUnderlayIpv6GatewayAnnotation = "tartan.io/underlay-ipv6-gateway";

// Applies those annotations of our Node to the engine's underlay port and
// address; an unparseable one is an error naming it.
Status apply_node_settings(const NodeSpec& own, EngineConfig& engine);

// Our podCIDRs: the IPv4 and IPv6 entries of spec.podCIDRs (else
// spec.podCIDR), in either order as flanneld reads them (flannel#1629),
// each only when `network` enables its family and each inside its
// network. A family not assigned yet by kube-controller-manager is unset.
Result<PodCidrs> own_pod_cidrs(const NodeSpec& own, const NetworkConfig& network);

// The annotations we own, as flanneld writes them: public-ip is
// public-ip-overwrite when that is set (flanneld copies it), else
// node-public-ip (flanneld's --public-ip from the Node), else ours;
// likewise public-ipv6 with `ipv6` (EnableIPv6).
std::map<std::string, std::string> wanted_annotations(
    const AnnotationKeys& keys, const FlannelNodeInfo& own, BackendType backend, uint32_t vni,
    const MacAddr& vtep_mac, std::optional<Ipv4Addr> public_ip, std::optional<OwnIpv6> ipv6 = {},
    const std::optional<OwnWireguard>& wireguard = {});

// The strategic-merge patch of nodes/{name}/status that puts back the
// annotations of `wanted` that `own` lacks or has otherwise (only those
// keys); nullopt when nothing differs.
std::optional<std::string> annotation_patch(const NodeSpec& own,
                                            const std::map<std::string, std::string>& wanted);

inline constexpr const char* kNetworkUpReason = "TartanIsUp";

// The patch that sets NetworkUnavailable=False (reason TartanIsUp), merged
// by condition type as strategic merge does; nullopt when `current` is
// already False.
std::optional<std::string> network_condition_patch(const std::optional<NodeConditionState>& current,
                                                   std::chrono::system_clock::time_point now);

}  // namespace tartan
