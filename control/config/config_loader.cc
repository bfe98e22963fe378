#include "control/config/config_loader.h"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "control/cluster/flannel_annotations.h"
#include "control/cluster/node_mirror.h"
#include "control/config/config_keys.h"
#include "control/config/netconf.h"
#include "control/config/netconf_json.h"
#include "control/config/pod_mtu.h"
#include "control/config/underlay_check.h"
#include "control/http/listen_address.h"
#include "control/sources/etcd/etcd_endpoint.h"
#include "embedded_default_config.h"
#include "engine/eal.h"
#include "engine/path/vnet_tap.h"

namespace tartan {
namespace {

// Thrown inside the loader only; parse_config turns it into a Status.
struct ConfigError {
  YAML::Mark mark;
  std::string key;
  std::string message;
};

// The id of a group given by name or number, if the system has it.
std::optional<uint32_t> group_id(const std::string& name) {
  group g{};
  group* found = nullptr;
  std::vector<char> buf(16384);
  if (getgrnam_r(name.c_str(), &g, buf.data(), buf.size(), &found) == 0 && found != nullptr)
    return found->gr_gid;
  uint32_t gid = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), gid);
  if (name.empty() || ec != std::errc() || end != name.data() + name.size()) return std::nullopt;
  if (getgrgid_r(gid, &g, buf.data(), buf.size(), &found) == 0 && found != nullptr) return gid;
  return std::nullopt;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string kind_of(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "nothing (null)";
    case YAML::NodeType::Scalar:
      return n.Tag() == "!" ? "a string" : "'" + n.Scalar() + "'";
    default:
      return "nothing";
  }
}

// A map's path in config_keys()' terms: list indexes dropped
// ("ports.overlay[1]" -> "ports.overlay[]").
std::string schema_path(const std::string& path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    out += path[i];
    if (path[i] == '[') {
      while (i + 1 < path.size() && path[i + 1] != ']') ++i;
    }
  }
  return out;
}

// A YAML map whose keys have been checked against the allowed set.
class Section {
 public:
  Section(YAML::Node node, std::string path) : node_(std::move(node)), path_(std::move(path)) {}

  std::string key_path(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }
  const YAML::Node& node() const { return node_; }
  const std::string& path() const { return path_; }

  void add(const std::string& canonical, YAML::Node value) {
    entries_[canonical] = std::move(value);
  }
  bool has(const std::string& key) const { return entries_.count(key) != 0; }
  const YAML::Node& get(const std::string& key) const { return entries_.at(key); }

 private:
  YAML::Node node_;
  std::string path_;
  std::map<std::string, YAML::Node> entries_;
};

class Reader {
 public:
  [[noreturn]] void fail(const YAML::Node& at, const std::string& key, const std::string& message) {
    throw ConfigError{at.Mark(), key, message};
  }

  // Remembers where each key was read, so checks that span several keys can
  // still point at one.
  void remember(const std::string& key, const YAML::Node& at) { marks_[key] = at; }
  // `fallback` is where to point when the key was not in the file at all.
  [[noreturn]] void fail_at(const std::string& key, const std::string& message,
                            const YAML::Node& fallback = YAML::Node()) {
    auto it = marks_.find(key);
    fail(it == marks_.end() ? fallback : it->second, key, message);
  }

  // `node` must be a map with the keys config_keys() allows at `path`. Keys
  // match exactly, or under `network` case-insensitively as Go's
  // encoding/json would (flannel's net-conf.json is decoded that way).
  Section section(const YAML::Node& node, const std::string& path) {
    if (!node.IsMap()) fail(node, path, "expected a map, found " + kind_of(node));
    const std::vector<std::string> allowed = config_keys_in(schema_path(path));
    const bool case_insensitive = path == "network" || path.starts_with("network.");
    Section s(node, path);
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string key = it->first.Scalar();
      const std::string* match = nullptr;
      for (const std::string& a : allowed) {
        if (key == a || (case_insensitive && lower(key) == lower(a))) match = &a;
      }
      if (match == nullptr) {
        std::string list;
        for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail(it->first, s.key_path(key), "unknown key (allowed here: " + list + ")");
      }
      if (s.has(*match)) fail(it->first, s.key_path(key), "given twice");
      s.add(*match, it->second);
      remember(s.key_path(*match), it->second);
    }
    return s;
  }

  Section required_section(const Section& parent, const std::string& key) {
    if (!parent.has(key)) fail(parent.node(), parent.key_path(key), "required section is missing");
    return section(parent.get(key), parent.key_path(key));
  }

  std::string scalar(const YAML::Node& n, const std::string& key, const char* expected) {
    if (!n.IsScalar()) fail(n, key, std::string("expected ") + expected + ", found " + kind_of(n));
    return n.Scalar();
  }

  int64_t integer(const YAML::Node& n, const std::string& key, int64_t min, int64_t max) {
    const std::string text = scalar(n, key, "an integer");
    int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (n.Tag() == "!" || ec == std::errc::invalid_argument || end != text.data() + text.size()) {
      fail(n, key, "expected an integer, found " + kind_of(n));
    }
    if (ec == std::errc::result_out_of_range || value < min || value > max) {
      fail(n, key, text + " is out of range " + std::to_string(min) + ".." + std::to_string(max));
    }
    return value;
  }

  // Sets `out` from `key` of `s` when the key is there.
  template <class T>
  void maybe_integer(const Section& s, const char* key, T& out, int64_t min, int64_t max) {
    if (s.has(key)) out = static_cast<T>(integer(s.get(key), s.key_path(key), min, max));
  }

  bool boolean(const YAML::Node& n, const std::string& key) {
    const std::string text = scalar(n, key, "true or false");
    if (n.Tag() != "!" && (text == "true" || text == "false")) return text == "true";
    fail(n, key, "expected true or false, found " + kind_of(n));
  }

  std::string string(const YAML::Node& n, const std::string& key) {
    return scalar(n, key, "a string");
  }

  Ipv4Addr ipv4(const YAML::Node& n, const std::string& key) {
    const std::string text = scalar(n, key, "an IPv4 address");
    auto a = Ipv4Addr::parse(text);
    if (!a) fail(n, key, "'" + text + "' is not an IPv4 address");
    return *a;
  }

  MacAddr mac(const YAML::Node& n, const std::string& key) {
    const std::string text = scalar(n, key, "a MAC address");
    auto m = MacAddr::parse(text);
    if (!m) fail(n, key, "'" + text + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
    if (m->is_zero() || m->is_multicast())
      fail(n, key, "'" + text + "' is not a unicast MAC address");
    return *m;
  }

  Ipv4Prefix ipv4_prefix(const YAML::Node& n, const std::string& key,
                         bool allow_host_bits = false) {
    const std::string text = scalar(n, key, "an IPv4 CIDR");
    if (allow_host_bits) {
      if (auto p = Ipv4Prefix::parse(text, true)) return *p;
    }
    auto p = parse_ipv4_cidr(text);
    if (!p) fail(n, key, p.status().message());
    return *p;
  }

  Ipv6Addr ipv6(const YAML::Node& n, const std::string& key) {
    const std::string text = scalar(n, key, "an IPv6 address");
    auto a = Ipv6Addr::parse(text);
    if (!a) fail(n, key, "'" + text + "' is not an IPv6 address");
    return *a;
  }

  Ipv6Prefix ipv6_prefix(const YAML::Node& n, const std::string& key,
                         bool allow_host_bits = false) {
    const std::string text = scalar(n, key, "an IPv6 CIDR");
    if (allow_host_bits) {
      if (auto p = Ipv6Prefix::parse(text, true)) return *p;
    }
    auto p = parse_ipv6_cidr(text);
    if (!p) fail(n, key, p.status().message());
    return *p;
  }

  std::vector<std::string> string_list(const YAML::Node& n, const std::string& key) {
    if (!n.IsSequence()) fail(n, key, "expected a list of strings, found " + kind_of(n));
    std::vector<std::string> out;
    for (size_t i = 0; i < n.size(); ++i)
      out.push_back(string(n[i], key + "[" + std::to_string(i) + "]"));
    return out;
  }

 private:
  std::map<std::string, YAML::Node> marks_;
};

