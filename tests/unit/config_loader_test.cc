#include "control/config/config_loader.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/support/files.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

// A valid config; tests replace one line of it (see with()).
const std::string kValid = R"(eal:
  main_lcore: 0
  memory_mb: 256
ports:
  underlay:
    device: net_ring0
    address: 192.0.2.10/24
    gateway: 192.0.2.1
  overlay:
    - name: tap0
      device: net_tap0,iface=t0
workers:
  lcores: [1]
network:
  Network: 10.244.0.0/16
  Backend:
    Type: vxlan
lease:
  source: static
  subnet: 10.244.1.0/24
)";

// kValid with `from` replaced by `to` (which must occur exactly once).
std::string with(const std::string& from, const std::string& to) {
  std::string s = kValid;
  const auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  EXPECT_EQ(s.find(from, pos + 1), std::string::npos) << from;
  return s.replace(pos, from.size(), to);
}

// kValid with several single replacements applied in order.
std::string with_all(std::initializer_list<std::pair<std::string, std::string>> edits) {
  std::string s = kValid;
  for (const auto& [from, to] : edits) {
    const auto pos = s.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    s.replace(pos, from.size(), to);
  }
  return s;
}

std::string error_of(const std::string& yaml) {
  auto c = parse_config(yaml, "t.yaml");
  EXPECT_FALSE(c.ok());
  return c.ok() ? "" : c.status().message();
}

