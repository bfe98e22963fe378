#include "control/config/netconf_json.h"

#include <sys/stat.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>

namespace tartan {
namespace {

using Json = nlohmann::json;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

Status type_error(const std::string& key, const char* expected, const Json& v) {
  return Status::invalid(key + ": expected " + expected + ", found " + v.dump());
}

// Go decodes into uint/int fields only from JSON integers in range.
Status integer(const std::string& key, const Json& v, int64_t min, int64_t max,
               std::optional<int64_t>& out) {
  if (!v.is_number_integer()) return type_error(key, "an integer", v);
  const int64_t n = v.get<int64_t>();
  if (n < min || n > max) {
    return Status::invalid(key + ": " + std::to_string(n) + " is out of range " +
                           std::to_string(min) + ".." + std::to_string(max));
  }
  out = n;
  return {};
}

Status boolean(const std::string& key, const Json& v, bool& out) {
  if (!v.is_boolean()) return type_error(key, "true or false", v);
  out = v.get<bool>();
  return {};
}

Status read_backend(const Json& b, RawNetworkConfig& raw) {
  if (!b.is_object()) return type_error("Backend", "an object", b);
  raw.backend_type = "";  // a Backend without Type: flannel's type ""
  for (const auto& [k, v] : b.items()) {
    const std::string key = "Backend." + k, name = lower(k);
    if (v.is_null()) continue;
    Status s;
    if (name == "type") {
      if (!v.is_string()) return type_error(key, "a string", v);
      raw.backend_type = v.get<std::string>();
    } else if (name == "vni") {
      s = integer(key, v, 0, 0xFFFFFF, raw.vni);
    } else if (name == "port") {
      s = integer(key, v, 0, 65535, raw.port);
      if (s.ok() && *raw.port == 0) raw.port.reset();  // 0: the kernel's default, 8472
    } else if (name == "mtu") {
      // 0, as flannel reads it: unset.
      if (v.is_number_integer() && v.get<int64_t>() == 0) continue;
      s = integer(key, v, kMinUnderlayMtu, kMaxUnderlayMtu, raw.mtu);
    } else if (name == "directrouting") {
      s = boolean(key, v, raw.direct_routing);
    } else if (name == "listenport" || name == "listenportv6" ||
               name == "persistentkeepaliveinterval") {
      // Go ints: any integer here; finish_network_config checks the range.
      auto& field = name == "listenport"     ? raw.listen_port
                    : name == "listenportv6" ? raw.listen_port_v6
                                             : raw.persistent_keepalive;
      s = integer(key, v, INT64_MIN, INT64_MAX, field);
    } else if (name == "psk" || name == "mode") {
      if (!v.is_string()) return type_error(key, "a string", v);
      (name == "psk" ? raw.psk : raw.wireguard_mode) = v.get<std::string>();
    } else if (name == "gbp" || name == "learning") {
      bool on = false;
      s = boolean(key, v, on);
      if (s.ok() && on) return Status::invalid(key + ": true is not supported by tartan");
    }
    if (!s.ok()) return s;
  }
  return {};
}

// SubnetMin and the like: an address of the family of `out`.
template <class Addr>
Status read_address(const std::string& key, const Json& v, std::optional<Addr>& out) {
  if (!v.is_string()) return type_error(key, "a string", v);
  out = Addr::parse(v.get<std::string>());
  if (!out) return Status::invalid(key + ": Invalid IP address format: " + v.dump());
  return {};
}

}  // namespace

Result<RawNetworkConfig> parse_netconf_json(const std::string& json) {
  Json doc;
  try {
    doc = Json::parse(json);
  } catch (const Json::exception& e) {  // parse_error, or out_of_range (5e500)
    return Status::invalid("invalid JSON: " + std::string(e.what()));
  }
  if (!doc.is_object()) return type_error("(top level)", "a JSON object", doc);
  RawNetworkConfig raw;
  for (const auto& [k, v] : doc.items()) {
    const std::string name = lower(k);
    if (v.is_null()) continue;  // Go leaves the field as it was
    Status s;
    if (name == "network" || name == "ipv6network") {
      if (!v.is_string()) return type_error(k, "a CIDR string", v);
      const std::string text = v.get<std::string>();
      if (name == "network") {
        // flannel keeps the masked network: "10.244.1.7/16" is 10.244.0.0/16.
        const auto p = Ipv4Prefix::parse(text, true);
        if (!p) return Status::invalid(k + ": '" + text + "' is not an IPv4 CIDR");
        raw.network = p->network();
      } else {
        // ... and the masked IPv6 network likewise (ip.ParseIP6Net).
        const auto p = Ipv6Prefix::parse(text, true);
        if (!p) return Status::invalid(k + ": '" + text + "' is not an IPv6 CIDR");
        raw.ipv6_network = p->network();
      }
    } else if (name == "subnetlen") {
      s = integer(k, v, 0, 32, raw.subnet_len);
    } else if (name == "ipv6subnetlen") {
      s = integer(k, v, 0, 128, raw.ipv6_subnet_len);
    } else if (name == "subnetmin") {
      s = read_address(k, v, raw.subnet_min);
    } else if (name == "subnetmax") {
      s = read_address(k, v, raw.subnet_max);
    } else if (name == "ipv6subnetmin") {
      s = read_address(k, v, raw.ipv6_subnet_min);
    } else if (name == "ipv6subnetmax") {
      s = read_address(k, v, raw.ipv6_subnet_max);
    } else if (name == "enableipv4") {
      s = boolean(k, v, raw.enable_ipv4);
    } else if (name == "enableipv6") {
      s = boolean(k, v, raw.enable_ipv6);
    } else if (name == "backend") {
      s = read_backend(v, raw);
    } else if (name == "networks" || name == "ipv6networks") {
      if (!v.is_array() || !v.empty())
        return Status::invalid(k + ": multiple cluster networks are not supported by tartan");
    }
    if (!s.ok()) return s;
  }
  return raw;
}

Result<RawNetworkConfig> read_netconf_file(const std::string& path) {
  // Checked before opening: opening a FIFO, or reading a terminal, would
  // wait for ever.
  struct stat st {};
  if (stat(path.c_str(), &st) != 0)
    return Status(ErrorCode::kNotFound, path + ": cannot open: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return Status::invalid(path + ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::kNotFound, path + ": cannot open: " + std::strerror(errno));
  // A net-conf.json is a few hundred bytes; this bounds what a wrong path
  // (a huge file) can make us read.
  constexpr size_t kMaxBytes = 1 << 20;
  std::string text(kMaxBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return Status::invalid(path + ": cannot read: " + std::strerror(errno));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxBytes) return Status::invalid(path + ": larger than 1 MiB");
  auto raw = parse_netconf_json(text);
  if (!raw) return Status::invalid(path + ": " + raw.status().message());
  return raw;
}

}  // namespace tartan
