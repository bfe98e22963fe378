#include "control/api/api_convert.h"

#include <charconv>

#include "control/config/wireguard_key.h"

namespace tartan {

grpc::Status to_grpc(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  switch (s.code()) {
    case ErrorCode::kInvalidArgument:
      code = grpc::StatusCode::INVALID_ARGUMENT;
      break;
    case ErrorCode::kNotFound:
      code = grpc::StatusCode::NOT_FOUND;
      break;
    case ErrorCode::kAlreadyExists:
      code = grpc::StatusCode::ALREADY_EXISTS;
      break;
    case ErrorCode::kAborted:
      code = grpc::StatusCode::ABORTED;
      break;
    case ErrorCode::kFailedPrecondition:
      code = grpc::StatusCode::FAILED_PRECONDITION;
      break;
    case ErrorCode::kResourceExhausted:
      code = grpc::StatusCode::RESOURCE_EXHAUSTED;
      break;
    case ErrorCode::kUnavailable:
      code = grpc::StatusCode::UNAVAILABLE;
      break;
    case ErrorCode::kInternal:
      code = grpc::StatusCode::INTERNAL;
      break;
  }
  return grpc::Status(code, s.message());
}

NodeSpec node_from_proto(const v1::Node& n) {
  NodeSpec spec;
  spec.name = n.name();
  spec.pod_cidrs.assign(n.pod_cidrs().begin(), n.pod_cidrs().end());
  for (const auto& a : n.addresses()) spec.addresses.push_back({a.type(), a.address()});
  spec.annotations.insert(n.annotations().begin(), n.annotations().end());
  return spec;
}

void node_to_proto(const NodeRecord& r, v1::Node* out) {
  for (const auto& c : r.spec.pod_cidrs) out->add_pod_cidrs(c);
  for (const auto& a : r.spec.addresses) {
    auto* pa = out->add_addresses();
    pa->set_type(a.type);
    pa->set_address(a.address);
  }
  out->mutable_annotations()->insert(r.spec.annotations.begin(), r.spec.annotations.end());
  applied_to_proto(r, out);
}

void applied_to_proto(const NodeRecord& r, v1::Node* out) {
  out->set_name(r.spec.name);
  out->set_resource_version(std::to_string(r.resource_version));
  v1::NodeStatus* st = out->mutable_status();
  st->set_routed(r.status.routed);
  // An empty string is proto3's default: setting one would still allocate
  // it (the reasons of a routed node, 2 of ~12 allocations per node).
  if (!r.status.reason.empty()) st->set_reason(r.status.reason);
  if (r.status.route) st->set_route_prefix(r.status.route->str());
  if (r.status.public_ip) st->set_public_ip(r.status.public_ip->str());
  if (r.status.vtep_mac) st->set_vtep_mac(r.status.vtep_mac->str());
  if (!r.status.backend.empty()) st->set_backend(r.status.backend);
  st->set_routed_v6(r.status.routed_v6);
  if (!r.status.reason_v6.empty()) st->set_reason_v6(r.status.reason_v6);
  if (r.status.route_v6) st->set_route_prefix_v6(r.status.route_v6->str());
  if (r.status.public_ipv6) st->set_public_ipv6(r.status.public_ipv6->str());
  if (r.status.vtep_mac_v6) st->set_vtep_mac_v6(r.status.vtep_mac_v6->str());
}

void wireguard_peer_to_proto(const WireguardPeerView& v, const WireguardKey& key,
                             const IpAddr& public_ip, uint16_t port,
                             const WireguardPeerSettings& settings, v1::WireguardPeer* out) {
  out->set_public_key(wireguard_key_text(key));
  const bool ipv6 = std::holds_alternative<Ipv6Addr>(public_ip);
  // Where we send, as wg shows it: where its packets came from, unless
  // they came over the other family (the one-device modes), which the
  // peer's next hop does not follow (WireguardPeers::follow).
  const bool roamed = v.endpoint_port != 0 && v.endpoint_ip.index() == public_ip.index();
  const uint16_t ours = ipv6 ? settings.listen_port_v6 : settings.listen_port;
  const IpAddr& at = roamed ? v.endpoint_ip : public_ip;
  // As wg shows endpoints: an IPv6 address in brackets.
  const std::string address = ipv6 ? "[" + ip_addr_str(at) + "]" : ip_addr_str(at);
  out->set_endpoint(address + ":" +
                    std::to_string(roamed      ? v.endpoint_port
                                   : port != 0 ? port
                                               : ours));
  if (v.since_handshake) {
    const auto at = std::chrono::system_clock::now().time_since_epoch() - *v.since_handshake;
    out->set_latest_handshake_ns(
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(at).count()));
  }
  out->set_rx_bytes(v.rx_bytes);
  out->set_tx_bytes(v.tx_bytes);
  out->set_rx_packets(v.rx_packets);
  out->set_tx_packets(v.tx_packets);
  out->set_persistent_keepalive_s(static_cast<uint32_t>(settings.persistent_keepalive.count()));
}

void probe_to_proto(const ProbeView& p, v1::TunnelProbe* out) {
  switch (p.state) {
    case ProbeView::State::kPending:
      out->set_state(v1::TunnelProbe::PENDING);
      break;
    case ProbeView::State::kReachable:
      out->set_state(v1::TunnelProbe::REACHABLE);
      break;
    case ProbeView::State::kUnreachable:
      out->set_state(v1::TunnelProbe::UNREACHABLE);
      break;
  }
  out->set_target(p.target.str());
  out->set_since_ns(p.since_ns);
  out->set_last_rtt_ns(p.last_rtt_ns);
  out->set_last_reply_ns(p.last_reply_ns);
  out->set_window(p.window);
  out->set_lost(p.lost);
  out->set_sent(p.sent);
  out->set_received(p.received);
}

Result<NodeMirror::Upsert> upsert_from_proto(const v1::ApplyNodeRequest& req) {
  if (!req.has_node()) return Status::invalid("node: required");
  auto expected =
      parse_resource_version(req.expected_resource_version(), "expected_resource_version");
  if (!expected) return expected.status();
  return NodeMirror::Upsert{node_from_proto(req.node()), *expected};
}

Result<NodeMirror::Removal> removal_from_proto(const v1::DeleteNodeRequest& req) {
  if (req.name().empty()) return Status::invalid("name: required");
  auto expected =
      parse_resource_version(req.expected_resource_version(), "expected_resource_version");
  if (!expected) return expected.status();
  return NodeMirror::Removal{req.name(), *expected};
}

Result<std::optional<uint64_t>> parse_resource_version(const std::string& text,
                                                       const std::string& field) {
  if (text.empty()) return std::optional<uint64_t>{};
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Status::invalid(field + ": '" + text + "' is not a resource version (a decimal number)");
  }
  return std::optional<uint64_t>{v};
}

}  // namespace tartan
