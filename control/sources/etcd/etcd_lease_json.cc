#include "control/sources/etcd/etcd_lease_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <regex>

#include "control/cluster/local_lease.h"

namespace tartan {
namespace {

bool same_key(const std::string& a, const char* b) {
  return std::equal(a.begin(), a.end(), b, b + std::char_traits<char>::length(b),
                    [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

// flannel's IP4Net.Empty(): the IPv4 half of an IPv6-only lease's key.
constexpr std::string_view kNoIpv4 = "0.0.0.0-0";

// A prefix length of a subnet key as ParseSubnetKey reads it: decimal,
// leading zeros allowed, in `bits` bits (5 for IPv4, so no /32; 7 for IPv6).
Result<uint8_t> key_length(const std::string& digits, int bits, const char* family) {
  const size_t first = std::min(digits.find_first_not_of('0'), digits.size() - 1);
  const std::string_view trimmed = std::string_view(digits).substr(first);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(trimmed.data(), trimmed.data() + trimmed.size(), value);
  const unsigned max = (1u << bits) - 1;
  if (ec != std::errc() || value > max) {
    return Status::invalid(std::string(family) + " length " + std::string(trimmed) + " > " +
                           std::to_string(max));
  }
  return static_cast<uint8_t>(value);
}

}  // namespace

std::string subnet_key_name(const PodCidrs& subnets) {
  std::string name =
      subnets.v4 ? subnets.v4->addr.str() + "-" + std::to_string(subnets.v4->len) : kNoIpv4.data();
  if (subnets.v6) name += "&" + subnets.v6->addr.str() + "-" + std::to_string(subnets.v6->len);
  return name;
}

Result<PodCidrs> parse_subnet_key_name(std::string_view name) {
  // flannel's subnetRegex, anchored at the start too: Go's is not, so
  // flanneld would read "x10.244.1.0-24" as 10.244.1.0/24; tartan wants the
  // element exactly as MakeSubnetKey writes it.
  static const std::regex key(R"(^(\d+\.\d+\.\d+\.\d+)-(\d+)(?:&([a-f\d:]+)-(\d+))?$)");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(name.begin(), name.end(), m, key))
    return Status::invalid(
        "not <IPv4>-<len> or <IPv4>-<len>&<IPv6>-<len>, as flannel names a subnet");
  PodCidrs out;
  const auto v4 = Ipv4Addr::parse(m[1].str());
  if (!v4) return Status::invalid("IPv4 address " + m[1].str() + " is not valid");
  auto v4_len = key_length(m[2].str(), 5, "IPv4");
  if (!v4_len) return v4_len.status();
  out.v4 = Ipv4Prefix{*v4, *v4_len};
  // Go keeps host bits here (IP4Net is not masked), but the kernel refuses
  // flanneld's route to such a prefix: tartan ignores the key.
  if (out.v4->network() != *out.v4)
    return Status::invalid("IPv4 part " + out.v4->str() +
                           " has host bits set (flanneld reads it, the kernel refuses its route)");
  if (!m[3].matched) return out;
  const auto v6 = Ipv6Addr::parse(m[3].str());
  if (!v6) return Status::invalid("IPv6 address " + m[3].str() + " is not valid");
  auto v6_len = key_length(m[4].str(), 7, "IPv6");
  if (!v6_len) return v6_len.status();
  // Go keeps host bits here too; its overlap tests mask them, and so does
  // the kernel for flanneld's IPv6 route: masked, as the subnet flanneld
  // ends up routing.
  out.v6 = Ipv6Prefix{*v6, *v6_len}.network();
  // flannel's empty IP4Net (0.0.0.0-0, leading zeros or not): IPv6 only.
  if (*out.v4 == Ipv4Prefix{}) out.v4.reset();
  return out;
}

std::string lease_node_name(const PodCidrs& subnets) {
  std::string name = subnet_key_name(subnets);
  std::replace_if(
      name.begin(), name.end(), [](char c) { return c == '&' || c == ':'; }, '-');
  return name;
}

std::string encode_lease_attrs(std::optional<Ipv4Addr> public_ip, BackendType backend, uint32_t vni,
                               const MacAddr& vtep_mac, const std::optional<OwnIpv6>& ipv6,
                               const std::optional<OwnWireguard>& wireguard) {
  // Field order and omitempty as in flannel's LeaseAttrs. PublicIP and
  // PublicIPv6 have no omitempty: an IPv6-only lease says 0.0.0.0, a
  // v4-only one null. flannel's vxlan backend fills BackendData and
  // BackendV6Data for the families it runs (newSubnetAttrs).
  std::string out = R"({"PublicIP":")" + public_ip.value_or(Ipv4Addr{}).str() +
                    R"(","PublicIPv6":)" + (ipv6 ? "\"" + ipv6->public_ip.str() + "\"" : "null");
  const std::string type = flannel_backend_type(backend);
  if (!type.empty()) out += R"(,"BackendType":")" + type + "\"";
  if (backend == BackendType::kVxlan || (backend == BackendType::kWireguard && wireguard)) {
    if (public_ip) {
      out += R"(,"BackendData":)" +
             flannel_backend_data(backend, vni, vtep_mac,
                                  wireguard ? std::optional(wireguard->v4()) : std::nullopt);
    }
    if (ipv6) {
      out += R"(,"BackendV6Data":)" +
             flannel_backend_data(backend, vni, ipv6->vtep_mac,
                                  wireguard ? std::optional(wireguard->v6()) : std::nullopt);
    }
  }
  return out + "}";
}

