#include "control/cluster/flannel_annotations.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <regex>
#include <utility>
#include <vector>

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

// flannel's backend-data, read with nlohmann's SAX interface in one pass:
// of the whole document only the values of the top-level VNI, VtepMAC
// (vxlan), PublicKey and Port (wireguard) keys are built (by nlohmann's own DOM builder, so they
// are checked and shown as before); the whole DOM was ~9% of the API's server thread applying
// 100,000 nodes (perf/RESULTS.md).
class BackendDataReader final : public nlohmann::json_sax<nlohmann::json> {
 public:
  using Json = nlohmann::json;
  enum class Top { kNone, kObject, kNull, kOther };
  Top top = Top::kNone;
  // The VNI, VtepMAC, PublicKey and Port values, key lowercased ("vni", ...), in
  // document order: Go's encoding/json matches keys case-insensitively,
  // and a later one overrides an earlier.
  std::vector<std::pair<std::string, Json>> fields;
  std::optional<std::string> error;  // the document is not JSON

  bool null() override {
    return value(true, [](Builder& b) { return b.null(); });
  }
  bool boolean(bool v) override {
    return value(false, [v](Builder& b) { return b.boolean(v); });
  }
  bool number_integer(number_integer_t v) override {
    return value(false, [v](Builder& b) { return b.number_integer(v); });
  }
  bool number_unsigned(number_unsigned_t v) override {
    return value(false, [v](Builder& b) { return b.number_unsigned(v); });
  }
  bool number_float(number_float_t v, const string_t& text) override {
    return value(false, [&](Builder& b) { return b.number_float(v, text); });
  }
  bool string(string_t& v) override {
    return value(false, [&](Builder& b) { return b.string(v); });
  }
  bool binary(binary_t& v) override {
    return value(false, [&](Builder& b) { return b.binary(v); });
  }
  bool start_object(std::size_t n) override {
    if (depth_++ == 0) {
      top = Top::kObject;
      return true;
    }
    return !builder_ || builder_->start_object(n);
  }
  bool end_object() override {
    return close([](Builder& b) { return b.end_object(); });
  }
  bool start_array(std::size_t n) override {
    if (depth_++ == 0) {
      top = Top::kOther;
      return true;
    }
    return !builder_ || builder_->start_array(n);
  }
  bool end_array() override {
    return close([](Builder& b) { return b.end_array(); });
  }
  bool key(string_t& k) override {
    if (depth_ != 1) return !builder_ || builder_->key(k);
    std::string lower = k;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (lower == "vni" || lower == "vtepmac" || lower == "publickey" || lower == "port") {
      fields.emplace_back(std::move(lower), Json());
      builder_.emplace(fields.back().second);
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error = e.what();  // a parse_error, or out_of_range (5e500)
    return false;
  }

 private:
  using Builder = nlohmann::detail::json_sax_dom_parser<Json>;

  // A scalar: the whole document, or part of the value being built.
  template <typename Add>
  bool value(bool is_null, Add add) {
    if (depth_ == 0) {
      top = is_null ? Top::kNull : Top::kOther;
      return true;
    }
    if (!builder_) return true;
    const bool ok = add(*builder_);
    if (depth_ == 1) builder_.reset();  // a top-level key's value is complete
    return ok;
  }
  template <typename End>
  bool close(End end) {
    if (--depth_ == 0 || !builder_) return true;
    const bool ok = end(*builder_);
    if (depth_ == 1) builder_.reset();
    return ok;
  }

  int depth_ = 0;
  std::optional<Builder> builder_;  // building the value of fields.back()
};

// backend-data or backend-v6-data (`key`): vxlan's VNI and VtepMAC,
// wireguard's PublicKey and Port, or null (udp, host-gw).
Status read_backend_data(const std::string& key, const std::string& v, std::optional<uint32_t>& vni,
                         std::optional<MacAddr>& vtep_mac, std::optional<WireguardKey>& public_key,
                         uint16_t& wireguard_port) {
  // Named only on refusal: every node's backend-data is read.
  const auto bad_data = [&key](const std::string& message) {
    return bad(annotation_field(key), message);
  };
  BackendDataReader data;
  if (!nlohmann::json::sax_parse(v, &data) || data.error) {
    return bad_data("invalid JSON '" + v + "': " + data.error.value_or("unreadable"));
  }
  if (data.top == BackendDataReader::Top::kObject) {
    for (const auto& [name, value] : data.fields) {
      if (name == "vni") {
        if (!value.is_number_unsigned() || value.get<uint64_t>() > 0xffffff) {
          return bad_data("VNI " + value.dump() + " is not a 24-bit number");
        }
        vni = value.get<uint32_t>();
      } else if (name == "publickey") {
        auto parsed = value.is_string() ? parse_wireguard_key(value.get<std::string>())
                                        : Result<WireguardKey>(Status::invalid("not a string"));
        if (!parsed) {
          return bad_data("PublicKey " + value.dump() +
                          " is not a WireGuard key: " + parsed.status().message());
        }
        public_key = *parsed;
      } else if (name == "port") {
        // Go's uint16: a null leaves it as it was, anything but 0..65535 is
        // refused.
        if (value.is_null()) continue;
        if (!value.is_number_unsigned() || value.get<uint64_t>() > UINT16_MAX)
          return bad_data("Port " + value.dump() + " is not a UDP port (0..65535)");
        wireguard_port = value.get<uint16_t>();
      } else {
        const auto mac =
            value.is_string() ? MacAddr::parse(value.get_ref<const std::string&>()) : std::nullopt;
        if (!mac) return bad_data("VtepMAC " + value.dump() + " is not a MAC address");
        if (mac->is_zero() || mac->is_multicast())
          return bad_data("VtepMAC " + value.dump() + " is not unicast");
        vtep_mac = mac;
      }
    }
  } else if (data.top != BackendDataReader::Top::kNull) {
    return bad_data("expected a JSON object or null, got '" + v + "'");
  }
  return {};
}

// Address annotations (public-ip, public-ipv6, their overwrites...): each
// set one must parse as an address of its family.
template <class Addr, class Get>
Status read_addresses(
    const Get& get,
    std::initializer_list<std::pair<const std::string*, std::optional<Addr>*>> fields) {
  for (auto [key, out] : fields) {
    if (const std::string* v = get(*key); v != nullptr && !v->empty()) {
      auto ip = Addr::parse(*v);
      if (!ip) {
        return bad(annotation_field(*key),
                   "'" + *v + "' is not an " + (sizeof(Addr) == 4 ? "IPv4" : "IPv6") + " address");
      }
      *out = ip;
    }
  }
  return {};
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
  k.node_public_ip = prefix + "node-public-ip";
  k.node_public_ipv6 = prefix + "node-public-ipv6";
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
  if (Status s =
          read_addresses<Ipv4Addr>(get, {{&keys.public_ip, &info.public_ip},
                                         {&keys.public_ip_overwrite, &info.public_ip_overwrite},
                                         {&keys.node_public_ip, &info.node_public_ip}});
      !s.ok())
    return s;
  if (const std::string* v = get(keys.backend_data)) {
    if (Status s = read_backend_data(keys.backend_data, *v, info.vni, info.vtep_mac,
                                     info.public_key, info.wireguard_port);
        !s.ok())
      return s;
  }
  // The IPv6 side is read apart: flanneld reads it only with EnableIPv6,
  // so a bad value there must not cost a node its IPv4 route.
  Status v6 =
      read_addresses<Ipv6Addr>(get, {{&keys.public_ipv6, &info.public_ipv6},
                                     {&keys.public_ipv6_overwrite, &info.public_ipv6_overwrite},
                                     {&keys.node_public_ipv6, &info.node_public_ipv6}});
  if (const std::string* v = get(keys.backend_v6_data); v != nullptr && v6.ok())
    v6 = read_backend_data(keys.backend_v6_data, *v, info.vni_v6, info.vtep_mac_v6,
                           info.public_key_v6, info.wireguard_port_v6);
  if (!v6.ok()) info.ipv6_invalid = v6.message();
  return info;
}

std::string flannel_backend_type(BackendType backend) {
  return backend == BackendType::kUdp ? "" : backend_type_name(backend);
}

std::string flannel_backend_data(BackendType backend, uint32_t vni, const MacAddr& vtep_mac,
                                 const std::optional<WireguardLeaseAttrs>& wireguard) {
  // Byte for byte what Go's json.Marshal gives for flannel's vxlanLeaseAttrs
  // and wireguardLeaseAttrs (fields in declaration order, compact; base64
  // needs no JSON escape); flanneld's own MAC recovery parses exactly this
  // shape.
  if (backend == BackendType::kVxlan)
    return R"({"VNI":)" + std::to_string(vni) + R"(,"VtepMAC":")" + vtep_mac.str() + R"("})";
  if (backend == BackendType::kWireguard && wireguard) {
    return R"({"PublicKey":")" + wireguard_key_text(wireguard->public_key) + R"(","Port":)" +
           std::to_string(wireguard->port) + "}";
  }
  return "null";
}

std::map<std::string, std::string> own_annotations(const AnnotationKeys& keys, BackendType backend,
                                                   uint32_t vni, const MacAddr& vtep_mac,
                                                   std::optional<Ipv4Addr> public_ip,
                                                   const std::optional<OwnIpv6>& ipv6,
                                                   const std::optional<OwnWireguard>& wireguard) {
  std::map<std::string, std::string> out{{keys.backend_type, flannel_backend_type(backend)},
                                         {keys.kube_subnet_manager, "true"}};
  // flanneld (kube.go AcquireLease) skips the IPv4 side only for vxlan
  // without a flannel.1: other backends write it with IPv4 off too, as
  // public-ip 0.0.0.0 and backend-data null.
  if (public_ip || backend != BackendType::kVxlan) {
    // wireguard's newSubnetAttrs sets BackendData only with IPv4 on.
    out[keys.backend_data] = flannel_backend_data(
        backend, vni, vtep_mac,
        public_ip && wireguard ? std::optional(wireguard->v4()) : std::nullopt);
    out[keys.public_ip] = public_ip.value_or(Ipv4Addr{}).str();
  }
  if (ipv6) {
    // flannel's vxlan backend marshals the same vxlanLeaseAttrs for its
    // flannel-v6 device: {"VNI":1,"VtepMAC":"..."}.
    out[keys.backend_v6_data] = flannel_backend_data(
        backend, vni, ipv6->vtep_mac, wireguard ? std::optional(wireguard->v6()) : std::nullopt);
    out[keys.public_ipv6] = ipv6->public_ip.str();
  }
  return out;
}

}  // namespace tartan