void read_eal(Reader& r, const Section& top, EalConfig& eal) {
  if (!top.has("eal")) return;
  Section s = r.section(top.get("eal"), "eal");
  r.maybe_integer(s, "main_lcore", eal.main_lcore, 0, RTE_MAX_LCORE - 1);
  r.maybe_integer(s, "memory_mb", eal.memory_mb, 64, 1 << 20);
  if (s.has("hugepages")) {
    const YAML::Node& n = s.get("hugepages");
    const std::string v = r.scalar(n, "eal.hugepages", "auto, on or off");
    if (v == "auto")
      eal.hugepages = HugepageMode::kAuto;
    else if (v == "on" || v == "true")
      eal.hugepages = HugepageMode::kOn;
    else if (v == "off" || v == "false")
      eal.hugepages = HugepageMode::kOff;
    else
      r.fail(n, "eal.hugepages", "expected auto, on or off, found '" + v + "'");
  }
  if (s.has("file_prefix")) {
    eal.file_prefix = r.string(s.get("file_prefix"), "eal.file_prefix");
    const bool ok =
        std::all_of(eal.file_prefix.begin(), eal.file_prefix.end(),
                    [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; });
    if (!ok)
      r.fail(s.get("file_prefix"), "eal.file_prefix",
             "only letters, digits, '-' and '_' are allowed");
  }
  if (s.has("extra_args")) eal.extra_args = r.string_list(s.get("extra_args"), "eal.extra_args");
  if (s.has("secondary_processes")) {
    const YAML::Node& n = s.get("secondary_processes");
    eal.secondary_processes = r.boolean(n, "eal.secondary_processes");
    if (eal.secondary_processes && eal.hugepages != HugepageMode::kOn)
      r.fail(n, "eal.secondary_processes",
             "secondary processes map the primary's hugepages: needs eal.hugepages: on");
  }
}

// `device_from_node`: with lease.source kube, the underlay's device may
// come from our Node's annotation instead (control/sources/kube/own_node.h).
PortConfig read_port(Reader& r, const Section& s, PortRole role, const std::string& default_name,
                     bool device_from_node = false) {
  PortConfig p;
  p.role = role;
  p.name = s.has("name") ? r.string(s.get("name"), s.key_path("name")) : default_name;
  if (p.name.empty()) r.fail(s.node(), s.key_path("name"), "must not be empty");
  if (!s.has("device")) {
    if (device_from_node) return p;
    r.fail(s.node(), s.key_path("device"), "required key is missing (PCI address or vdev devargs)");
  }
  p.device = r.string(s.get("device"), s.key_path("device"));
  if (p.device.empty()) r.fail(s.get("device"), s.key_path("device"), "must not be empty");
  if (s.has("mac")) p.mac = r.mac(s.get("mac"), s.key_path("mac"));
  if (s.has("routing")) {
    const std::string v = r.string(s.get("routing"), s.key_path("routing"));
    if (v == "auto")
      p.routing = OverlayRouting::kAuto;
    else if (v == "tartan")
      p.routing = OverlayRouting::kTartan;
    else if (v == "host")
      p.routing = OverlayRouting::kHost;
    else
      r.fail(s.get("routing"), s.key_path("routing"),
             "expected auto, tartan or host, found '" + v + "'");
  }
  return p;
}

// The address is checked against the rest once everything is read
// (check_underlay).
void read_underlay(Reader& r, const Section& ports, EngineConfig& engine, bool from_node) {
  if (!ports.has("underlay")) r.fail(ports.node(), "ports.underlay", "required section is missing");
  Section u = r.section(ports.get("underlay"), "ports.underlay");
  PortConfig p = read_port(r, u, PortRole::kUnderlay, "underlay", from_node);
  p.mtu = 1500;
  r.maybe_integer(u, "mtu", p.mtu, kMinUnderlayMtu, kMaxUnderlayMtu);
  engine.ports.push_back(p);

  // Which addresses are required depends on the network's families:
  // check_underlay says, pointing here when one is missing.
  for (const char* key : {"address", "ipv6_address"}) {
    if (!u.has(key)) r.remember(u.key_path(key), u.node());
  }
  if (u.has("address")) {
    engine.underlay.address = r.ipv4_prefix(u.get("address"), "ports.underlay.address", true);
    if (engine.underlay.address->len == 0)
      r.fail(u.get("address"), "ports.underlay.address", "prefix length must be 1..31");
  }
  if (u.has("gateway"))
    engine.underlay.gateway = r.ipv4(u.get("gateway"), "ports.underlay.gateway");
  // Dual stack: flannel-v6's outer header comes from our IPv6 address, as
  // flanneld's --public-ipv6 (the interface's address with its prefix here,
  // so on-link peers are told from those behind the gateway).
  if (u.has("ipv6_address")) {
    engine.underlay.ipv6_address =
        r.ipv6_prefix(u.get("ipv6_address"), "ports.underlay.ipv6_address", true);
    if (engine.underlay.ipv6_address->len == 0 || engine.underlay.ipv6_address->len > 127)
      r.fail(u.get("ipv6_address"), "ports.underlay.ipv6_address", "prefix length must be 1..127");
  }
  if (u.has("ipv6_gateway"))
    engine.underlay.ipv6_gateway = r.ipv6(u.get("ipv6_gateway"), "ports.underlay.ipv6_gateway");
}

// The kernel interface a tap port's devargs name (iface=...), or "".
std::string tap_iface(const std::string& device) {
  return device.rfind("net_tap", 0) == 0 || is_vnet_tap_device(device) ? device_iface(device) : "";
}

// host_routes: auto (the default: on for the first overlay port when it is a
// named net_tap), on or off. Only the first overlay port holds our podCIDR.
void read_host_routes(Reader& r, const Section& s, size_t index, const PortConfig& port,
                      std::string& host_tap) {
  std::string mode = "auto";
  if (s.has("host_routes")) mode = r.string(s.get("host_routes"), s.key_path("host_routes"));
  if (mode != "auto" && mode != "on" && mode != "off") {
    r.fail(s.get("host_routes"), s.key_path("host_routes"),
           "expected auto, on or off, found '" + mode + "'");
  }
  const std::string iface = tap_iface(port.device);
  if (mode == "on" && (index != 0 || iface.empty())) {
    r.fail(s.get("host_routes"), s.key_path("host_routes"),
           index != 0 ? "only the first overlay port gets host routes"
                      : "needs a net_tap or vnet_tap device with iface=NAME (the kernel interface "
                        "to program)");
  }
  if (index == 0 && mode != "off" && !iface.empty()) host_tap = iface;
}

void read_ports(Reader& r, const Section& top, EngineConfig& engine, std::string& host_tap,
                bool underlay_from_node) {
  Section s = r.required_section(top, "ports");
  read_underlay(r, s, engine, underlay_from_node);

  if (!s.has("overlay"))
    r.fail(s.node(), "ports.overlay", "required section is missing (a list of ports)");
  const YAML::Node& overlays = s.get("overlay");
  if (!overlays.IsSequence() || overlays.size() == 0) {
    r.fail(overlays, "ports.overlay",
           "expected a non-empty list of ports, found " + kind_of(overlays));
  }
  for (size_t i = 0; i < overlays.size(); ++i) {
    const std::string path = "ports.overlay[" + std::to_string(i) + "]";
    Section o = r.section(overlays[i], path);
    engine.ports.push_back(read_port(r, o, PortRole::kOverlay, "overlay" + std::to_string(i)));
    read_host_routes(r, o, i, engine.ports.back(), host_tap);
  }
  if (s.has("exception")) {
    engine.ports.push_back(read_port(r, r.section(s.get("exception"), "ports.exception"),
                                     PortRole::kException, "exception"));
  }

  std::set<std::string> names, devices;
  for (size_t i = 0; i < engine.ports.size(); ++i) {
    const PortConfig& p = engine.ports[i];
    const std::string path = i == 0 ? "ports.underlay"
                             : p.role == PortRole::kException
                                 ? "ports.exception"
                                 : "ports.overlay[" + std::to_string(i - 1) + "]";
    if (!names.insert(p.name).second)
      r.fail(s.node(), path + ".name", "port name '" + p.name + "' is used twice");
    if (!devices.insert(p.device.substr(0, p.device.find(','))).second) {
      r.fail(s.node(), path + ".device", "device '" + p.device + "' is used by two ports");
    }
  }
}

