#include "control/sources/etcd/etcd_lease_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <regex>

namespace tartan {
namespace {

bool same_key(const std::string& a, const char* b) {
  return std::equal(a.begin(), a.end(), b, b + std::char_traits<char>::length(b),
                    [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

}  // namespace

std::string subnet_key_name(const Ipv4Prefix& subnet) {
  return subnet.addr.str() + "-" + std::to_string(subnet.len);
}

std::optional<Ipv4Prefix> parse_subnet_key_name(std::string_view name) {
  // flannel's subnetRegex, anchored on both ends of the element.
  static const std::regex key(R"(^(\d+\.\d+\.\d+\.\d+)-(\d+)(?:&([a-f\d:]+)-(\d+))?$)");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(name.begin(), name.end(), m, key)) return std::nullopt;
  if (m[2].length() > 2) return std::nullopt;
  return Ipv4Prefix::parse(m[1].str() + "/" + m[2].str());
}

std::string encode_lease_attrs(Ipv4Addr public_ip, BackendType backend, uint32_t vni,
                               const MacAddr& vtep_mac) {
  // Field order and omitempty as in flannel's LeaseAttrs; PublicIPv6 has no
  // omitempty, so a v4-only lease says null.
  std::string out = R"({"PublicIP":")" + public_ip.str() + R"(","PublicIPv6":null)";
  const std::string type = flannel_backend_type(backend);
  if (!type.empty()) out += R"(,"BackendType":")" + type + "\"";
  if (backend == BackendType::kVxlan)
    out += R"(,"BackendData":)" + flannel_backend_data(backend, vni, vtep_mac);
  return out + "}";
}

Result<FlannelLeaseAttrs> decode_lease_attrs(const std::string& json) {
  nlohmann::ordered_json doc;
  try {
    doc = nlohmann::ordered_json::parse(json);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range (5e500)
    return Status::invalid("invalid JSON: " + std::string(e.what()));
  }
  if (!doc.is_object()) return Status::invalid("expected a JSON object, found " + json);
  FlannelLeaseAttrs attrs;
  bool have_ip = false;
  // Go: a later key wins when two match case-insensitively.
  for (const auto& [key, value] : doc.items()) {
    if (same_key(key, "PublicIP")) {
      const auto ip = value.is_string() ? Ipv4Addr::parse(value.get<std::string>()) : std::nullopt;
      if (!ip) return Status::invalid("PublicIP: " + value.dump() + " is not an IPv4 address");
      attrs.public_ip = *ip;
      have_ip = true;
    } else if (same_key(key, "BackendType")) {
      if (!value.is_string() && !value.is_null())
        return Status::invalid("BackendType: " + value.dump() + " is not a string");
      attrs.backend_type = value.is_string() ? value.get<std::string>() : "";
    } else if (same_key(key, "BackendData")) {
      attrs.backend_data = value.dump();  // compact, keys in their order
    }
  }
  if (!have_ip) return Status::invalid("PublicIP: missing");
  return attrs;
}

NodeSpec lease_to_node(const Ipv4Prefix& subnet, const FlannelLeaseAttrs& attrs,
                       const AnnotationKeys& keys) {
  NodeSpec n;
  n.name = subnet_key_name(subnet);
  n.pod_cidrs = {subnet.str()};
  n.addresses = {{"InternalIP", attrs.public_ip.str()}};
  n.annotations = {
      {keys.backend_type, attrs.backend_type},
      {keys.backend_data, attrs.backend_data.empty() ? "null" : attrs.backend_data},
      {keys.public_ip, attrs.public_ip.str()},
      {keys.kube_subnet_manager, "true"},
  };
  return n;
}

}  // namespace tartan
