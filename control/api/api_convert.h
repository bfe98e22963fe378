// Between the tartan.v1 messages and the control plane's own types, and
// from Status to grpc::Status.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <optional>
#include <string>

#include "control/cluster/node_mirror.h"
#include "control/cluster/probe_book.h"
#include "engine/backends/wireguard_sessions.h"
#include "engine/status.h"
#include "tartan/v1/node.pb.h"

namespace tartan {

grpc::Status to_grpc(const Status& status);

NodeSpec node_from_proto(const v1::Node& node);
void node_to_proto(const NodeRecord& record, v1::Node* out);
// Only the name, resource_version and status: what ApplyNodes answers.
void applied_to_proto(const NodeRecord& record, v1::Node* out);
// What ApplyNode and DeleteNode (and ApplyNodes, each of its changes) ask
// for; INVALID_ARGUMENT naming the request's field.
Result<NodeMirror::Upsert> upsert_from_proto(const v1::ApplyNodeRequest& request);
Result<NodeMirror::Removal> removal_from_proto(const v1::DeleteNodeRequest& request);
void probe_to_proto(const ProbeView& probe, v1::TunnelProbe* out);
// How the wireguard backend's peers are shown (NodeStatus.wireguard).
struct WireguardPeerSettings {
  // flannel's ListenPort and ListenPortV6: the endpoint port of IPv4 and
  // IPv6 peers that name none
  uint16_t listen_port = 0;
  uint16_t listen_port_v6 = 0;
  std::chrono::seconds persistent_keepalive{0};
};
// Node `public_ip`'s peer (on flannel-wg or flannel-wg-v6, by its family),
// PublicKey `key` and Port `port` (0: none named), as the engine has it
// (`view`).
void wireguard_peer_to_proto(const WireguardPeerView& view, const WireguardKey& key,
                             const IpAddr& public_ip, uint16_t port,
                             const WireguardPeerSettings& settings, v1::WireguardPeer* out);

// An optional resource version: "" is none; else a decimal number.
// `field` names the request field in the error.
Result<std::optional<uint64_t>> parse_resource_version(const std::string& text,
                                                       const std::string& field);

}  // namespace tartan