// Listed lcores are checked against eal.main_lcore one by one; the default
// one (also when there is no workers section) here.
void check_default_lcores(Reader& r, const EngineConfig& engine) {
  const std::vector<unsigned>& l = engine.workers.lcores;
  if (std::find(l.begin(), l.end(), engine.eal.main_lcore) != l.end()) {
    r.fail_at("eal.main_lcore",
              "main lcore " + std::to_string(engine.eal.main_lcore) +
                  " collides with the default worker lcore 1; set workers.lcores");
  }
}

void read_workers(Reader& r, const Section& top, EngineConfig& engine) {
  if (!top.has("workers")) return check_default_lcores(r, engine);
  WorkersConfig& w = engine.workers;
  Section s = r.section(top.get("workers"), "workers");
  if (s.has("lcores")) {
    const YAML::Node& n = s.get("lcores");
    if (!n.IsSequence() || n.size() == 0)
      r.fail(n, "workers.lcores", "expected a non-empty list of lcore ids, found " + kind_of(n));
    w.lcores.clear();
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string key = "workers.lcores[" + std::to_string(i) + "]";
      const auto lcore = static_cast<unsigned>(r.integer(n[i], key, 0, RTE_MAX_LCORE - 1));
      if (std::find(w.lcores.begin(), w.lcores.end(), lcore) != w.lcores.end())
        r.fail(n[i], key, "lcore " + std::to_string(lcore) + " is listed twice");
      if (lcore == engine.eal.main_lcore)
        r.fail(
            n[i], key,
            "lcore " + std::to_string(lcore) + " is eal.main_lcore, which runs the control plane");
      w.lcores.push_back(lcore);
    }
  } else {
    check_default_lcores(r, engine);
  }
  r.maybe_integer(s, "burst_size", w.burst_size, 1, 64);
  r.maybe_integer(s, "rx_descriptors", w.rx_descriptors, 64, 16384);
  r.maybe_integer(s, "tx_descriptors", w.tx_descriptors, 64, 16384);
  r.maybe_integer(s, "mempool_size", w.mempool_size, 1023, 1 << 24);
  r.maybe_integer(s, "mempool_cache", w.mempool_cache, 0, 512);
  r.maybe_integer(s, "idle_sleep_us", w.idle_sleep_us, 0, 100000);
}

// The `network` section: flannel's net-conf.json written as YAML, checked
// key by key (unknown keys are errors, as everywhere in this file).
RawNetworkConfig read_network_section(Reader& r, const Section& top) {
  Section s = r.section(top.get("network"), "network");
  RawNetworkConfig raw;
  auto key = [&](const char* k) { return s.key_path(k); };
  if (s.has("EnableIPv4")) raw.enable_ipv4 = r.boolean(s.get("EnableIPv4"), key("EnableIPv4"));
  if (s.has("EnableIPv6")) raw.enable_ipv6 = r.boolean(s.get("EnableIPv6"), key("EnableIPv6"));
  if (s.has("EnableNFTables"))
    r.boolean(s.get("EnableNFTables"), key("EnableNFTables"));  // host masquerading: not ours
  if (s.has("Network")) raw.network = r.ipv4_prefix(s.get("Network"), key("Network"));
  if (s.has("SubnetLen")) raw.subnet_len = r.integer(s.get("SubnetLen"), key("SubnetLen"), 0, 32);
  if (s.has("SubnetMin")) raw.subnet_min = r.ipv4(s.get("SubnetMin"), key("SubnetMin"));
  if (s.has("SubnetMax")) raw.subnet_max = r.ipv4(s.get("SubnetMax"), key("SubnetMax"));
  if (s.has("IPv6Network"))
    raw.ipv6_network = r.ipv6_prefix(s.get("IPv6Network"), key("IPv6Network"));
  if (s.has("IPv6SubnetLen"))
    raw.ipv6_subnet_len = r.integer(s.get("IPv6SubnetLen"), key("IPv6SubnetLen"), 0, 128);
  if (s.has("IPv6SubnetMin"))
    raw.ipv6_subnet_min = r.ipv6(s.get("IPv6SubnetMin"), key("IPv6SubnetMin"));
  if (s.has("IPv6SubnetMax"))
    raw.ipv6_subnet_max = r.ipv6(s.get("IPv6SubnetMax"), key("IPv6SubnetMax"));
  for (const char* multi : {"Networks", "IPv6Networks"}) {
    // flannel's MultiClusterCIDR lists: accepted when empty, as flannel writes them.
    const bool empty = s.has(multi) && (s.get(multi).IsNull() ||
                                        (s.get(multi).IsSequence() && s.get(multi).size() == 0));
    if (s.has(multi) && !empty)
      r.fail(s.get(multi), key(multi), "multiple cluster networks are not supported by tartan");
  }

  if (s.has("Backend")) {
    Section b = r.section(s.get("Backend"), key("Backend"));
    auto bkey = [&](const char* k) { return b.key_path(k); };
    raw.backend_type = b.has("Type") ? r.string(b.get("Type"), bkey("Type")) : "";
    if (b.has("VNI")) raw.vni = r.integer(b.get("VNI"), bkey("VNI"), 0, 0xFFFFFF);
    if (b.has("Port")) {
      raw.port = r.integer(b.get("Port"), bkey("Port"), 0, 65535);
      if (*raw.port == 0)
        r.fail(b.get("Port"), bkey("Port"),
               "port 0 is not a usable UDP port (leave Port out for the default)");
    }
    if (b.has("MTU"))
      raw.mtu = r.integer(b.get("MTU"), bkey("MTU"), kMinUnderlayMtu, kMaxUnderlayMtu);
    if (b.has("DirectRouting"))
      raw.direct_routing = r.boolean(b.get("DirectRouting"), bkey("DirectRouting"));
    if (b.has("ListenPort"))
      raw.listen_port = r.integer(b.get("ListenPort"), bkey("ListenPort"), 1, 65535);
    if (b.has("ListenPortV6"))
      raw.listen_port_v6 = r.integer(b.get("ListenPortV6"), bkey("ListenPortV6"), 1, 65535);
    if (b.has("PSK")) raw.psk = r.string(b.get("PSK"), bkey("PSK"));
    if (b.has("PersistentKeepaliveInterval")) {
      raw.persistent_keepalive = r.integer(b.get("PersistentKeepaliveInterval"),
                                           bkey("PersistentKeepaliveInterval"), 0, 65535);
    }
    if (b.has("Mode")) raw.wireguard_mode = r.string(b.get("Mode"), bkey("Mode"));
    if (b.has("GBP") && r.boolean(b.get("GBP"), bkey("GBP"))) {
      r.fail(b.get("GBP"), bkey("GBP"), "VXLAN group-based policy is not supported by tartan");
    }
    if (b.has("Learning") && r.boolean(b.get("Learning"), bkey("Learning"))) {
      r.fail(b.get("Learning"), bkey("Learning"),
             "VXLAN source-address learning is not supported (flannel runs with nolearning)");
    }
  }
  return raw;
}

// An error about net-conf key `key` (e.g. "Backend.MTU"): at that key of
// the `network` section, or naming network_file and the key in it.
[[noreturn]] void fail_network(Reader& r, const Section& top, const Config& c,
                               const std::string& key, const std::string& message) {
  if (!c.network_file.empty())
    r.fail(top.get("network_file"), "network_file", c.network_file + ": " + key + ": " + message);
  r.fail_at("network." + key, message, top.get("network"));
}

// lease.source, looked at before read_lease checks it: with kube, the
// network's SubnetLen, SubnetMin and SubnetMax are not flannel's to check,
// and the underlay's device and address may come from our Node.
bool lease_source_is(const Section& top, const char* name) {
  if (!top.has("lease") || !top.get("lease").IsMap()) return false;
  const YAML::Node source = top.get("lease")["source"];
  // A lease without `source` yields yaml-cpp's invalid node, whose type
  // cannot be asked (it throws); its truth can.
  return source && source.IsScalar() && source.Scalar() == name;
}

bool kube_mode(const Section& top) {
  return lease_source_is(top, "kube");
}

