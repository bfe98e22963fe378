#include "control/cluster/flannel_annotations.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <regex>

namespace tartan {
namespace {

Status bad(const std::string& field, const std::string& message) {
  return Status::invalid(field + ": " + message);
}

std::string annotation_field(const std::string& key) {
  return "annotations[" + key + "]";
}

// The backend names flannel knows; anything else is a typo, not a node of
// another kind.
bool known_backend(const std::string& type) {
  static const char* const kKnown[] = {"",        "vxlan",   "udp",   "host-gw",   "wireguard",
                                       "ipip",    "ipsec",   "alloc", "extension", "tencent-vpc",
                                       "ali-vpc", "aws-vpc", "gce"};
  return std::find(std::begin(kKnown), std::end(kKnown), type) != std::end(kKnown);
}

}  // namespace

Result<AnnotationKeys> annotation_keys(const std::string& prefix_in) {
  std::string prefix = prefix_in;
  const auto slashes = std::count(prefix.begin(), prefix.end(), '/');
  if (slashes > 1)
    return Status::invalid("annotation prefix '" + prefix_in +
                           "': can contain at most a single slash");
  if (slashes == 0) prefix += "/";
  if (prefix.back() != '/' && prefix.back() != '-') prefix += "-";
  static const std::regex valid(R"((?:[a-z0-9_-]+\.)+[a-z0-9_-]+/(?:[a-z0-9_-]+-)?$)");
  if (!std::regex_match(prefix, valid)) {
    return Status::invalid("annotation prefix '" + prefix_in +
                           "': must be in a format: fqdn/[0-9a-z-_]*");
  }
  AnnotationKeys k;
  k.kube_subnet_manager = prefix + "kube-subnet-manager";
  k.backend_type = prefix + "backend-type";
  k.backend_data = prefix + "backend-data";
  k.backend_v6_data = prefix + "backend-v6-data";
  k.public_ip = prefix + "public-ip";
  k.public_ip_overwrite = prefix + "public-ip-overwrite";
  k.public_ipv6 = prefix + "public-ipv6";
  k.public_ipv6_overwrite = prefix + "public-ipv6-overwrite";
  return k;
}

Result<FlannelNodeInfo> read_flannel_node(const NodeSpec& node, const AnnotationKeys& keys) {
  FlannelNodeInfo info;
  for (size_t i = 0; i < node.pod_cidrs.size(); ++i) {
    const auto field = [i] { return "pod_cidrs[" + std::to_string(i) + "]"; };
    const std::string& text = node.pod_cidrs[i];
    if (auto v4 = Ipv4Prefix::parse(text)) {
      if (info.pod_cidr) return bad(field(), "a second IPv4 podCIDR '" + text + "'");
      info.pod_cidr = v4;
    } else if (auto v6 = Ipv6Prefix::parse(text)) {
      if (info.pod_cidr_v6) return bad(field(), "a second IPv6 podCIDR '" + text + "'");
      info.pod_cidr_v6 = v6;
    } else if (Ipv4Prefix::parse(text, true)) {
      return bad(field(), "'" + text + "' has host bits set");
    } else {
      return bad(field(), "'" + text + "' is not a CIDR");
    }
  }
  const auto get = [&](const std::string& key) -> const std::string* {
    auto it = node.annotations.find(key);
    return it == node.annotations.end() ? nullptr : &it->second;
  };
  if (const std::string* v = get(keys.kube_subnet_manager)) info.subnet_manager = *v == "true";

  if (const std::string* v = get(keys.backend_type)) {
    if (!known_backend(*v))
      return bad(annotation_field(keys.backend_type), "unknown backend '" + *v + "'");
    info.backend_type = *v;
  }
  for (auto [key, out] : {std::pair{&keys.public_ip, &info.public_ip},
                          std::pair{&keys.public_ip_overwrite, &info.public_ip_overwrite}}) {
    if (const std::string* v = get(*key); v != nullptr && !v->empty()) {
      auto ip = Ipv4Addr::parse(*v);
      if (!ip) return bad(annotation_field(*key), "'" + *v + "' is not an IPv4 address");
      *out = ip;
    }
  }
  if (const std::string* v = get(keys.backend_data)) {
    const auto field = [&keys] { return annotation_field(keys.backend_data); };
    nlohmann::json data;
    try {
      data = nlohmann::json::parse(*v);
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range (5e500)
      return bad(field(), "invalid JSON '" + *v + "': " + e.what());
    }
    if (data.is_object()) {
      // Go's encoding/json matches keys case-insensitively; so does this.
      for (const auto& [key, value] : data.items()) {
        std::string lower = key;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        if (lower == "vni") {
          if (!value.is_number_unsigned() || value.get<uint64_t>() > 0xffffff) {
            return bad(field(), "VNI " + value.dump() + " is not a 24-bit number");
          }
          info.vni = value.get<uint32_t>();
        } else if (lower == "vtepmac") {
          const auto mac =
              value.is_string() ? MacAddr::parse(value.get<std::string>()) : std::nullopt;
          if (!mac) return bad(field(), "VtepMAC " + value.dump() + " is not a MAC address");
          if (mac->is_zero() || mac->is_multicast())
            return bad(field(), "VtepMAC " + value.dump() + " is not unicast");
          info.vtep_mac = mac;
        }
      }
    } else if (!data.is_null()) {
      return bad(field(), "expected a JSON object or null, got '" + *v + "'");
    }
  }
  return info;
}

std::string flannel_backend_type(BackendType backend) {
  return backend == BackendType::kUdp ? "" : backend_type_name(backend);
}

std::string flannel_backend_data(BackendType backend, uint32_t vni, const MacAddr& vtep_mac) {
  // Byte for byte what Go's json.Marshal gives for flannel's vxlanLeaseAttrs
  // (fields in declaration order, compact); flanneld's own MAC recovery
  // parses exactly this shape.
  return backend == BackendType::kVxlan
             ? R"({"VNI":)" + std::to_string(vni) + R"(,"VtepMAC":")" + vtep_mac.str() + R"("})"
             : "null";
}

std::map<std::string, std::string> own_annotations(const AnnotationKeys& keys, BackendType backend,
                                                   uint32_t vni, const MacAddr& vtep_mac,
                                                   Ipv4Addr public_ip) {
  return {{keys.backend_type, flannel_backend_type(backend)},
          {keys.backend_data, flannel_backend_data(backend, vni, vtep_mac)},
          {keys.public_ip, public_ip.str()},
          {keys.kube_subnet_manager, "true"}};
}

}  // namespace tartan
