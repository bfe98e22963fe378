#include "control/sources/kube/own_node.h"

#include <nlohmann/json.hpp>

#include "control/config/netconf.h"

#include <algorithm>
#include <ctime>

namespace tartan {
namespace {

const std::string* annotation(const NodeSpec& node, const char* key) {
  auto it = node.annotations.find(key);
  return it == node.annotations.end() ? nullptr : &it->second;
}

Status bad_annotation(const char* key, const std::string& value, const std::string& why) {
  return Status::invalid(std::string("annotations[") + key + "]: '" + value + "' " + why);
}

// RFC 3339 in UTC, as metav1.Time marshals.
std::string rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Status apply_node_settings(const NodeSpec& own, EngineConfig& engine) {
  if (const std::string* v = annotation(own, kUnderlayDeviceAnnotation)) {
    if (v->empty()) return bad_annotation(kUnderlayDeviceAnnotation, *v, "is empty");
    auto port = std::find_if(engine.ports.begin(), engine.ports.end(),
                             [](const PortConfig& p) { return p.role == PortRole::kUnderlay; });
    if (port != engine.ports.end()) port->device = *v;
  }
  if (const std::string* v = annotation(own, kUnderlayAddressAnnotation)) {
    auto address = Ipv4Prefix::parse(*v, true);
    if (!address || address->len == 0 || address->len > 32)
      return bad_annotation(kUnderlayAddressAnnotation, *v,
                            "is not an IPv4 address with its prefix length (192.0.2.10/24)");
    engine.underlay.address = *address;
  }
  if (const std::string* v = annotation(own, kUnderlayGatewayAnnotation)) {
    auto gateway = Ipv4Addr::parse(*v);
    if (!gateway) return bad_annotation(kUnderlayGatewayAnnotation, *v, "is not an IPv4 address");
    engine.underlay.gateway = *gateway;
  }
  if (const std::string* v = annotation(own, kUnderlayIpv6AddressAnnotation)) {
    auto address = Ipv6Prefix::parse(*v, true);
    if (!address || address->len == 0 || address->len > 127)
      return bad_annotation(kUnderlayIpv6AddressAnnotation, *v,
                            "is not an IPv6 address with its prefix length (2001:db8::10/64)");
    engine.underlay.ipv6_address = *address;
  }
  if (const std::string* v = annotation(own, kUnderlayIpv6GatewayAnnotation)) {
    auto gateway = Ipv6Addr::parse(*v);
    if (!gateway)
      return bad_annotation(kUnderlayIpv6GatewayAnnotation, *v, "is not an IPv6 address");
    engine.underlay.ipv6_gateway = *gateway;
  }
  return {};
}

Result<PodCidrs> own_pod_cidrs(const NodeSpec& own, const NetworkConfig& network) {
  PodCidrs out;
  for (size_t i = 0; i < own.pod_cidrs.size(); ++i) {
    const auto where = [&] {
      return "spec.podCIDRs[" + std::to_string(i) + "]: " + own.pod_cidrs[i] + " of node '" +
             own.name + "'";
    };
    // Garbage is skipped: the decoder already named it.
    if (auto v4 = Ipv4Prefix::parse(own.pod_cidrs[i]); v4 && network.enable_ipv4 && !out.v4) {
      if (!network.network.contains(*v4))
        return Status::invalid(where() + " is outside network.Network " + network.network.str());
      out.v4 = v4;
    } else if (auto v6 = Ipv6Prefix::parse(own.pod_cidrs[i]);
               v6 && network.enable_ipv6 && !out.v6) {
      if (Status s = check_pod_cidr_v6(network, *v6, false); !s.ok())
        return Status::invalid(where() + ": " + s.message());
      out.v6 = v6;
    }
  }
  return out;
}

std::map<std::string, std::string> wanted_annotations(
    const AnnotationKeys& keys, const FlannelNodeInfo& own, BackendType backend, uint32_t vni,
    const MacAddr& vtep_mac, std::optional<Ipv4Addr> public_ip, std::optional<OwnIpv6> ipv6,
    const std::optional<OwnWireguard>& wireguard) {
  if (public_ip)
    public_ip = own.public_ip_overwrite.value_or(own.node_public_ip.value_or(*public_ip));
  if (ipv6 && !own.ipv6_invalid) {
    ipv6->public_ip =
        own.public_ipv6_overwrite.value_or(own.node_public_ipv6.value_or(ipv6->public_ip));
  }
  return own_annotations(keys, backend, vni, vtep_mac, public_ip, ipv6, wireguard);
}

std::optional<std::string> annotation_patch(const NodeSpec& own,
                                            const std::map<std::string, std::string>& wanted) {
  nlohmann::json changed = nlohmann::json::object();
  for (const auto& [key, value] : wanted) {
    auto it = own.annotations.find(key);
    if (it == own.annotations.end() || it->second != value) changed[key] = value;
  }
  if (changed.empty()) return std::nullopt;
  return nlohmann::json{{"metadata", {{"annotations", changed}}}}.dump();
}

std::optional<std::string> network_condition_patch(const std::optional<NodeConditionState>& current,
                                                   std::chrono::system_clock::time_point now) {
  // Another agent's False (a cloud route controller's, a kube-flannel
  // before us) says the same: no need to claim it.
  if (current && current->status == "False") return std::nullopt;
  const std::string at = rfc3339(now);
  const nlohmann::json condition = {
      {"type", "NetworkUnavailable"}, {"status", "False"},
      {"reason", kNetworkUpReason},   {"message", "tartan is running on this node"},
      {"lastTransitionTime", at},     {"lastHeartbeatTime", at}};
  return nlohmann::json{{"status", {{"conditions", nlohmann::json::array({condition})}}}}.dump();
}

}  // namespace tartan