// `network`, or `network_file`: kube-flannel's net-conf.json (its
// ConfigMap kube-flannel-cfg, mounted), read exactly as flanneld reads it.
void read_network(Reader& r, const Section& top, Config& c) {
  const bool from_file = top.has("network_file");
  if (from_file && top.has("network")) {
    r.fail(top.get("network_file"), "network_file",
           "give network or network_file, not both (network_file is flannel's net-conf.json)");
  }
  if (!from_file && !top.has("network")) {
    // As flanneld with etcd: <prefix>/config is the network config.
    if (lease_source_is(top, "etcd")) {
      c.network_from_etcd = true;
      return;
    }
    r.fail(top.node(), "network",
           "required section is missing (or network_file: the path of flannel's net-conf.json)");
  }
  RawNetworkConfig raw;
  if (from_file) {
    c.network_file = r.string(top.get("network_file"), "network_file");
    if (c.network_file.empty() || c.network_file[0] != '/')
      r.fail(top.get("network_file"), "network_file", "must be an absolute path");
    auto read = read_netconf_file(c.network_file);
    if (!read) r.fail(top.get("network_file"), "network_file", read.status().message());
    raw = std::move(read).value();
  } else {
    raw = read_network_section(r, top);
  }
  std::string bad_key;
  auto finished = finish_network_config(raw, &bad_key, kube_mode(top));
  if (!finished) fail_network(r, top, c, bad_key, finished.status().message());
  c.network = std::move(finished).value();
}

void read_control(Reader& r, const Section& top, ControlConfig& control) {
  if (!top.has("control")) return;
  Section s = r.section(top.get("control"), "control");
  r.maybe_integer(s, "watch_history", control.watch_history, 1, 1 << 24);
  r.maybe_integer(s, "watch_history_mb", control.watch_history_mb, 1, 65536);
  r.maybe_integer(s, "max_message_bytes", control.max_message_bytes, 4096, 1 << 30);
  r.maybe_integer(s, "max_concurrent_streams", control.max_concurrent_streams, 1, 1 << 16);
  r.maybe_integer(s, "stream_write_timeout_ms", control.stream_write_timeout_ms, 100, 3600000);
  if (s.has("socket_group")) {
    control.socket_group = r.string(s.get("socket_group"), "control.socket_group");
    control.socket_gid = group_id(control.socket_group);
    if (!control.socket_gid) {
      r.fail_at("control.socket_group", "group '" + control.socket_group + "' does not exist");
    }
  }
  if (s.has("http")) {
    Section h = r.section(s.get("http"), "control.http");
    r.maybe_integer(h, "metrics_peers", control.http.metrics_peers, 0, 100000);
    if (h.has("listen")) control.http.listen = r.string(h.get("listen"), "control.http.listen");
    if (auto a = parse_listen_address(control.http.listen); !control.http.listen.empty() && !a)
      r.fail(h.get("listen"), "control.http.listen", a.status().message());
  }
  if (s.has("probe")) {
    Section p = r.section(s.get("probe"), "control.probe");
    r.maybe_integer(p, "interval_ms", control.probe.interval_ms, 0, 3600000);
    r.maybe_integer(p, "timeout_ms", control.probe.timeout_ms, 10, 60000);
    const uint32_t interval = control.probe.interval_ms;
    if (interval != 0 && interval < 100)
      r.fail_at("control.probe.interval_ms", "below 100 ms (0 turns probes off)");
    if (interval != 0 && control.probe.timeout_ms > interval) {
      r.fail_at("control.probe.timeout_ms",
                std::to_string(control.probe.timeout_ms) + " is above control.probe.interval_ms (" +
                    std::to_string(interval) + ")",
                p.node());
    }
  }
  if (s.has("listen")) control.listen = r.string(s.get("listen"), "control.listen");
  if (s.has("tls")) {
    Section t = r.section(s.get("tls"), "control.tls");
    if (t.has("cert")) control.tls_cert = r.string(t.get("cert"), "control.tls.cert");
    if (t.has("key")) control.tls_key = r.string(t.get("key"), "control.tls.key");
    if (t.has("client_ca"))
      control.tls_client_ca = r.string(t.get("client_ca"), "control.tls.client_ca");
  }
  if (Status listen = check_control_listen(control); !listen.ok())
    r.fail_at("control.listen", listen.message());
}

// lease.etcd: flanneld's --etcd-* flags as YAML (see control/etcd_config.h).
void read_etcd(Reader& r, const YAML::Node& node, EtcdConfig& e) {
  Section s = r.section(node, "lease.etcd");
  bool any_tls = false;
  if (s.has("endpoints")) {
    e.endpoints = r.string_list(s.get("endpoints"), "lease.etcd.endpoints");
    if (e.endpoints.empty())
      r.fail(s.get("endpoints"), "lease.etcd.endpoints", "must not be empty");
  }
  for (size_t i = 0; i < e.endpoints.size(); ++i) {
    auto ep = parse_etcd_endpoint(e.endpoints[i]);
    if (!ep)
      r.fail_at("lease.etcd.endpoints", "[" + std::to_string(i) + "]: " + ep.status().message());
    any_tls = any_tls || ep->tls;
  }
  if (s.has("prefix")) {
    e.prefix = r.string(s.get("prefix"), "lease.etcd.prefix");
    while (e.prefix.size() > 1 && e.prefix.back() == '/') e.prefix.pop_back();
    if (e.prefix.empty() || e.prefix == "/")
      r.fail(s.get("prefix"), "lease.etcd.prefix", "must not be empty");
  }
  if (s.has("tls")) {
    Section t = r.section(s.get("tls"), "lease.etcd.tls");
    if (t.has("cert")) e.tls_cert = r.string(t.get("cert"), "lease.etcd.tls.cert");
    if (t.has("key")) e.tls_key = r.string(t.get("key"), "lease.etcd.tls.key");
    if (t.has("ca")) e.tls_ca = r.string(t.get("ca"), "lease.etcd.tls.ca");
    if (e.tls_cert.empty() != e.tls_key.empty())
      r.fail(s.get("tls"), "lease.etcd.tls", "cert and key go together");
    if (!any_tls) r.fail(s.get("tls"), "lease.etcd.tls", "set, but no endpoint is https://");
  }
  if (s.has("username")) e.username = r.string(s.get("username"), "lease.etcd.username");
  if (s.has("password")) e.password = r.string(s.get("password"), "lease.etcd.password");
  if (s.has("password_file"))
    e.password_file = r.string(s.get("password_file"), "lease.etcd.password_file");
  if (!e.password.empty() && !e.password_file.empty())
    r.fail_at("lease.etcd.password_file", "give password or password_file, not both");
  if (e.username.empty() != (e.password.empty() && e.password_file.empty()))
    r.fail(s.node(), "lease.etcd.username", "username and password (or password_file) go together");
  r.maybe_integer(s, "lease_ttl_s", e.lease_ttl_s, 5, 365 * 86400);
  r.maybe_integer(s, "renew_margin_s", e.renew_margin_s, 1, 365 * 86400);
  if (e.renew_margin_s >= e.lease_ttl_s) {
    r.fail_at("lease.etcd.renew_margin_s",
              std::to_string(e.renew_margin_s) + " must be below lease_ttl_s (" +
                  std::to_string(e.lease_ttl_s) + ")",
              s.node());
  }
  r.maybe_integer(s, "request_timeout_ms", e.request_timeout_ms, 100, 600000);
  r.maybe_integer(s, "retry_initial_ms", e.retry_initial_ms, 1, 600000);
  r.maybe_integer(s, "retry_max_ms", e.retry_max_ms, 1, 3600000);
  if (e.retry_max_ms < e.retry_initial_ms)
    r.fail_at("lease.etcd.retry_max_ms", "must be at least retry_initial_ms", s.node());
  r.maybe_integer(s, "startup_timeout_s", e.startup_timeout_s, 1, 86400);
}