TEST(ConfigLoader, ValidConfigGetsFlannelDefaults) {
  auto c = parse_config(kValid, "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->network.network.str(), "10.244.0.0/16");
  EXPECT_EQ(c->network.subnet_len, 24);
  EXPECT_EQ(c->network.subnet_min.str(), "10.244.1.0");
  EXPECT_EQ(c->network.subnet_max.str(), "10.244.255.0");
  EXPECT_EQ(c->network.backend.type, BackendType::kVxlan);
  EXPECT_EQ(c->network.backend.vni, 1u);
  EXPECT_EQ(c->network.backend.port, 8472);
  EXPECT_EQ(c->engine.dataplane.overlay_mtu(), 1450);
  EXPECT_EQ(c->engine.ports.size(), 2u);
  EXPECT_EQ(c->engine.ports[0].name, "underlay");
  EXPECT_EQ(c->engine.ports[0].mtu, 1500);
  EXPECT_EQ(c->engine.underlay.address->str(), "192.0.2.10/24");
  EXPECT_EQ(c->engine.underlay.gateway->str(), "192.0.2.1");
  EXPECT_EQ(c->engine.workers.burst_size, 32);
  EXPECT_EQ(c->control.listen, "unix:///run/tartan/tartan.sock");
  EXPECT_EQ(c->subnet_file, "/run/flannel/subnet.env");
}

TEST(ConfigLoader, SmallNetworkGetsSubnetLenPlusTwoAsFlannelDoes) {
  auto c = parse_config(with_all({{"Network: 10.244.0.0/16", "Network: 10.244.0.0/23"},
                                  {"10.244.1.0/24", "10.244.1.0/25"}}),
                        "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->network.subnet_len, 25);
  EXPECT_EQ(c->network.subnet_min.str(), "10.244.0.128");
  EXPECT_EQ(c->network.subnet_max.str(), "10.244.1.128");
}

TEST(ConfigLoader, UdpBackendDefaultsToPort8285AndMtuMinus28) {
  auto c = parse_config(with("    Type: vxlan", "    Type: udp"), "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->network.backend.type, BackendType::kUdp);
  EXPECT_EQ(c->network.backend.port, 8285);
  EXPECT_EQ(c->engine.dataplane.overlay_mtu(), 1472);
}

TEST(ConfigLoader, MissingBackendMeansUdpAsInFlannel) {
  auto c = parse_config(with("  Backend:\n    Type: vxlan\n", ""), "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->network.backend.type, BackendType::kUdp);
}

TEST(ConfigLoader, AcceptsFlannelNetConfJsonVerbatim) {
  // kube-flannel-cfg's net-conf.json, pasted as it ships.
  const std::string netconf = R"(network: {
    "Network": "10.244.0.0/16",
    "EnableNFTables": false,
    "Backend": {
      "Type": "vxlan",
      "VNI": 4096,
      "Port": 8472,
      "MTU": 1400,
      "DirectRouting": true
    }
  }
)";
  auto c = parse_config(
      with("network:\n  Network: 10.244.0.0/16\n  Backend:\n    Type: vxlan\n", netconf), "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->network.backend.vni, 4096u);
  EXPECT_EQ(c->network.backend.mtu, 1400);
  EXPECT_TRUE(c->network.backend.direct_routing);
  EXPECT_EQ(c->engine.dataplane.overlay_mtu(), 1350);
}

TEST(ConfigLoader, NetConfKeysMatchCaseInsensitivelyLikeGoJson) {
  auto c = parse_config(with("  Network: 10.244.0.0/16\n  Backend:\n    Type: vxlan",
                             "  network: 10.244.0.0/16\n  backend:\n    type: VXLAN\n    vni: 7"),
                        "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->network.backend.type, BackendType::kVxlan);
  EXPECT_EQ(c->network.backend.vni, 7u);
}

TEST(ConfigLoader, EmbeddedDefaultConfigLoads) {
  auto c = load_default_config();
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->source_name, "<embedded configs/tartan.yaml>");
  EXPECT_EQ(c->lease.subnet->str(), "10.244.1.0/24");
}

TEST(ConfigLoader, EffectiveConfigYamlParsesBackToTheSameConfig) {
  auto c = parse_config(kValid, "t.yaml");
  ASSERT_TRUE(c.ok());
  const std::string yaml = config_to_yaml(*c);
  auto again = parse_config(yaml, "effective.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << yaml;
  EXPECT_EQ(config_to_yaml(*again), yaml);
}

TEST(ConfigLoader, WithEtcdAndNoNetworkTheNetworkIsEtcdsAndSaysSo) {
  auto c = parse_config(
      with_all({{"network:\n  Network: 10.244.0.0/16\n  Backend:\n    Type: vxlan\n", ""},
                {"  source: static\n  subnet: 10.244.1.0/24\n", "  source: etcd\n"}}),
      "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->network_from_etcd);
  const std::string yaml = config_to_yaml(*c);
  EXPECT_NE(yaml.find("# network: /coreos.com/network/config in etcd"), std::string::npos) << yaml;
  auto again = parse_config(yaml, "effective.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << yaml;
  EXPECT_TRUE(again->network_from_etcd);
  // With a network of its own, etcd's config is optional (and must agree).
  auto own = parse_config(with("  source: static\n  subnet: 10.244.1.0/24\n", "  source: etcd\n"),
                          "t.yaml");
  ASSERT_TRUE(own.ok()) << own.status().message();
  EXPECT_FALSE(own->network_from_etcd);
}

TEST(ConfigLoader, AMissingFileSaysWhyItCannotBeOpened) {
  auto c = load_config_file("/nonexistent/tartan.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "/nonexistent/tartan.yaml: cannot open config file: No such file or directory");
}

TEST(ConfigLoader, ADirectoryGivenAsConfigSaysSo) {
  auto c = load_config_file("/tmp");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "/tmp: is a directory, not a config file");
}

TEST(ConfigLoaderErrors, NodeNameIsCheckedAsTheApiChecksIt) {
  EXPECT_EQ(error_of(kValid + "node:\n  name: nodeB\n"),
            "t.yaml:22:9: node.name: 'nodeB' is not a valid node name (lowercase DNS-1123 "
            "subdomain, as the API requires)");
  EXPECT_EQ(error_of(kValid + "node:\n  name: -b\n"),
            "t.yaml:22:9: node.name: '-b' is not a valid node name (lowercase DNS-1123 "
            "subdomain, as the API requires)");
  auto c = parse_config(kValid + "node:\n  name: node-b.example\n", "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->node.name, "node-b.example");
}

TEST(ConfigLoader, LogSectionHasDefaultsAndIsRead) {
  auto d = parse_config(kValid, "t.yaml");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->log.level, uint32_t{RTE_LOG_INFO});
  EXPECT_EQ(d->log.format, LogFormat::kText);
  EXPECT_EQ(d->log.stats_interval, 5u);
  auto c = parse_config(kValid + "log:\n  level: debug\n  format: json\n  stats_interval: 0\n",
                        "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->log.level, uint32_t{RTE_LOG_DEBUG});
  EXPECT_EQ(c->log.format, LogFormat::kJson);
  EXPECT_EQ(c->log.stats_interval, 0u);
  auto again = parse_config(config_to_yaml(*c), "again.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->log.format, LogFormat::kJson);
  EXPECT_EQ(again->log.level, uint32_t{RTE_LOG_DEBUG});
  EXPECT_EQ(error_of(kValid + "log:\n  format: xml\n"),
            "t.yaml:22:11: log.format: expected text or json, found 'xml'");
}

TEST(ConfigLoaderErrors, WrongTypeNamesFileLineColumnAndKey) {
  EXPECT_EQ(error_of(with("memory_mb: 256", "memory_mb: lots")),
            "t.yaml:3:14: eal.memory_mb: expected an integer, found 'lots'");
  EXPECT_EQ(error_of(with("    Type: vxlan", "    Type: vxlan\n    VNI: \"1\"")),
            "t.yaml:18:10: network.Backend.VNI: expected an integer, found a string");
  EXPECT_EQ(error_of(with("  lcores: [1]", "  lcores: 1")),
            "t.yaml:13:11: workers.lcores: expected a non-empty list of lcore ids, found '1'");
  EXPECT_EQ(error_of(with("    Type: vxlan", "    Type: vxlan\n    DirectRouting: 1")),
            "t.yaml:18:20: network.Backend.DirectRouting: expected true or false, found '1'");
  EXPECT_EQ(error_of(with("  overlay:\n", "  overlay: {}\n  ignored:\n")),
            "t.yaml:10:3: ports.ignored: unknown key (allowed here: underlay, overlay, exception)");
}

TEST(ConfigLoaderErrors, UnknownKeysAreRejectedWithTheAllowedList) {
  EXPECT_EQ(
      error_of(kValid + "bogus: 1\n"),
      "t.yaml:21:1: bogus: unknown key (allowed here: eal, ports, workers, network, network_file, "
      "dataplane, node, control, lease, subnet_file, ip_masq, log)");
  EXPECT_EQ(error_of(with("  memory_mb: 256", "  memory: 256")),
            "t.yaml:3:3: eal.memory: unknown key (allowed here: main_lcore, memory_mb, hugepages, "
            "file_prefix, secondary_processes, extra_args)");
  EXPECT_EQ(error_of(with("    Type: vxlan", "    Type: vxlan\n    Colour: red")),
            "t.yaml:18:5: network.Backend.Colour: unknown key (allowed here: Type, VNI, Port, MTU, "
            "DirectRouting, GBP, Learning, ListenPort, ListenPortV6, PSK, "
            "PersistentKeepaliveInterval, Mode)");
}

TEST(ConfigLoaderErrors, OverlappingCidrsAreRejected) {
  EXPECT_EQ(error_of(with_all({{"Network: 10.244.0.0/16", "Network: 192.0.0.0/16"},
                               {"10.244.1.0/24", "192.0.1.0/24"}})),
            "t.yaml:15:12: network.Network: 192.0.0.0/16 overlaps the underlay subnet 192.0.2.0/24 "
            "(ports.underlay.address)");
  EXPECT_EQ(error_of(with("subnet: 10.244.1.0/24", "subnet: 10.245.1.0/24")),
            "t.yaml:20:11: lease.subnet: 10.245.1.0/24 is outside network.Network 10.244.0.0/16");
  EXPECT_EQ(error_of(with("subnet: 10.244.1.0/24", "subnet: 10.244.0.0/20")),
            "t.yaml:20:11: lease.subnet: 10.244.0.0/20 is not a /24 (network.SubnetLen)");
}

TEST(ConfigLoader, ALeaseWithoutSourceIsStatic) {
  auto c = parse_config(with("  source: static\n", ""), "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->lease.source, LeaseSource::kStatic);
  EXPECT_EQ(error_of(with_all(
                {{"  source: static\n", ""}, {"    Type: vxlan", "    Type: vxlan\n    VNI: -1"}})),
            "t.yaml:18:10: network.Backend.VNI: -1 is out of range 0..16777215");
}

TEST(ConfigLoaderErrors, VniOutside24BitsIsRejected) {
  EXPECT_EQ(error_of(with("    Type: vxlan", "    Type: vxlan\n    VNI: 16777216")),
            "t.yaml:18:10: network.Backend.VNI: 16777216 is out of range 0..16777215");
  EXPECT_EQ(error_of(with("    Type: vxlan", "    Type: vxlan\n    VNI: -1")),
            "t.yaml:18:10: network.Backend.VNI: -1 is out of range 0..16777215");
}

TEST(ConfigLoaderErrors, PortZeroIsRejected) {
  EXPECT_EQ(
      error_of(with("    Type: vxlan", "    Type: vxlan\n    Port: 0")),
      "t.yaml:18:11: network.Backend.Port: port 0 is not a usable UDP port (leave Port out for the "
      "default)");
}

TEST(ConfigLoaderErrors, MissingSectionsAreNamed) {
  EXPECT_EQ(
      error_of(with(
          "ports:\n  underlay:\n    device: net_ring0\n    address: 192.0.2.10/24\n    gateway: "
          "192.0.2.1\n  overlay:\n    - name: tap0\n      device: net_tap0,iface=t0\n",
          "")),
      "t.yaml:1:1: ports: required section is missing");
  EXPECT_EQ(error_of(with("network:\n  Network: 10.244.0.0/16\n  Backend:\n    Type: vxlan\n", "")),
            "t.yaml:1:1: network: required section is missing (or network_file: the path of "
            "flannel's net-conf.json)");
  EXPECT_EQ(error_of(with("lease:\n  source: static\n  subnet: 10.244.1.0/24\n", "")),
            "t.yaml:1:1: lease: required section is missing");
  EXPECT_EQ(error_of(with("    address: 192.0.2.10/24\n", "")),
            "t.yaml:6:5: ports.underlay.address: required with network.EnableIPv4 (our underlay "
            "IPv4 address and its prefix, e.g. 192.0.2.10/24)");
  EXPECT_EQ(error_of(with("  subnet: 10.244.1.0/24\n", "")),
            "t.yaml:19:3: lease.subnet: required with lease.source static (our podCIDR, e.g. "
            "10.244.1.0/24)");
  EXPECT_EQ(
      error_of(with("  Network: 10.244.0.0/16\n", "")),
      "t.yaml:15:3: network.Network: required when EnableIPv4 is true (e.g. \"10.244.0.0/16\")");
}

TEST(ConfigLoaderErrors, FlannelNetworkChecksKeepFlannelsWording) {
  EXPECT_EQ(error_of(with("  Backend:", "  SubnetLen: 31\n  Backend:")),
            "t.yaml:16:14: network.SubnetLen: SubnetLen must be less than /31");
  EXPECT_EQ(
      error_of(with("  Backend:", "  SubnetLen: 17\n  Backend:")),
      "t.yaml:16:14: network.SubnetLen: network must be able to accommodate at least four subnets");
  EXPECT_EQ(error_of(with("  Backend:", "  SubnetMin: 10.245.0.0\n  Backend:")),
            "t.yaml:16:14: network.SubnetMin: SubnetMin is not in the range of the Network");
  EXPECT_EQ(
      error_of(with("  Backend:", "  SubnetMax: 10.244.7.128\n  Backend:")),
      "t.yaml:16:14: network.SubnetMax: SubnetMax is not on a SubnetLen boundary: 10.244.7.128");
  EXPECT_EQ(error_of(with("    Type: vxlan", "    Type: ipip")),
            "t.yaml:17:11: network.Backend.Type: backend 'ipip' is not supported by tartan "
            "(vxlan, udp, host-gw or wireguard)");
}

TEST(ConfigLoaderErrors, BadAddressesAreRejected) {
  EXPECT_EQ(
      error_of(with("address: 192.0.2.10/24", "address: 192.0.2.300/24")),
      "t.yaml:7:14: ports.underlay.address: '192.0.2.300/24' is not an IPv4 CIDR (a.b.c.d/len)");
  EXPECT_EQ(error_of(with("gateway: 192.0.2.1", "gateway: 198.51.100.1")),
            "t.yaml:8:14: ports.underlay.gateway: 198.51.100.1 is not inside the underlay subnet "
            "192.0.2.0/24");
  EXPECT_EQ(error_of(with("Network: 10.244.0.0/16", "Network: 10.244.0.1/16")),
            "t.yaml:15:12: network.Network: '10.244.0.1/16' has host bits set (did you mean "
            "10.244.0.0/16?)");
}

TEST(ConfigLoaderErrors, PortsAndWorkersAreChecked) {
  EXPECT_EQ(error_of(with("    - name: tap0", "    - name: underlay")),
            "t.yaml:5:3: ports.overlay[0].name: port name 'underlay' is used twice");
  EXPECT_EQ(
      error_of(with("  lcores: [1]", "  lcores: [0]")),
      "t.yaml:13:12: workers.lcores[0]: lcore 0 is eal.main_lcore, which runs the control plane");
  EXPECT_EQ(error_of(with("  lcores: [1]", "  lcores: [1]\n  burst_size: 65")),
            "t.yaml:14:15: workers.burst_size: 65 is out of range 1..64");
  EXPECT_EQ(error_of(with("  overlay:\n    - name: tap0\n      device: net_tap0,iface=t0\n",
                          "  overlay: []\n")),
            "t.yaml:9:12: ports.overlay: expected a non-empty list of ports, found a list");
}

// Found by fuzz_config: without a workers section, the default worker
// lcore was not checked against eal.main_lcore, so the config loaded and
// its --print-config did not.
TEST(ConfigLoaderErrors, MainLcoreOnTheDefaultWorkerLcoreIsRejectedWithoutAWorkersSection) {
  const std::string error = error_of(
      with_all({{"  main_lcore: 0", "  main_lcore: 1"}, {"workers:\n  lcores: [1]\n", ""}}));
  EXPECT_NE(error.find(": eal.main_lcore: main lcore 1 collides with the default worker lcore 1; "
                       "set workers.lcores"),
            std::string::npos)
      << error;
}

// tartand checks again after --listen replaced control.listen.
TEST(ConfigLoaderErrors, ControlListenCheckNamesTcpWithoutTls) {
  ControlConfig control;
  control.listen = "127.0.0.1:7000";
  EXPECT_EQ(check_control_listen(control).message(),
            "TCP listen address '127.0.0.1:7000' needs control.tls.cert and control.tls.key");
  control.listen = "unix:///run/h18st.sock";
  EXPECT_TRUE(check_control_listen(control).ok());
}

TEST(ConfigLoaderErrors, ControlListenOverTcpNeedsTls) {
  EXPECT_EQ(
      error_of(kValid + "control:\n  listen: 0.0.0.0:7443\n"),
      "t.yaml:22:11: control.listen: TCP listen address '0.0.0.0:7443' needs control.tls.cert and "
      "control.tls.key");
  EXPECT_EQ(error_of(kValid + "control:\n  listen: unix://relative.sock\n"),
            "t.yaml:22:11: control.listen: unix socket path must be absolute "
            "(unix:///run/tartan/tartan.sock)");
}

TEST(ConfigLoader, ApiLimitsAndSocketGroupHaveDefaultsAndAreRead) {
  auto defaults = parse_config(kValid, "t.yaml");
  ASSERT_TRUE(defaults.ok()) << defaults.status().message();
  EXPECT_EQ(defaults->control.socket_group, "");
  EXPECT_FALSE(defaults->control.socket_gid);
  EXPECT_EQ(defaults->control.max_message_bytes, 4u << 20);
  EXPECT_EQ(defaults->control.max_concurrent_streams, 64u);
  EXPECT_EQ(defaults->control.stream_write_timeout_ms, 30000u);
  auto c = parse_config(kValid +
                            "control:\n  socket_group: daemon\n  max_message_bytes: 65536\n"
                            "  max_concurrent_streams: 8\n  stream_write_timeout_ms: 2000\n",
                        "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->control.socket_gid, 1u) << "Debian's daemon group";
  EXPECT_EQ(c->control.max_message_bytes, 65536u);
  EXPECT_EQ(c->control.max_concurrent_streams, 8u);
  EXPECT_EQ(c->control.stream_write_timeout_ms, 2000u);
  EXPECT_EQ(parse_config(kValid + "control:\n  socket_group: '4'\n", "t.yaml")->control.socket_gid,
            4u)
      << "a group id";
}

TEST(ConfigLoaderErrors, AnUnknownSocketGroupIsNamed) {
  EXPECT_EQ(error_of(kValid + "control:\n  socket_group: no-such-group\n"),
            "t.yaml:22:17: control.socket_group: group 'no-such-group' does not exist");
  EXPECT_EQ(error_of(kValid + "control:\n  max_concurrent_streams: 0\n"),
            "t.yaml:22:27: control.max_concurrent_streams: 0 is out of range 1..65536");
}

TEST(ConfigLoaderErrors, YamlSyntaxErrorHasPosition) {
  EXPECT_EQ(error_of("eal: [1, 2\n"),
            "t.yaml:2:1: YAML syntax error: end of sequence flow not found");
}

TEST(ConfigLoaderErrors, UnsupportedLeaseSourcesSaySo) {
  EXPECT_EQ(error_of(with("source: static", "source: consul")),
            "t.yaml:19:11: lease.source: expected static, grpc, etcd or kube, found 'consul'");
}

// net-conf.json exactly as kube-flannel.yml v0.28.9 ships it in the
// kube-flannel-cfg ConfigMap.
const std::string kKubeFlannelNetConf = R"({
  "Network": "10.244.0.0/16",
  "EnableNFTables": false,
  "Backend": {
    "Type": "vxlan"
  }
}
)";
const std::string kInlineNetwork =
    "network:\n  Network: 10.244.0.0/16\n  Backend:\n    Type: vxlan\n";
const std::string kKubeLease = "lease:\n  source: kube\n";
const std::string kStaticLease = "lease:\n  source: static\n  subnet: 10.244.1.0/24\n";

// kValid reading its network from `netconf`, written to a file under `dir`,
// with `lease` as the lease section.
std::string with_network_file(const testing::ScopedTempDir& dir, const std::string& netconf,
                              const std::string& lease = kStaticLease) {
  const std::string path = dir.path() + "/net-conf.json";
  testing::write_file(path, netconf);
  return with_all({{kInlineNetwork, "network_file: " + path + "\n"}, {kStaticLease, lease}});
}

TEST(ConfigNetworkFile, KubeFlannelsNetConfJsonIsReadAsFlanneldReadsIt) {
  const testing::ScopedTempDir dir("kh-netconf");
  auto c = parse_config(with_network_file(dir, kKubeFlannelNetConf), "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->network_file, dir.path() + "/net-conf.json");
  EXPECT_EQ(c->network.network.str(), "10.244.0.0/16");
  EXPECT_EQ(c->network.subnet_len, 24);
  EXPECT_EQ(c->network.backend.type, BackendType::kVxlan);
  EXPECT_EQ(c->network.backend.vni, 1u);
  EXPECT_EQ(c->network.backend.port, 8472);
  EXPECT_EQ(c->engine.dataplane.overlay_mtu(), 1450);

  // Go's encoding/json: keys case-insensitive, unknown keys ignored, no
  // Backend at all is udp.
  auto lower = parse_config(
      with_network_file(
          dir, R"({"network":"10.5.0.0/16","Flavour":1,"backend":{"type":"VXLAN","vni":9}})",
          kKubeLease),
      "t.yaml");
  ASSERT_TRUE(lower.ok()) << lower.status().message();
  EXPECT_EQ(lower->network.network.str(), "10.5.0.0/16");
  EXPECT_EQ(lower->network.backend.vni, 9u);
  auto udp =
      parse_config(with_network_file(dir, R"({"Network":"10.5.0.0/16"})", kKubeLease), "t.yaml");
  ASSERT_TRUE(udp.ok()) << udp.status().message();
  EXPECT_EQ(udp->network.backend.type, BackendType::kUdp);
  EXPECT_EQ(udp->network.backend.port, 8285);
}

TEST(ConfigNetworkFile, EffectiveConfigNamesTheFileAndParsesBack) {
  const testing::ScopedTempDir dir("kh-netconf");
  auto c = parse_config(with_network_file(dir, kKubeFlannelNetConf), "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  const std::string yaml = config_to_yaml(*c);
  EXPECT_NE(yaml.find("network_file: " + dir.path() +
                      "/net-conf.json  # Network 10.244.0.0/16, Backend vxlan\n"),
            std::string::npos)
      << yaml;
  EXPECT_EQ(yaml.find("\nnetwork:"), std::string::npos) << yaml;
  auto again = parse_config(yaml, "effective.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << yaml;
  EXPECT_EQ(config_to_yaml(*again), yaml);
}

TEST(ConfigNetworkFileErrors, AMissingFileIsNamedWithTheKey) {
  EXPECT_EQ(error_of(with(kInlineNetwork, "network_file: /nonexistent/kh/net-conf.json\n")),
            "t.yaml:14:15: network_file: /nonexistent/kh/net-conf.json: cannot open: No such file "
            "or directory");
  EXPECT_EQ(error_of(with(kInlineNetwork, "network_file: net-conf.json\n")),
            "t.yaml:14:15: network_file: must be an absolute path");
  EXPECT_EQ(error_of(with(kInlineNetwork, "network_file: /tmp\n")),
            "t.yaml:14:15: network_file: /tmp: not a regular file");
}

TEST(ConfigNetworkFileErrors, BadJsonIsNamedWithTheFileAndWhere) {
  const testing::ScopedTempDir dir("kh-netconf");
  const std::string path = dir.path() + "/net-conf.json";
  const std::string error =
      error_of(with_network_file(dir, "{\n  \"Network\": \"10.244.0.0/16\",\n}"));
  EXPECT_EQ(
      error.rfind("t.yaml:14:15: network_file: " + path +
                      ": invalid JSON: [json.exception.parse_error.101] parse error at line 3, "
                      "column 1",
                  0),
      0u)
      << error;
}

TEST(ConfigNetworkFileErrors, BadValuesNameTheFileAndTheKey) {
  const testing::ScopedTempDir dir("kh-netconf");
  const std::string at = "t.yaml:14:15: network_file: " + dir.path() + "/net-conf.json: ";
  EXPECT_EQ(error_of(with_network_file(
                dir, R"({"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":20000000}})")),
            at + "Backend.VNI: 20000000 is out of range 0..16777215");
  EXPECT_EQ(error_of(with_network_file(dir, R"({"Network":"10.244.0.0/16","SubnetLen":31})")),
            at + "SubnetLen: SubnetLen must be less than /31");
  EXPECT_EQ(error_of(with_network_file(dir, R"({"Backend":{"Type":"vxlan"}})")),
            at + "Network: required when EnableIPv4 is true (e.g. \"10.244.0.0/16\")");
  EXPECT_EQ(error_of(with_network_file(dir, R"({"Network":"192.0.0.0/8"})", kKubeLease)),
            at + "Network: 192.0.0.0/8 overlaps the underlay subnet 192.0.2.0/24 "
                 "(ports.underlay.address)");
  EXPECT_EQ(error_of(with_network_file(
                dir, R"({"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","MTU":9000}})")),
            at + "Backend.MTU: 9000 exceeds the underlay port's mtu 1500 (ports.underlay.mtu)");
  // The config file's own bounds: below them no overlay MTU is left after
  // the tunnel's headers (49 would have wrapped VXLAN's to 65535).
  EXPECT_EQ(error_of(with_network_file(
                dir, R"({"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","MTU":49}})")),
            at + "Backend.MTU: 49 is out of range 576..9216");
  // 0, as flannel reads it: unset, the underlay port's mtu.
  const auto unset = parse_config(
      with_network_file(dir, R"({"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","MTU":0}})"),
      "t.yaml");
  ASSERT_TRUE(unset.ok()) << unset.status().message();
  EXPECT_EQ(unset->network.backend.mtu, 0u);
  EXPECT_EQ(unset->engine.dataplane.overlay_mtu(), 1450u);
  // No Backend is flannel's udp, which is IPv4 only.
  EXPECT_EQ(error_of(with_network_file(
                dir, R"({"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00::/56"})")),
            at + "Backend.Type: the udp backend is IPv4 only (as in flannel): use vxlan or host-gw "
                 "with EnableIPv6");
}

// Dual stack: kValid with an IPv6 underlay, IPv6Network and our IPv6 lease.
std::string dual_stack(std::initializer_list<std::pair<std::string, std::string>> more = {}) {
  std::string s = with_all({{"    gateway: 192.0.2.1\n",
                             "    gateway: 192.0.2.1\n    ipv6_address: 2001:db8::10/64\n"
                             "    ipv6_gateway: 2001:db8::1\n"},
                            {"  Network: 10.244.0.0/16\n",
                             "  Network: 10.244.0.0/16\n  EnableIPv6: true\n"
                             "  IPv6Network: fd00:10:244::/56\n"},
                            {"  subnet: 10.244.1.0/24\n",
                             "  subnet: 10.244.1.0/24\n  subnet_v6: fd00:10:244:1::/64\n"}});
  for (const auto& [from, to] : more) {
    const auto pos = s.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    if (pos != std::string::npos) s.replace(pos, from.size(), to);
  }
  return s;
}

TEST(ConfigDualStack, TheUnderlaysIpv6SideAndTheIpv6LeaseAreRead) {
  auto c = parse_config(
      dual_stack({{"workers:",
                   "dataplane:\n  vtep_mac_v6: 0e:00:00:00:06:01\n  static_neighbours_v6: "
                   "[{ip: '2001:db8::1', mac: '02:00:00:00:00:fe'}]\nworkers:"}}),
      "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->network.enable_ipv6);
  EXPECT_EQ(c->network.ipv6_network->str(), "fd00:10:244::/56");
  EXPECT_EQ(c->network.ipv6_subnet_len, 64) << "flannel: 64 for an IPv6Network of /62 or wider";
  EXPECT_EQ(c->engine.underlay.ipv6_address->str(), "2001:db8::10/64") << "host bits kept";
  EXPECT_EQ(c->engine.underlay.ipv6_gateway->str(), "2001:db8::1");
  EXPECT_EQ(c->engine.dataplane.vtep_mac_v6.str(), "0e:00:00:00:06:01");
  ASSERT_EQ(c->engine.dataplane.static_neighbours_v6.size(), 1u);
  EXPECT_EQ(c->engine.dataplane.static_neighbours_v6[0].ip.str(), "2001:db8::1");
  EXPECT_EQ(c->engine.dataplane.static_neighbours_v6[0].mac.str(), "02:00:00:00:00:fe");
  EXPECT_EQ(c->lease.subnet_v6->str(), "fd00:10:244:1::/64");
  // One MTU for both families: the IPv6 overlay's (1500 - 70), the smaller.
  EXPECT_EQ(c->engine.ports[1].mtu, 1430);
  // And it reads back as it was given.
  auto again = parse_config(config_to_yaml(*c), "again.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(config_to_yaml(*again), config_to_yaml(*c));
}

// The pods' MTU and the engine's IPv6 overlay MTU are one definition
// (DataplaneConfig::overlay_mtu6): host-gw adds no header, so both are the
// underlay's; vxlan over IPv6 takes 70.
TEST(ConfigDualStack, PodsAreToldTheIpv6MtuTheEngineForwards) {
  auto host_gw = parse_config(dual_stack({{"Type: vxlan", "Type: host-gw"}}), "t.yaml");
  ASSERT_TRUE(host_gw.ok()) << host_gw.status().message();
  EXPECT_EQ(host_gw->engine.dataplane.overlay_mtu6(), 1500);
  EXPECT_EQ(host_gw->engine.ports[1].mtu, 1500);
  auto vxlan = parse_config(dual_stack({}), "t.yaml");
  ASSERT_TRUE(vxlan.ok()) << vxlan.status().message();
  EXPECT_EQ(vxlan->engine.dataplane.overlay_mtu6(), 1430);
  EXPECT_EQ(vxlan->engine.ports[1].mtu, 1430);
}

TEST(ConfigDualStack, BadIpv6SettingsAreRefusedNamingTheKey) {
  EXPECT_EQ(
      error_of(dual_stack(
          {{"    ipv6_address: 2001:db8::10/64\n", ""}, {"    ipv6_gateway: 2001:db8::1\n", ""}})),
      "t.yaml:6:5: ports.underlay.ipv6_address: required with network.EnableIPv6 (our underlay "
      "IPv6 address and its prefix, e.g. 2001:db8::10/64)");
  EXPECT_EQ(
      error_of(dual_stack({{"ipv6_gateway: 2001:db8::1", "ipv6_gateway: 2001:db9::1"}})),
      "t.yaml:10:19: ports.underlay.ipv6_gateway: 2001:db9::1 is not inside the underlay's IPv6 "
      "subnet 2001:db8::/64");
  // A static IPv6 neighbour lies on the underlay's IPv6 prefix, and is an IPv6 address.
  EXPECT_NE(error_of(dual_stack({{"workers:",
                                  "dataplane:\n  static_neighbours_v6: [{ip: "
                                  "'2001:db9::1', mac: '02:00:00:00:00:fe'}]\nworkers:"}}))
                .find("dataplane.static_neighbours_v6[0].ip: 2001:db9::1 is not on the underlay "
                      "subnet 2001:db8::/64"),
            std::string::npos);
  EXPECT_NE(error_of(dual_stack({{"workers:",
                                  "dataplane:\n  static_neighbours_v6: [{ip: "
                                  "192.0.2.1, mac: '02:00:00:00:00:fe'}]\nworkers:"}}))
                .find("dataplane.static_neighbours_v6[0].ip: '192.0.2.1' is not an IPv6 address"),
            std::string::npos);
  EXPECT_EQ(
      error_of(dual_stack({{"ipv6_address: 2001:db8::10/64", "ipv6_address: 2001:db8::10/0"}})),
      "t.yaml:9:19: ports.underlay.ipv6_address: prefix length must be 1..127");
  EXPECT_NE(
      error_of(dual_stack({{"IPv6Network: fd00:10:244::/56", "IPv6Network: 2001:db8::/56"},
                           {"subnet_v6: fd00:10:244:1::/64", "subnet_v6: 2001:db8:0:1::/64"}}))
          .find("IPv6Network: 2001:db8::/56 overlaps the underlay's IPv6 subnet 2001:db8::/64 "
                "(ports.underlay.ipv6_address)"),
      std::string::npos);
  EXPECT_EQ(error_of(dual_stack({{"subnet_v6: fd00:10:244:1::/64", "subnet_v6: fd00:99::/64"}})),
            "t.yaml:25:14: lease.subnet_v6: fd00:99::/64 is outside network.IPv6Network "
            "fd00:10:244::/56");
  EXPECT_EQ(
      error_of(dual_stack({{"subnet_v6: fd00:10:244:1::/64", "subnet_v6: fd00:10:244:100::/56"}})),
      "t.yaml:25:14: lease.subnet_v6: fd00:10:244:100::/56 is outside network.IPv6Network "
      "fd00:10:244::/56");
  EXPECT_EQ(
      error_of(dual_stack({{"subnet_v6: fd00:10:244:1::/64", "subnet_v6: fd00:10:244:1::/80"}})),
      "t.yaml:25:14: lease.subnet_v6: fd00:10:244:1::/80 is not a /64 (network.IPv6SubnetLen)");
  EXPECT_EQ(error_of(dual_stack({{"  subnet_v6: fd00:10:244:1::/64\n", ""}})),
            "t.yaml:23:3: lease.subnet_v6: required with lease.source static and "
            "network.EnableIPv6 (our IPv6 podCIDR, e.g. fd00:10:244:1::/64)");
  EXPECT_EQ(error_of(with("  subnet: 10.244.1.0/24\n",
                          "  subnet: 10.244.1.0/24\n  subnet_v6: fd00:10:244:1::/64\n")),
            "t.yaml:21:14: lease.subnet_v6: network.EnableIPv6 is false");
  // flannel's udp backend has no IPv6 device.
  EXPECT_EQ(error_of(dual_stack({{"Type: vxlan", "Type: udp"}})),
            "t.yaml:21:11: network.Backend.Type: the udp backend is IPv4 only (as in flannel): use "
            "vxlan or host-gw with EnableIPv6");
}

// IPv6 needs 1280 on every link (RFC 8200 5): an underlay MTU that leaves
// less to the IPv6 overlay (vxlan over IPv6 takes 70) or is less itself is
// refused, naming the key it came from and the numbers. IPv4 alone is
// still fine with it.
TEST(ConfigDualStack, AnUnderlayMtuLeavingIpv6BelowItsMinimumIsRefusedWithTheNumbers) {
  const std::pair<std::string, std::string> mtu_1300{"    device: net_ring0\n",
                                                     "    device: net_ring0\n    mtu: 1300\n"};
  EXPECT_EQ(error_of(dual_stack({mtu_1300})),
            "t.yaml:7:10: ports.underlay.mtu: 1300 leaves an IPv6 overlay MTU of 1230, below "
            "IPv6's minimum 1280 (network.EnableIPv6: vxlan over IPv6 takes 70, so the underlay "
            "needs at least 1350)");
  EXPECT_EQ(error_of(dual_stack({mtu_1300, {"Type: vxlan", "Type: vxlan\n    MTU: 1300"}})),
            "t.yaml:23:10: network.Backend.MTU: 1300 leaves an IPv6 overlay MTU of 1230, below "
            "IPv6's minimum 1280 (network.EnableIPv6: vxlan over IPv6 takes 70, so the underlay "
            "needs at least 1350)");
  EXPECT_EQ(
      error_of(dual_stack({{"    device: net_ring0\n", "    device: net_ring0\n    mtu: 1200\n"},
                           {"Type: vxlan", "Type: host-gw"}})),
      "t.yaml:7:10: ports.underlay.mtu: 1200 is below IPv6's minimum 1280 "
      "(network.EnableIPv6: the underlay carries IPv6)");
  auto least = parse_config(
      dual_stack({{"    device: net_ring0\n", "    device: net_ring0\n    mtu: 1350\n"}}),
      "t.yaml");
  ASSERT_TRUE(least.ok()) << least.status().message();
  EXPECT_EQ(least->engine.dataplane.overlay_mtu6(), 1280);
  EXPECT_EQ(least->engine.ports[1].mtu, 1280);
  auto ipv4_only = parse_config(
      with("    device: net_ring0\n", "    device: net_ring0\n    mtu: 1300\n"), "t.yaml");
  ASSERT_TRUE(ipv4_only.ok()) << ipv4_only.status().message();
  EXPECT_EQ(ipv4_only->engine.ports[1].mtu, 1250);
}

TEST(ConfigDualStack, IPv6SubnetLenDefaultsAndBoundsAreFlannels) {
  const auto subnet_len = [](const std::string& network) {
    auto c = parse_config(dual_stack({{"IPv6Network: fd00:10:244::/56", "IPv6Network: " + network},
                                      {"  subnet_v6: fd00:10:244:1::/64\n", ""},
                                      {"source: static", "source: grpc"},
                                      {"  subnet: 10.244.1.0/24\n", ""}}),
                          "t.yaml");
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? c->network.ipv6_subnet_len : 0;
  };
  EXPECT_EQ(subnet_len("fd00:10:244::/62"), 64);
  EXPECT_EQ(subnet_len("fd00:10:244::/63"), 65) << "prefix + 2 beyond /62";
  EXPECT_EQ(subnet_len("fd00:10:244::/124"), 126);
  EXPECT_NE(
      error_of(dual_stack({{"IPv6Network: fd00:10:244::/56", "IPv6Network: fd00:10:244::/125"}}))
          .find("IPv6Network is too small. Minimum useful network prefix is /124"),
      std::string::npos);
}

TEST(ConfigDualStack, AnIpv6OnlyNetworkTakesAnIpv6LeaseAlone) {
  auto c = parse_config(dual_stack({{"  Network: 10.244.0.0/16\n", "  EnableIPv4: false\n"},
                                    {"  subnet: 10.244.1.0/24\n", ""}}),
                        "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_FALSE(c->network.enable_ipv4);
  EXPECT_FALSE(c->lease.subnet);
  EXPECT_EQ(c->engine.ports[1].mtu, 1430) << "the IPv6 overlay's MTU alone";
  EXPECT_EQ(error_of(dual_stack({{"  Network: 10.244.0.0/16\n", "  EnableIPv4: false\n"}})),
            "t.yaml:24:11: lease.subnet: network.EnableIPv4 is false: no IPv4 podCIDR");
}

TEST(ConfigDualStack, EtcdLeasesTakeBothFamiliesAndHonourIpv6SubnetMinAndMax) {
  auto c = parse_config(
      dual_stack({{"source: static", "source: etcd"},
                  {"  subnet: 10.244.1.0/24\n", ""},
                  {"  subnet_v6: fd00:10:244:1::/64\n", ""},
                  {"  IPv6Network: fd00:10:244::/56\n",
                   "  IPv6Network: fd00:10:244::/56\n  IPv6SubnetMin: 'fd00:10:244:10::'\n"}}),
      "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->lease.source, LeaseSource::kEtcd);
  // flannel's CheckNetworkConfig: the given minimum, the last subnet as maximum.
  EXPECT_EQ(c->network.ipv6_subnet_min.str(), "fd00:10:244:10::");
  EXPECT_EQ(c->network.ipv6_subnet_max.str(), "fd00:10:244:ff::");
  auto again = parse_config(config_to_yaml(*c), "again.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << config_to_yaml(*c);
  EXPECT_EQ(again->network.ipv6_subnet_min, c->network.ipv6_subnet_min);
  EXPECT_EQ(again->network.ipv6_subnet_max, c->network.ipv6_subnet_max);
  // Unset: the second subnet to the last, as SubnetMin and SubnetMax.
  auto defaults = parse_config(dual_stack(), "t.yaml");
  ASSERT_TRUE(defaults.ok()) << defaults.status().message();
  EXPECT_EQ(defaults->network.ipv6_subnet_min.str(), "fd00:10:244:1::");
  EXPECT_EQ(defaults->network.ipv6_subnet_max.str(), "fd00:10:244:ff::");

  const auto bad = [](const std::string& key, const std::string& value) {
    return error_of(
        dual_stack({{"  IPv6Network: fd00:10:244::/56\n",
                     "  IPv6Network: fd00:10:244::/56\n  " + key + ": '" + value + "'\n"}}));
  };
  EXPECT_EQ(bad("IPv6SubnetMin", "fd00:10:245::"),
            "t.yaml:20:18: network.IPv6SubnetMin: IPv6SubnetMin is not in the range of the "
            "IPv6Network");
  EXPECT_EQ(bad("IPv6SubnetMax", "fd00:10:244:7::1"),
            "t.yaml:20:18: network.IPv6SubnetMax: IPv6SubnetMax is not on a SubnetLen boundary: "
            "fd00:10:244:7::1");
  EXPECT_EQ(bad("IPv6SubnetMin", "x"),
            "t.yaml:20:18: network.IPv6SubnetMin: 'x' is not an IPv6 address");
}

// flannel's CheckNetworkConfig applies one set of rules to both families:
// each error names its own family's key.
TEST(ConfigDualStack, BothFamiliesFollowFlannelsSubnetRules) {
  const auto v6 = [](const std::string& keys) {
    return error_of(dual_stack(
        {{"  IPv6Network: fd00:10:244::/56\n", "  IPv6Network: fd00:10:244::/56\n" + keys}}));
  };
  const auto says = [](const std::string& error, const std::string& what) {
    return error.find(what) != std::string::npos ? ::testing::AssertionSuccess()
                                                 : ::testing::AssertionFailure() << error;
  };
  EXPECT_TRUE(says(v6("  IPv6SubnetLen: 127\n"),
                   "network.IPv6SubnetLen: SubnetLen must be less than /127"));
  EXPECT_TRUE(says(v6("  IPv6SubnetLen: 57\n"),
                   "network.IPv6SubnetLen: network must be able to accommodate at least four "
                   "subnets"));
  EXPECT_TRUE(says(v6("  IPv6SubnetMin: 'fd00:10:244:20::'\n  IPv6SubnetMax: 'fd00:10:244:10::'\n"),
                   "network.IPv6SubnetMin: IPv6SubnetMin fd00:10:244:20:: is above IPv6SubnetMax "
                   "fd00:10:244:10::"));
  EXPECT_TRUE(says(error_of(with("  Backend:",
                                 "  SubnetMin: 10.244.20.0\n  SubnetMax: "
                                 "10.244.10.0\n  Backend:")),
                   "network.SubnetMin: SubnetMin 10.244.20.0 is above SubnetMax 10.244.10.0"));
}

// IPv6 only (EnableIPv4 false): the underlay needs no IPv4 address, and
// what a family needs is asked for by its key.
TEST(ConfigIpv6Only, TheUnderlayNeedsNoIpv4Address) {
  const std::string ipv6_only =
      dual_stack({{"    address: 192.0.2.10/24\n    gateway: 192.0.2.1\n", ""},
                  {"  Network: 10.244.0.0/16\n", "  EnableIPv4: false\n"},
                  {"  subnet: 10.244.1.0/24\n", ""}});
  auto c = parse_config(ipv6_only, "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_FALSE(c->engine.underlay.address);
  EXPECT_FALSE(c->engine.underlay.gateway);
  EXPECT_FALSE(c->network.enable_ipv4);
  const std::string yaml = config_to_yaml(*c);
  EXPECT_EQ(yaml.find("Network: 0.0.0.0/0"), std::string::npos) << yaml;
  auto again = parse_config(yaml, "again.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << yaml;
  EXPECT_EQ(config_to_yaml(*again), yaml);

  EXPECT_EQ(error_of(with("    address: 192.0.2.10/24\n", "")),
            "t.yaml:6:5: ports.underlay.address: required with network.EnableIPv4 (our underlay "
            "IPv4 address and its prefix, e.g. 192.0.2.10/24)");
  EXPECT_EQ(error_of(dual_stack({{"    address: 192.0.2.10/24\n", ""},
                                 {"  Network: 10.244.0.0/16\n", "  EnableIPv4: false\n"},
                                 {"  subnet: 10.244.1.0/24\n", ""}})),
            "t.yaml:7:14: ports.underlay.gateway: needs ports.underlay.address");
  EXPECT_EQ(
      error_of(with_all({{"    address: 192.0.2.10/24\n    gateway: 192.0.2.1\n", ""},
                         {"  Network: 10.244.0.0/16\n",
                          "  EnableIPv4: false\n  EnableIPv6: true\n"
                          "  IPv6Network: fd00:10:244::/56\n"},
                         {"  subnet: 10.244.1.0/24\n", "  subnet_v6: fd00:10:244:1::/64\n"}})),
      "t.yaml:6:5: ports.underlay.ipv6_address: required with network.EnableIPv6 (our "
      "underlay IPv6 address and its prefix, e.g. 2001:db8::10/64)");
}

TEST(ConfigNetworkFileErrors, NetworkAndNetworkFileTogetherAreRefused) {
  EXPECT_EQ(error_of(kValid + "network_file: /etc/kube-flannel/net-conf.json\n"),
            "t.yaml:21:15: network_file: give network or network_file, not both (network_file is "
            "flannel's net-conf.json)");
  EXPECT_EQ(error_of(with(kInlineNetwork, "")),
            "t.yaml:1:1: network: required section is missing (or network_file: the path of "
            "flannel's net-conf.json)");
}

TEST(ConfigNetworkFile, KubeModeChecksNoSubnetLenMinOrMaxAsFlanneldsKubeManager) {
  const testing::ScopedTempDir dir("kh-netconf");
  // kube-controller-manager's --node-cidr-mask-size decides: flanneld in
  // kube mode takes these as they are, where its etcd and local managers
  // refuse them (ConfigNetworkFileErrors above).
  const std::string netconf =
      R"({"Network":"10.244.0.0/16","SubnetLen":31,"SubnetMin":"10.9.0.0","Backend":{"Type":"vxlan"}})";
  auto c = parse_config(with_network_file(dir, netconf, kKubeLease), "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->network.subnet_len, 31);
  EXPECT_EQ(c->network.subnet_min.str(), "10.9.0.0");
  EXPECT_EQ(c->network.subnet_max.value, 0u);
  EXPECT_NE(error_of(with_network_file(dir, netconf)).find("SubnetLen must be less than /31"),
            std::string::npos);

  // Absent, they stay 0 (not derived) and are left out of the effective
  // config, which still parses back.
  auto bare = parse_config(with_network_file(dir, kKubeFlannelNetConf, kKubeLease), "t.yaml");
  ASSERT_TRUE(bare.ok()) << bare.status().message();
  EXPECT_EQ(bare->network.subnet_len, 0);
  auto inline_kube = parse_config(with(kStaticLease, kKubeLease), "t.yaml");
  ASSERT_TRUE(inline_kube.ok()) << inline_kube.status().message();
  const std::string yaml = config_to_yaml(*inline_kube);
  EXPECT_EQ(yaml.find("SubnetLen"), std::string::npos) << yaml;
  auto again = parse_config(yaml, "effective.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << yaml;
  EXPECT_EQ(config_to_yaml(*again), yaml);
}

TEST(ConfigLoader, ControlHttpListenIsOffByDefaultAndTakesIpv4OrBracketedIpv6) {
  auto c = parse_config(kValid, "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->control.http.listen, "");
  for (const char* listen : {"0.0.0.0:8081", "127.0.0.1:0", "[::]:8081", "[::1]:65535"}) {
    auto h = parse_config(kValid + "control:\n  http:\n    listen: '" + listen + "'\n", "t.yaml");
    ASSERT_TRUE(h.ok()) << listen << ": " << h.status().message();
    EXPECT_EQ(h->control.http.listen, listen);
    const std::string yaml = config_to_yaml(*h);
    EXPECT_NE(yaml.find("  http:\n    listen: \"" + std::string(listen) + "\"\n"),
              std::string::npos)
        << yaml;
    auto again = parse_config(yaml, "effective.yaml");
    ASSERT_TRUE(again.ok()) << again.status().message();
    EXPECT_EQ(again->control.http.listen, listen);
  }
}

TEST(ConfigLoader, ControlHttpMetricsPeersDefaultsTo100AndRoundTrips) {
  auto c = parse_config(kValid, "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->control.http.metrics_peers, 100u);
  auto h = parse_config(kValid + "control:\n  http: {metrics_peers: 0}\n", "t.yaml");
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(h->control.http.metrics_peers, 0u);
  auto again = parse_config(config_to_yaml(*h), "effective.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->control.http.metrics_peers, 0u);
  const std::string error =
      parse_config(kValid + "control:\n  http: {metrics_peers: 100001}\n", "t.yaml")
          .status()
          .message();
  EXPECT_NE(error.find("control.http.metrics_peers"), std::string::npos) << error;
}

TEST(ConfigLoader, TunnelProbesAreOffByDefaultAndRoundTrip) {
  auto c = parse_config(kValid, "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->control.probe.interval_ms, 0u);
  EXPECT_EQ(c->control.probe.timeout_ms, 1000u);
  auto p =
      parse_config(kValid + "control:\n  probe: {interval_ms: 5000, timeout_ms: 700}\n", "t.yaml");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->control.probe.interval_ms, 5000u);
  EXPECT_EQ(p->control.probe.timeout_ms, 700u);
  auto again = parse_config(config_to_yaml(*p), "effective.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->control.probe.interval_ms, 5000u);
  EXPECT_EQ(again->control.probe.timeout_ms, 700u);
}

TEST(ConfigLoaderErrors, ATunnelProbeTimeoutAboveTheIntervalOrATooShortIntervalIsNamed) {
  EXPECT_EQ(error_of(kValid + "control:\n  probe: {interval_ms: 500, timeout_ms: 800}\n"),
            "t.yaml:22:41: control.probe.timeout_ms: 800 is above control.probe.interval_ms (500)");
  EXPECT_EQ(error_of(kValid + "control:\n  probe: {interval_ms: 50}\n"),
            "t.yaml:22:24: control.probe.interval_ms: below 100 ms (0 turns probes off)");
  EXPECT_NE(error_of(kValid + "control:\n  probe: {interval_ms: 1000, timeout_ms: 5}\n")
                .find("control.probe.timeout_ms: 5 is out of range 10..60000"),
            std::string::npos);
}

TEST(ConfigLoaderErrors, ABadControlHttpListenIsNamed) {
  const auto error = [](const std::string& listen) {
    return error_of(kValid + "control:\n  http: {listen: '" + listen + "'}\n");
  };
  EXPECT_EQ(error("8081"),
            "t.yaml:22:18: control.http.listen: expected IPv4:PORT (e.g. 0.0.0.0:8081) or "
            "[IPv6]:PORT, found '8081'");
  EXPECT_EQ(error("localhost:8081"),
            "t.yaml:22:18: control.http.listen: 'localhost' is not an IPv4 address in "
            "'localhost:8081'");
  EXPECT_EQ(error("0.0.0.0:70000"),
            "t.yaml:22:18: control.http.listen: port '70000' is not a number 0..65535 in "
            "'0.0.0.0:70000'");
  EXPECT_EQ(error("::1:8081"),
            "t.yaml:22:18: control.http.listen: expected IPv4:PORT (e.g. 0.0.0.0:8081) or "
            "[IPv6]:PORT, found '::1:8081'");
  EXPECT_EQ(error("[fe80::zz]:8081"),
            "t.yaml:22:18: control.http.listen: 'fe80::zz' is not an IPv6 address in "
            "'[fe80::zz]:8081'");
  EXPECT_EQ(error_of(kValid + "control:\n  http: {port: 8081}\n"),
            "t.yaml:22:10: control.http.port: unknown key (allowed here: listen, metrics_peers)");
}

}  // namespace
}  // namespace tartan
