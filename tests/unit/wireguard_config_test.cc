// flannel's wireguard backend keys (pkg/backend/wireguard), in tartan's
// YAML and in net-conf.json as flanneld reads them.
#include <gtest/gtest.h>

#include <string>

#include "control/config/config_loader.h"
#include "control/config/netconf_json.h"
#include "control/config/wireguard_key.h"

namespace tartan {
namespace {

std::string config_with_backend(const std::string& backend) {
  return R"(eal: {main_lcore: 0, memory_mb: 256}
ports:
  underlay: {device: net_ring0, address: 192.0.2.10/24}
  overlay: [{name: tap0, device: 'net_tap0,iface=t0'}]
workers: {lcores: [1]}
network:
  Network: 10.244.0.0/16
  Backend: )" +
         backend +
         R"(
lease: {source: static, subnet: 10.244.1.0/24}
)";
}

std::string error_of(const std::string& backend) {
  auto c = parse_config(config_with_backend(backend), "t.yaml");
  EXPECT_FALSE(c.ok()) << backend;
  return c.ok() ? "" : c.status().message();
}

// `wg genpsk`-style keys: 32 bytes, 44 characters of base64.
constexpr const char* kPsk = "jSUegb1+on+DMYrgumFm2V+C6kpbrhfwduMdTpqqjzU=";
constexpr const char* kKey = "qPRBXaa0jqqVhFx/0XEOEeK9hn3MVHRTuwGx5bN3SXs=";

TEST(WireguardConfig, DefaultsAreFlannelsAndTheOverlayMtuIsTheUnderlaysLess80) {
  auto c = parse_config(config_with_backend("{Type: wireguard}"), "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  const BackendConfig& b = c->network.backend;
  EXPECT_EQ(b.type, BackendType::kWireguard);
  EXPECT_EQ(b.wireguard.listen_port, 51820);
  EXPECT_EQ(b.wireguard.listen_port_v6, 51821);
  EXPECT_FALSE(b.wireguard.psk.has_value());
  EXPECT_EQ(b.wireguard.persistent_keepalive_s, 0);
  EXPECT_EQ(b.wireguard.mode, WireguardMode::kSeparate);
  EXPECT_EQ(b.port, 51820);  // the port the engine receives on
  EXPECT_EQ(c->engine.dataplane.overlay_mtu(), 1420);
}

TEST(WireguardConfig, FlannelsNetConfJsonIsReadCaseInsensitivelyAsGoDoes) {
  auto raw = parse_netconf_json(std::string(R"({"Network":"10.244.0.0/16","Backend":{
      "type":"WireGuard","listenPort":51999,"ListenPortV6":52000,"psk":")") +
                                kPsk + R"(","PersistentKeepaliveInterval":25,"Mode":"auto"}})");
  ASSERT_TRUE(raw.ok()) << raw.status().message();
  std::string bad_key;
  auto n = finish_network_config(*raw, &bad_key);
  ASSERT_TRUE(n.ok()) << bad_key << ": " << n.status().message();
  const WireguardBackendConfig& wg = n->backend.wireguard;
  EXPECT_EQ(n->backend.type, BackendType::kWireguard);
  EXPECT_EQ(wg.listen_port, 51999);
  EXPECT_EQ(wg.listen_port_v6, 52000);
  ASSERT_TRUE(wg.psk.has_value());
  EXPECT_EQ(wireguard_key_text(*wg.psk), kPsk);
  EXPECT_EQ(wg.persistent_keepalive_s, 25);
  EXPECT_EQ(wg.mode, WireguardMode::kAuto);
  // An empty PSK is none, as flannel's `if psk != ""`.
  raw =
      parse_netconf_json(R"({"Network":"10.244.0.0/16","Backend":{"Type":"wireguard","PSK":""}})");
  ASSERT_TRUE(raw.ok());
  n = finish_network_config(*raw, &bad_key);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_FALSE(n->backend.wireguard.psk.has_value());
}

TEST(WireguardConfig, BadValuesNameTheKeyAndSayWhy) {
  EXPECT_EQ(error_of("{Type: wireguard, PSK: not-a-key}"),
            "t.yaml:8:35: network.Backend.PSK: not base64 (a WireGuard key is 44 characters, as "
            "wg genkey prints)");
  EXPECT_EQ(error_of("{Type: wireguard, PSK: 'AAAA'}"),
            "t.yaml:8:35: network.Backend.PSK: decodes to 3 bytes; a WireGuard key has 32");
  EXPECT_EQ(error_of("{Type: wireguard, Mode: Separate}"),
            "t.yaml:8:36: network.Backend.Mode: 'Separate' is not a mode of flannel's wireguard "
            "backend (separate, auto, ipv4, ipv6)");
  EXPECT_EQ(error_of("{Type: wireguard, Port: 8472}"),
            "t.yaml:8:36: network.Backend.Port: the wireguard backend listens on "
            "Backend.ListenPort");
  EXPECT_EQ(error_of("{Type: vxlan, ListenPort: 51820}"),
            "t.yaml:8:38: network.Backend.ListenPort: ListenPort applies to the wireguard backend "
            "only");
  EXPECT_NE(error_of("{Type: wireguard, ListenPort: 0}").find("ListenPort"), std::string::npos);
  EXPECT_NE(error_of("{Type: wireguard, PersistentKeepaliveInterval: 70000}")
                .find("PersistentKeepaliveInterval"),
            std::string::npos);
}

TEST(WireguardConfig, TheEffectiveConfigShowsTheSettingsButNeverThePsk) {
  auto c =
      parse_config(config_with_backend(std::string("{Type: wireguard, ListenPort: 51999, PSK: '") +
                                       kPsk + "', PersistentKeepaliveInterval: 25, Mode: ipv4}"),
                   "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  const std::string yaml = config_to_yaml(*c);
  EXPECT_NE(yaml.find("ListenPort: 51999"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("PersistentKeepaliveInterval: 25"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("Mode: ipv4"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("PSK: <redacted>"), std::string::npos) << yaml;
  EXPECT_EQ(yaml.find(kPsk), std::string::npos) << yaml;
  EXPECT_EQ(yaml.find("Port: 51820\n"), std::string::npos) << "no vxlan/udp Port: " << yaml;
}

TEST(WireguardKeyText, ParsesWhatWgPrintsAndWritesItBack) {
  auto key = parse_wireguard_key(std::string(kKey) + "\n");  // a key file's newline
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(wireguard_key_text(*key), kKey);
  EXPECT_FALSE(parse_wireguard_key("").ok());
  EXPECT_FALSE(parse_wireguard_key(std::string(kKey).substr(0, 43)).ok());
}

}  // namespace
}  // namespace tartan