// lease.kube: flanneld's --kube-subnet-mgr flags as YAML (see config/kube_config.h).
void read_kube(Reader& r, const YAML::Node& node, KubeConfig& k) {
  Section s = r.section(node, "lease.kube");
  if (s.has("kubeconfig")) k.kubeconfig = r.string(s.get("kubeconfig"), "lease.kube.kubeconfig");
  if (s.has("api_url")) {
    k.api_url = r.string(s.get("api_url"), "lease.kube.api_url");
    if (k.api_url.rfind("https://", 0) != 0 && k.api_url.rfind("http://", 0) != 0)
      r.fail(s.get("api_url"), "lease.kube.api_url",
             "expected https://HOST[:PORT] or http://HOST[:PORT], found '" + k.api_url + "'");
  }
  if (s.has("service_account_dir"))
    k.service_account_dir =
        r.string(s.get("service_account_dir"), "lease.kube.service_account_dir");
  if (s.has("set_node_network_unavailable"))
    k.set_node_network_unavailable =
        r.boolean(s.get("set_node_network_unavailable"), "lease.kube.set_node_network_unavailable");
  r.maybe_integer(s, "request_timeout_ms", k.request_timeout_ms, 100, 600000);
  r.maybe_integer(s, "retry_initial_ms", k.retry_initial_ms, 1, 600000);
  r.maybe_integer(s, "retry_max_ms", k.retry_max_ms, 1, 3600000);
  if (k.retry_max_ms < k.retry_initial_ms)
    r.fail_at("lease.kube.retry_max_ms", "must be at least retry_initial_ms", s.node());
  r.maybe_integer(s, "watch_timeout_min_s", k.watch_timeout_min_s, 1, 86400);
  r.maybe_integer(s, "list_page_size", k.list_page_size, 1, 100000);
  r.maybe_integer(s, "max_response_mb", k.max_response_mb, 1, 4096);
  r.maybe_integer(s, "token_reload_s", k.token_reload_s, 1, 86400);
  r.maybe_integer(s, "startup_timeout_s", k.startup_timeout_s, 1, 86400);
}

void read_lease(Reader& r, const Section& top, Config& c) {
  Section s = r.required_section(top, "lease");
  if (s.has("source")) {
    const std::string v = r.string(s.get("source"), "lease.source");
    if (v == "static")
      c.lease.source = LeaseSource::kStatic;
    else if (v == "grpc")
      c.lease.source = LeaseSource::kGrpc;
    else if (v == "etcd")
      c.lease.source = LeaseSource::kEtcd;
    else if (v == "kube")
      c.lease.source = LeaseSource::kKube;
    else
      r.fail(s.get("source"), "lease.source",
             "expected static, grpc, etcd or kube, found '" + v + "'");
  }
  if (s.has("subnet")) c.lease.subnet = r.ipv4_prefix(s.get("subnet"), "lease.subnet");
  if (s.has("subnet_v6")) c.lease.subnet_v6 = r.ipv6_prefix(s.get("subnet_v6"), "lease.subnet_v6");
  if (s.has("etcd")) {
    if (c.lease.source != LeaseSource::kEtcd)
      r.fail(s.get("etcd"), "lease.etcd", "applies to lease.source etcd only");
    read_etcd(r, s.get("etcd"), c.lease.etcd);
  }
  if (s.has("kube")) {
    if (c.lease.source != LeaseSource::kKube)
      r.fail(s.get("kube"), "lease.kube", "applies to lease.source kube only");
    read_kube(r, s.get("kube"), c.lease.kube);
  }
  if (c.lease.source == LeaseSource::kEtcd && c.lease.subnet) {
    r.fail(s.get("subnet"), "lease.subnet",
           "not with lease.source etcd: the subnet is allocated in etcd");
  }
  if (c.lease.source == LeaseSource::kKube && c.lease.subnet) {
    r.fail(s.get("subnet"), "lease.subnet",
           "not with lease.source kube: the subnet is our Node's spec.podCIDRs");
  }
  if (c.lease.source != LeaseSource::kStatic && c.lease.subnet_v6) {
    r.fail(s.get("subnet_v6"), "lease.subnet_v6",
           std::string("not with lease.source ") + lease_source_name(c.lease.source) +
               ": only a static lease is given in the config");
  }
  if (c.lease.source == LeaseSource::kStatic && c.network.enable_ipv4 && !c.lease.subnet) {
    r.fail(s.node(), "lease.subnet",
           "required with lease.source static (our podCIDR, e.g. 10.244.1.0/24)");
  }
  if (c.lease.subnet && !c.network.enable_ipv4) {
    r.fail(s.get("subnet"), "lease.subnet", "network.EnableIPv4 is false: no IPv4 podCIDR");
  }
  if (c.lease.source == LeaseSource::kStatic && c.network.enable_ipv6 && !c.lease.subnet_v6) {
    r.fail(s.node(), "lease.subnet_v6",
           "required with lease.source static and network.EnableIPv6 (our IPv6 podCIDR, e.g. "
           "fd00:10:244:1::/64)");
  }
  if (c.lease.subnet_v6) {
    if (!c.network.enable_ipv6)
      r.fail(s.get("subnet_v6"), "lease.subnet_v6", "network.EnableIPv6 is false");
    if (Status bad = check_pod_cidr_v6(c.network, *c.lease.subnet_v6, true); !bad.ok())
      r.fail(s.get("subnet_v6"), "lease.subnet_v6", bad.message());
  }
  if (c.lease.subnet) {
    const Ipv4Prefix& sub = *c.lease.subnet;
    if (!c.network.network.contains(sub)) {
      r.fail(s.get("subnet"), "lease.subnet",
             sub.str() + " is outside network.Network " + c.network.network.str());
    }
    if (sub.len != c.network.subnet_len) {
      r.fail(s.get("subnet"), "lease.subnet",
             sub.str() + " is not a /" + std::to_string(c.network.subnet_len) +
                 " (network.SubnetLen)");
    }
  }
}

// A list of {ip, mac} under `key` (dataplane.static_neighbours and its
// _v6 twin); `ip` reads an address of the list's family.
template <class Neighbour, class ReadIp>
void read_neighbours(Reader& r, const Section& s, const std::string& key,
                     std::vector<Neighbour>& out, ReadIp ip) {
  if (!s.has(key)) return;
  const std::string name = "dataplane." + key;
  const YAML::Node& list = s.get(key);
  if (!list.IsSequence()) r.fail(list, name, "expected a list, found " + kind_of(list));
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = name + "[" + std::to_string(i) + "]";
    Section n = r.section(list[i], path);
    if (!n.has("ip") || !n.has("mac")) r.fail(list[i], path, "needs both ip and mac");
    out.push_back({ip(n.get("ip"), path + ".ip"), r.mac(n.get("mac"), path + ".mac")});
  }
}

// dataplane.wireguard: the keypair lifetimes, shorter than the
// whitepaper's only to watch rekeys happen (tests); never longer, as the
// peers refuse a keypair older than their REJECT_AFTER_TIME anyway.
void read_wireguard_times(Reader& r, const Section& dataplane, WireguardTimes& times) {
  Section s = r.section(dataplane.get("wireguard"), "dataplane.wireguard");
  using std::chrono::seconds;
  int64_t rekey = std::chrono::duration_cast<seconds>(times.rekey_after).count();
  int64_t reject = std::chrono::duration_cast<seconds>(times.reject_after).count();
  r.maybe_integer(s, "rekey_after_s", rekey, 1, wireguard::kRekeyAfterTime.count());
  r.maybe_integer(s, "reject_after_s", reject, 2, wireguard::kRejectAfterTime.count());
  // A reject_after_s left out is the whitepaper's, above every
  // rekey_after_s allowed: only one given can be too small.
  if (reject <= rekey) {
    r.fail_at("dataplane.wireguard.reject_after_s",
              std::to_string(reject) + " is not above dataplane.wireguard.rekey_after_s (" +
                  std::to_string(rekey) + "): a keypair must be replaced before it is refused");
  }
  times.rekey_after = seconds(rekey);
  times.reject_after = seconds(reject);
}

