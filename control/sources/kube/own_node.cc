#include "control/sources/kube/own_node.h"

#include <nlohmann/json.hpp>

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
  return {};
}

Result<std::optional<Ipv4Prefix>> own_pod_cidr(const NodeSpec& own, const Ipv4Prefix& network) {
  for (size_t i = 0; i < own.pod_cidrs.size(); ++i) {
    auto cidr = Ipv4Prefix::parse(own.pod_cidrs[i]);
    if (!cidr) continue;  // the IPv6 one, or garbage the decoder already named
    if (!network.contains(*cidr)) {
      return Status::invalid("spec.podCIDRs[" + std::to_string(i) + "]: " + cidr->str() +
                             " of node '" + own.name + "' is outside network.Network " +
                             network.str());
    }
    return std::optional(*cidr);
  }
  return std::optional<Ipv4Prefix>();
}

std::map<std::string, std::string> wanted_annotations(const AnnotationKeys& keys,
                                                      const FlannelNodeInfo& own,
                                                      BackendType backend, uint32_t vni,
                                                      const MacAddr& vtep_mac, Ipv4Addr public_ip) {
  return own_annotations(keys, backend, vni, vtep_mac, own.public_ip_overwrite.value_or(public_ip));
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

std::optional<std::string> network_condition_patch(
    const std::optional<NodeConditionState>& current, std::chrono::system_clock::time_point now) {
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