std::string own_lease_attrs(const Config& config, const MacAddr& vtep_mac) {
  const DataplaneConfig& dp = config.engine.dataplane;
  return encode_lease_attrs(own_public_ip(config), dp.backend, dp.vni, vtep_mac,
                            own_public_ipv6(config), own_wireguard(config));
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
    } else if (same_key(key, "PublicIPv6")) {
      attrs.public_ipv6.reset();
      if (value.is_null()) continue;  // a nil *IP6
      attrs.public_ipv6 =
          value.is_string() ? Ipv6Addr::parse(value.get<std::string>()) : std::nullopt;
      if (!attrs.public_ipv6)
        return Status::invalid("PublicIPv6: " + value.dump() + " is not an IPv6 address");
    } else if (same_key(key, "BackendType")) {
      if (!value.is_string() && !value.is_null())
        return Status::invalid("BackendType: " + value.dump() + " is not a string");
      attrs.backend_type = value.is_string() ? value.get<std::string>() : "";
    } else if (same_key(key, "BackendData")) {
      attrs.backend_data = value.dump();  // compact, keys in their order
    } else if (same_key(key, "BackendV6Data")) {
      attrs.backend_v6_data = value.dump();
    }
  }
  if (!have_ip) return Status::invalid("PublicIP: missing");
  return attrs;
}

NodeSpec lease_to_node(const PodCidrs& subnets, const std::optional<FlannelLeaseAttrs>& attrs,
                       const AnnotationKeys& keys) {
  NodeSpec n;
  n.name = lease_node_name(subnets);
  if (subnets.v4) n.pod_cidrs.push_back(subnets.v4->str());
  if (subnets.v6) n.pod_cidrs.push_back(subnets.v6->str());
  if (!attrs) return n;
  n.annotations = {{keys.backend_type, attrs->backend_type}, {keys.kube_subnet_manager, "true"}};
  const auto or_null = [](const std::string& data) { return data.empty() ? "null" : data; };
  if (subnets.v4) {
    n.addresses.push_back({"InternalIP", attrs->public_ip.str()});
    n.annotations[keys.backend_data] = or_null(attrs->backend_data);
    n.annotations[keys.public_ip] = attrs->public_ip.str();
  }
  if (subnets.v6) {
    n.annotations[keys.backend_v6_data] = or_null(attrs->backend_v6_data);
    if (attrs->public_ipv6) {
      n.addresses.push_back({"InternalIP", attrs->public_ipv6->str()});
      n.annotations[keys.public_ipv6] = attrs->public_ipv6->str();
    }
  }
  return n;
}

}  // namespace tartan