void read_dataplane(Reader& r, const Section& top, EngineConfig& engine) {
  if (!top.has("dataplane")) return;
  DataplaneConfig& d = engine.dataplane;
  Section s = r.section(top.get("dataplane"), "dataplane");
  if (s.has("vtep_mac")) d.vtep_mac = r.mac(s.get("vtep_mac"), "dataplane.vtep_mac");
  if (s.has("vtep_mac_v6")) d.vtep_mac_v6 = r.mac(s.get("vtep_mac_v6"), "dataplane.vtep_mac_v6");
  if (s.has("udp_checksum"))
    d.udp_checksum = r.boolean(s.get("udp_checksum"), "dataplane.udp_checksum");
  r.maybe_integer(s, "max_routes", d.max_routes, 16, 1 << 22);
  r.maybe_integer(s, "lpm_tbl8_groups", d.lpm_tbl8_groups, 16, 1 << 20);
  r.maybe_integer(s, "icmp_rate_per_s", d.icmp_rate_per_s, 0, 1000000);
  if (s.has("arp")) {
    Section a = r.section(s.get("arp"), "dataplane.arp");
    r.maybe_integer(a, "retry_ms", d.arp_retry_ms, 10, 60000);
    r.maybe_integer(a, "max_retries", d.arp_max_retries, 1, 100);
    r.maybe_integer(a, "refresh_s", d.arp_refresh_s, 1, 86400);
    r.maybe_integer(a, "queue_len", d.arp_queue_len, 1, 4096);
  }
  if (s.has("reassembly")) {
    Section a = r.section(s.get("reassembly"), "dataplane.reassembly");
    r.maybe_integer(a, "max_packets", d.reassembly_max_packets, 1, 1 << 20);
    r.maybe_integer(a, "timeout_ms", d.reassembly_timeout_ms, 1, 60000);
  }
  if (s.has("wireguard")) read_wireguard_times(r, s, d.wireguard_times);
  read_neighbours(r, s, "static_neighbours", d.static_neighbours,
                  [&r](const YAML::Node& n, const std::string& key) { return r.ipv4(n, key); });
  read_neighbours(r, s, "static_neighbours_v6", d.static_neighbours_v6,
                  [&r](const YAML::Node& n, const std::string& key) { return r.ipv6(n, key); });
}

// The engine's view of flannel's backend settings.
void derive_dataplane(const Config& c, DataplaneConfig& d) {
  d.backend = c.network.backend.type;
  d.vni = c.network.backend.vni;
  d.udp_port = c.network.backend.port;
  // flannel's one-device modes listen on ListenPort over both families;
  // only Mode separate's flannel-wg-v6 has a port of its own.
  const WireguardBackendConfig& wg = c.network.backend.wireguard;
  d.wireguard_one_device = wg.mode != WireguardMode::kSeparate;
  d.udp_port_v6 = d.wireguard_one_device ? wg.listen_port : wg.listen_port_v6;
  d.underlay_mtu = c.network.backend.mtu ? c.network.backend.mtu : c.engine.ports[0].mtu;
  d.direct_routing = c.network.backend.direct_routing;
}

// Overlay ports get the pods' MTU (with dual stack the smaller of the two
// overlay MTUs), as flanneld gives flannel.1 its MTU:
// the host kernel then fragments (or answers with PMTU errors) before
// anything too big reaches tartan.
void set_overlay_mtus(Config& c) {
  for (PortConfig& p : c.engine.ports) {
    if (p.role == PortRole::kOverlay) p.mtu = pod_mtu(c.network, c.engine.dataplane);
  }
}

}  // namespace

void derive_from_network(Config& c) {
  derive_dataplane(c, c.engine.dataplane);
  set_overlay_mtus(c);
}

namespace {

std::string default_node_name() {
  if (const char* env = std::getenv("NODE_NAME"); env != nullptr && *env != '\0') return env;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return host;
}

void read_node(Reader& r, const Section& top, NodeConfig& node) {
  node.name = default_node_name();
  if (!top.has("node")) return;
  Section s = r.section(top.get("node"), "node");
  if (s.has("name")) {
    node.name = r.string(s.get("name"), "node.name");
    if (!valid_node_name(node.name))
      r.fail(s.get("name"), "node.name",
             "'" + node.name +
                 "' is not a valid node name (lowercase DNS-1123 subdomain, as the API requires)");
  }
  if (s.has("annotation_prefix")) {
    node.annotation_prefix = r.string(s.get("annotation_prefix"), "node.annotation_prefix");
    if (auto keys = annotation_keys(node.annotation_prefix); !keys) {
      r.fail(s.get("annotation_prefix"), "node.annotation_prefix", keys.status().message());
    }
  }
  if (s.has("state_dir")) {
    node.state_dir = r.string(s.get("state_dir"), "node.state_dir");
    if (node.state_dir.empty() || node.state_dir[0] != '/') {
      r.fail(s.get("state_dir"), "node.state_dir", "must be an absolute path");
    }
  }
}

void read_log(Reader& r, const Section& top, LogConfig& log) {
  if (!top.has("log")) return;
  Section s = r.section(top.get("log"), "log");
  if (s.has("level")) {
    const std::string text = r.string(s.get("level"), "log.level");
    auto level = parse_log_level(text);
    if (!level)
      r.fail(
          s.get("level"), "log.level",
          "expected emerg, alert, crit, err, warning, notice, info or debug, found '" + text + "'");
    log.level = *level;
  }
  if (s.has("format")) {
    const std::string text = r.string(s.get("format"), "log.format");
    auto format = parse_log_format(text);
    if (!format)
      r.fail(s.get("format"), "log.format", "expected text or json, found '" + text + "'");
    log.format = *format;
  }
  r.maybe_integer(s, "stats_interval", log.stats_interval, 0, 86400);
}

Config read_config(Reader& r, const YAML::Node& root) {
  Config c;
  if (!root.IsMap())
    r.fail(root, "(top level)", "expected a map of sections, found " + kind_of(root));
  Section top = r.section(root, "");
  read_eal(r, top, c.engine.eal);
  read_ports(r, top, c.engine, c.host_tap, kube_mode(top));
  read_workers(r, top, c.engine);
  read_network(r, top, c);
  read_dataplane(r, top, c.engine);
  read_control(r, top, c.control);
  read_lease(r, top, c);
  read_node(r, top, c.node);
  read_log(r, top, c.log);
  if (top.has("ip_masq")) c.ip_masq = r.boolean(top.get("ip_masq"), "ip_masq");
  if (top.has("subnet_file")) {
    c.subnet_file = r.string(top.get("subnet_file"), "subnet_file");
    if (c.subnet_file.empty() || c.subnet_file[0] != '/')
      r.fail(top.get("subnet_file"), "subnet_file", "must be an absolute path");
  }

  if (c.network.backend.mtu && c.network.backend.mtu > c.engine.ports[0].mtu) {
    fail_network(r, top, c, "Backend.MTU",
                 std::to_string(c.network.backend.mtu) + " exceeds the underlay port's mtu " +
                     std::to_string(c.engine.ports[0].mtu) + " (ports.underlay.mtu)");
  }
  derive_from_network(c);
  if (auto problem = check_underlay(c)) {
    if (auto key = netconf_key(*problem)) fail_network(r, top, c, *key, problem->message);
    r.fail_at(problem->key, problem->message);
  }
  return c;
}

}  // namespace

const char* lease_source_name(LeaseSource source) {
  switch (source) {
    case LeaseSource::kStatic:
      return "static";
    case LeaseSource::kGrpc:
      return "grpc";
    case LeaseSource::kEtcd:
      return "etcd";
    case LeaseSource::kKube:
      return "kube";
  }
  return "?";
}

Status check_control_listen(const ControlConfig& control) {
  if (control.listen.rfind("unix:", 0) == 0) {
    const std::string path = control.listen.substr(control.listen.rfind("unix://", 0) == 0 ? 7 : 5);
    if (path.empty() || path[0] != '/')
      return Status::invalid("unix socket path must be absolute (unix:///run/tartan/tartan.sock)");
    return Status();
  }
  if (control.listen.find(':') == std::string::npos)
    return Status::invalid("expected unix:///PATH or HOST:PORT, found '" + control.listen + "'");
  if (control.tls_cert.empty() || control.tls_key.empty()) {
    return Status::invalid("TCP listen address '" + control.listen +
                           "' needs control.tls.cert and control.tls.key");
  }
  return Status();
}

Result<Config> parse_config(std::string_view yaml_text, const std::string& source_name) {
  Reader reader;
  try {
    const YAML::Node root = YAML::Load(std::string(yaml_text));
    Config c = read_config(reader, root);
    c.source_name = source_name;
    return c;
  } catch (const ConfigError& e) {
    std::ostringstream msg;
    msg << source_name;
    if (!e.mark.is_null()) msg << ":" << e.mark.line + 1 << ":" << e.mark.column + 1;
    msg << ": " << e.key << ": " << e.message;
    return Status::invalid(msg.str());
  } catch (const YAML::Exception& e) {
    std::ostringstream msg;
    msg << source_name;
    if (!e.mark.is_null()) msg << ":" << e.mark.line + 1 << ":" << e.mark.column + 1;
    msg << ": YAML syntax error: " << e.msg;
    return Status::invalid(msg.str());
  }
}

Result<Config> load_config_file(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return Status::invalid(path + ": is a directory, not a config file");
  std::ifstream in(path);
  if (!in) {
    return Status(ErrorCode::kNotFound,
                  path + ": cannot open config file: " + std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

Result<Config> load_default_config() {
  return parse_config(embedded::default_config, "<embedded configs/tartan.yaml>");
}

namespace {

template <class Neighbour>
void neighbours_to_yaml(const char* key, const std::vector<Neighbour>& neighbours,
                        YAML::Emitter& out) {
  out << YAML::Key << key << YAML::Value << YAML::BeginSeq;
  for (const Neighbour& n : neighbours) {
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "ip" << YAML::Value << n.ip.str()
        << YAML::Key << "mac" << YAML::Value << n.mac.str() << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

void etcd_to_yaml(const EtcdConfig& e, YAML::Emitter& out) {
  out << YAML::Key << "etcd" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "endpoints" << YAML::Value << YAML::Flow << e.endpoints;
  out << YAML::Key << "prefix" << YAML::Value << e.prefix;
  if (!e.tls_cert.empty() || !e.tls_key.empty() || !e.tls_ca.empty()) {
    out << YAML::Key << "tls" << YAML::Value << YAML::BeginMap;
    if (!e.tls_cert.empty()) out << YAML::Key << "cert" << YAML::Value << e.tls_cert;
    if (!e.tls_key.empty()) out << YAML::Key << "key" << YAML::Value << e.tls_key;
    if (!e.tls_ca.empty()) out << YAML::Key << "ca" << YAML::Value << e.tls_ca;
    out << YAML::EndMap;
  }
  if (!e.username.empty()) out << YAML::Key << "username" << YAML::Value << e.username;
  // The effective config is served over the API: the password stays out.
  if (!e.password.empty()) out << YAML::Key << "password" << YAML::Value << "<redacted>";
  if (!e.password_file.empty())
    out << YAML::Key << "password_file" << YAML::Value << e.password_file;
  out << YAML::Key << "lease_ttl_s" << YAML::Value << e.lease_ttl_s;
  out << YAML::Key << "renew_margin_s" << YAML::Value << e.renew_margin_s;
  out << YAML::Key << "request_timeout_ms" << YAML::Value << e.request_timeout_ms;
  out << YAML::Key << "retry_initial_ms" << YAML::Value << e.retry_initial_ms;
  out << YAML::Key << "retry_max_ms" << YAML::Value << e.retry_max_ms;
  out << YAML::Key << "startup_timeout_s" << YAML::Value << e.startup_timeout_s;
  out << YAML::EndMap;
}

void network_to_yaml(const NetworkConfig& n, YAML::Emitter& out) {
  out << YAML::Key << "network" << YAML::Value << YAML::BeginMap;
  if (n.enable_ipv4) {
    out << YAML::Key << "Network" << YAML::Value << n.network.str();
    // 0 in kube mode when the net-conf leaves them out: not ours to derive.
    if (n.subnet_len)
      out << YAML::Key << "SubnetLen" << YAML::Value << static_cast<int>(n.subnet_len);
    if (n.subnet_min.value) out << YAML::Key << "SubnetMin" << YAML::Value << n.subnet_min.str();
    if (n.subnet_max.value) out << YAML::Key << "SubnetMax" << YAML::Value << n.subnet_max.str();
  }
  out << YAML::Key << "EnableIPv4" << YAML::Value << n.enable_ipv4;
  out << YAML::Key << "EnableIPv6" << YAML::Value << n.enable_ipv6;
  if (n.ipv6_network) {
    out << YAML::Key << "IPv6Network" << YAML::Value << n.ipv6_network->str();
    out << YAML::Key << "IPv6SubnetLen" << YAML::Value << static_cast<int>(n.ipv6_subnet_len);
    if (!n.ipv6_subnet_min.is_zero())
      out << YAML::Key << "IPv6SubnetMin" << YAML::Value << n.ipv6_subnet_min.str();
    if (!n.ipv6_subnet_max.is_zero())
      out << YAML::Key << "IPv6SubnetMax" << YAML::Value << n.ipv6_subnet_max.str();
  }
  out << YAML::Key << "Backend" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "Type" << YAML::Value << backend_type_name(n.backend.type);
  if (n.backend.type == BackendType::kVxlan)
    out << YAML::Key << "VNI" << YAML::Value << n.backend.vni;
  if (n.backend.type == BackendType::kVxlan || n.backend.type == BackendType::kUdp)
    out << YAML::Key << "Port" << YAML::Value << n.backend.port;
  if (n.backend.mtu) out << YAML::Key << "MTU" << YAML::Value << n.backend.mtu;
  if (n.backend.type == BackendType::kVxlan)
    out << YAML::Key << "DirectRouting" << YAML::Value << n.backend.direct_routing;
  if (n.backend.type == BackendType::kWireguard) {
    const WireguardBackendConfig& wg = n.backend.wireguard;
    out << YAML::Key << "ListenPort" << YAML::Value << wg.listen_port;
    out << YAML::Key << "ListenPortV6" << YAML::Value << wg.listen_port_v6;
    // The effective config is served over the API: the key stays out.
    if (wg.psk) out << YAML::Key << "PSK" << YAML::Value << "<redacted>";
    out << YAML::Key << "PersistentKeepaliveInterval" << YAML::Value << wg.persistent_keepalive_s;
    out << YAML::Key << "Mode" << YAML::Value << wireguard_mode_name(wg.mode);
  }
  out << YAML::EndMap;
  out << YAML::EndMap;
}

void kube_to_yaml(const KubeConfig& k, YAML::Emitter& out) {
  out << YAML::Key << "kube" << YAML::Value << YAML::BeginMap;
  if (!k.kubeconfig.empty()) out << YAML::Key << "kubeconfig" << YAML::Value << k.kubeconfig;
  if (!k.api_url.empty()) out << YAML::Key << "api_url" << YAML::Value << k.api_url;
  out << YAML::Key << "service_account_dir" << YAML::Value << k.service_account_dir;
  out << YAML::Key << "set_node_network_unavailable" << YAML::Value
      << k.set_node_network_unavailable;
  out << YAML::Key << "request_timeout_ms" << YAML::Value << k.request_timeout_ms;
  out << YAML::Key << "retry_initial_ms" << YAML::Value << k.retry_initial_ms;
  out << YAML::Key << "retry_max_ms" << YAML::Value << k.retry_max_ms;
  out << YAML::Key << "watch_timeout_min_s" << YAML::Value << k.watch_timeout_min_s;
  out << YAML::Key << "list_page_size" << YAML::Value << k.list_page_size;
  out << YAML::Key << "max_response_mb" << YAML::Value << k.max_response_mb;
  out << YAML::Key << "token_reload_s" << YAML::Value << k.token_reload_s;
  out << YAML::Key << "startup_timeout_s" << YAML::Value << k.startup_timeout_s;
  out << YAML::EndMap;
}

}  // namespace

std::string config_to_yaml(const Config& c) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  const EngineConfig& e = c.engine;
  out << YAML::Key << "eal" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "main_lcore" << YAML::Value << e.eal.main_lcore;
  out << YAML::Key << "memory_mb" << YAML::Value << e.eal.memory_mb;
  out << YAML::Key << "hugepages" << YAML::Value
      << (e.eal.hugepages == HugepageMode::kAuto ? "auto"
          : e.eal.hugepages == HugepageMode::kOn ? "on"
                                                 : "off");
  out << YAML::Key << "file_prefix" << YAML::Value << YAML::DoubleQuoted << e.eal.file_prefix;
  out << YAML::Key << "extra_args" << YAML::Value << YAML::Flow << e.eal.extra_args;
  out << YAML::Key << "secondary_processes" << YAML::Value << e.eal.secondary_processes;
  out << YAML::EndMap;

  out << YAML::Key << "ports" << YAML::Value << YAML::BeginMap;
  bool overlay_open = false;
  for (const PortConfig& p : e.ports) {
    if (p.role == PortRole::kOverlay && !overlay_open) {
      out << YAML::Key << "overlay" << YAML::Value << YAML::BeginSeq;
      overlay_open = true;
    } else if (p.role != PortRole::kOverlay && overlay_open) {
      out << YAML::EndSeq;
      overlay_open = false;
    }
    if (p.role != PortRole::kOverlay) out << YAML::Key << port_role_name(p.role) << YAML::Value;
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << p.name;
    if (!p.device.empty()) out << YAML::Key << "device" << YAML::Value << p.device;
    if (p.mac) out << YAML::Key << "mac" << YAML::Value << p.mac->str();
    if (&p == &e.ports[1]) {
      out << YAML::Key << "host_routes" << YAML::Value << (c.host_tap.empty() ? "off" : "on");
    }
    if (p.role == PortRole::kOverlay) {
      out << YAML::Key << "routing" << YAML::Value
          << (p.routing == OverlayRouting::kAuto     ? "auto"
              : p.routing == OverlayRouting::kTartan ? "tartan"
                                                     : "host");
    }
    if (p.role == PortRole::kUnderlay) {
      if (e.underlay.address)
        out << YAML::Key << "address" << YAML::Value << e.underlay.address->str();
      if (e.underlay.gateway)
        out << YAML::Key << "gateway" << YAML::Value << e.underlay.gateway->str();
      if (e.underlay.ipv6_address)
        out << YAML::Key << "ipv6_address" << YAML::Value << e.underlay.ipv6_address->str();
      if (e.underlay.ipv6_gateway)
        out << YAML::Key << "ipv6_gateway" << YAML::Value << e.underlay.ipv6_gateway->str();
      out << YAML::Key << "mtu" << YAML::Value << p.mtu;
    }
    out << YAML::EndMap;
  }
  if (overlay_open) out << YAML::EndSeq;
  out << YAML::EndMap;

  out << YAML::Key << "workers" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "lcores" << YAML::Value << YAML::Flow << e.workers.lcores;
  out << YAML::Key << "burst_size" << YAML::Value << e.workers.burst_size;
  out << YAML::Key << "rx_descriptors" << YAML::Value << e.workers.rx_descriptors;
  out << YAML::Key << "tx_descriptors" << YAML::Value << e.workers.tx_descriptors;
  out << YAML::Key << "mempool_size" << YAML::Value << e.workers.mempool_size;
  out << YAML::Key << "mempool_cache" << YAML::Value << e.workers.mempool_cache;
  out << YAML::Key << "idle_sleep_us" << YAML::Value << e.workers.idle_sleep_us;
  out << YAML::EndMap;

  const NetworkConfig& n = c.network;
  if (c.network_from_etcd) {
    // Left out again: read from etcd at every start.
    out << YAML::Comment("network: " + c.lease.etcd.prefix + "/config in etcd" +
                         (n.network.len ? " (Network " + n.network.str() + ", Backend " +
                                              backend_type_name(n.backend.type) + ")"
                                        : ""));
  } else if (!c.network_file.empty()) {
    // Read again from the file, which is what stays in effect.
    out << YAML::Key << "network_file" << YAML::Value << c.network_file;
    out << YAML::Comment("Network " + n.network.str() + ", Backend " +
                         backend_type_name(n.backend.type));
  } else {
    network_to_yaml(n, out);
  }
  const DataplaneConfig& d = c.engine.dataplane;
  out << YAML::Key << "dataplane" << YAML::Value << YAML::BeginMap;
  if (!d.vtep_mac.is_zero()) out << YAML::Key << "vtep_mac" << YAML::Value << d.vtep_mac.str();
  if (!d.vtep_mac_v6.is_zero())
    out << YAML::Key << "vtep_mac_v6" << YAML::Value << d.vtep_mac_v6.str();
  out << YAML::Key << "udp_checksum" << YAML::Value << d.udp_checksum;
  out << YAML::Key << "max_routes" << YAML::Value << d.max_routes;
  out << YAML::Key << "lpm_tbl8_groups" << YAML::Value << d.lpm_tbl8_groups;
  out << YAML::Key << "icmp_rate_per_s" << YAML::Value << d.icmp_rate_per_s;
  out << YAML::Key << "arp" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "retry_ms" << YAML::Value << d.arp_retry_ms;
  out << YAML::Key << "max_retries" << YAML::Value << d.arp_max_retries;
  out << YAML::Key << "refresh_s" << YAML::Value << d.arp_refresh_s;
  out << YAML::Key << "queue_len" << YAML::Value << d.arp_queue_len;
  out << YAML::EndMap;
  out << YAML::Key << "reassembly" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "max_packets" << YAML::Value << d.reassembly_max_packets;
  out << YAML::Key << "timeout_ms" << YAML::Value << d.reassembly_timeout_ms;
  out << YAML::EndMap;
  out << YAML::Key << "wireguard" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "rekey_after_s" << YAML::Value
      << std::chrono::duration_cast<std::chrono::seconds>(d.wireguard_times.rekey_after).count();
  out << YAML::Key << "reject_after_s" << YAML::Value
      << std::chrono::duration_cast<std::chrono::seconds>(d.wireguard_times.reject_after).count();
  out << YAML::EndMap;
  neighbours_to_yaml("static_neighbours", d.static_neighbours, out);
  if (!d.static_neighbours_v6.empty())
    neighbours_to_yaml("static_neighbours_v6", d.static_neighbours_v6, out);
  out << YAML::EndMap;

  out << YAML::Key << "control" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "listen" << YAML::Value << c.control.listen;
  out << YAML::Key << "watch_history" << YAML::Value << c.control.watch_history;
  out << YAML::Key << "watch_history_mb" << YAML::Value << c.control.watch_history_mb;
  if (!c.control.socket_group.empty())
    out << YAML::Key << "socket_group" << YAML::Value << c.control.socket_group;
  out << YAML::Key << "max_message_bytes" << YAML::Value << c.control.max_message_bytes;
  out << YAML::Key << "max_concurrent_streams" << YAML::Value << c.control.max_concurrent_streams;
  out << YAML::Key << "stream_write_timeout_ms" << YAML::Value << c.control.stream_write_timeout_ms;
  out << YAML::Key << "http" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "listen" << YAML::Value << YAML::DoubleQuoted << c.control.http.listen;
  out << YAML::Key << "metrics_peers" << YAML::Value << c.control.http.metrics_peers;
  out << YAML::EndMap;
  out << YAML::Key << "probe" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "interval_ms" << YAML::Value << c.control.probe.interval_ms;
  out << YAML::Key << "timeout_ms" << YAML::Value << c.control.probe.timeout_ms;
  out << YAML::EndMap;
  if (!c.control.tls_cert.empty() || !c.control.tls_key.empty() ||
      !c.control.tls_client_ca.empty()) {
    out << YAML::Key << "tls" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "cert" << YAML::Value << c.control.tls_cert;
    out << YAML::Key << "key" << YAML::Value << c.control.tls_key;
    out << YAML::Key << "client_ca" << YAML::Value << c.control.tls_client_ca;
    out << YAML::EndMap;
  }
  out << YAML::EndMap;

  out << YAML::Key << "lease" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "source" << YAML::Value << lease_source_name(c.lease.source);
  if (c.lease.subnet) out << YAML::Key << "subnet" << YAML::Value << c.lease.subnet->str();
  if (c.lease.subnet_v6) out << YAML::Key << "subnet_v6" << YAML::Value << c.lease.subnet_v6->str();
  if (c.lease.source == LeaseSource::kEtcd) etcd_to_yaml(c.lease.etcd, out);
  if (c.lease.source == LeaseSource::kKube) kube_to_yaml(c.lease.kube, out);
  out << YAML::EndMap;

  out << YAML::Key << "node" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << c.node.name;
  out << YAML::Key << "annotation_prefix" << YAML::Value << c.node.annotation_prefix;
  out << YAML::Key << "state_dir" << YAML::Value << c.node.state_dir;
  out << YAML::EndMap;
  out << YAML::Key << "subnet_file" << YAML::Value << c.subnet_file;
  out << YAML::Key << "ip_masq" << YAML::Value << c.ip_masq;
  out << YAML::Key << "log" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "level" << YAML::Value << log_level_name(c.log.level);
  out << YAML::Key << "format" << YAML::Value
      << (c.log.format == LogFormat::kJson ? "json" : "text");
  out << YAML::Key << "stats_interval" << YAML::Value << c.log.stats_interval;
  out << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace tartan
