// flannel's wireguard backend keys (pkg/backend/wireguard), in tartan's
// YAML and in net-conf.json as flanneld reads them, and tartan's own
// dataplane.wireguard keys (the keypair lifetimes).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>

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

TEST(WireguardConfig, DualStackRunsFlannelsSeparateModeWithListenPortV6ForIpv6) {
  std::string yaml = config_with_backend(
      "{Type: wireguard, ListenPortV6: 51999}\n  EnableIPv6: true\n  IPv6Network: fd00::/56");
  yaml.replace(yaml.find("192.0.2.10/24}"), 14, "192.0.2.10/24, ipv6_address: '2001:db8::10/64'}");
  yaml.replace(yaml.find("10.244.1.0/24}"), 14, "10.244.1.0/24, subnet_v6: 'fd00:0:0:1::/64'}");
  auto c = parse_config(yaml, "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->network.backend.wireguard.mode, WireguardMode::kSeparate);
  EXPECT_EQ(c->engine.dataplane.udp_port, 51820);
  EXPECT_EQ(c->engine.dataplane.udp_port_v6, 51999);
  EXPECT_EQ(c->engine.dataplane.tunnel_port6(), 51999);
}

// flannel's one-device modes: flannel-wg alone listens on ListenPort over
// both families; backend-v6-data still announces ListenPortV6, as flanneld
// writes it (local_lease).
TEST(WireguardConfig, DualStackInAOneDeviceModeListensOnListenPortOverIpv6Too) {
  for (const char* mode : {"auto", "ipv4", "ipv6"}) {
    SCOPED_TRACE(mode);
    std::string yaml = config_with_backend(std::string("{Type: wireguard, Mode: ") + mode +
                                           ", ListenPortV6: 51999}\n  EnableIPv6: true\n"
                                           "  IPv6Network: fd00::/56");
    yaml.replace(yaml.find("192.0.2.10/24}"), 14,
                 "192.0.2.10/24, ipv6_address: '2001:db8::10/64'}");
    yaml.replace(yaml.find("10.244.1.0/24}"), 14, "10.244.1.0/24, subnet_v6: 'fd00:0:0:1::/64'}");
    auto c = parse_config(yaml, "t.yaml");
    ASSERT_TRUE(c.ok()) << c.status().message();
    EXPECT_EQ(wireguard_mode_name(c->network.backend.wireguard.mode), std::string(mode));
    EXPECT_EQ(c->network.backend.wireguard.listen_port_v6, 51999);
    EXPECT_EQ(c->engine.dataplane.udp_port, 51820);
    EXPECT_EQ(c->engine.dataplane.tunnel_port6(), 51820);
  }
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

// `config_with_backend` for the wireguard backend with `wireguard` as the
// dataplane.wireguard map.
std::string config_with_times(const std::string& wireguard) {
  return config_with_backend("{Type: wireguard}") + "dataplane: {wireguard: " + wireguard + "}\n";
}

std::string error_of_times(const std::string& wireguard) {
  auto c = parse_config(config_with_times(wireguard), "t.yaml");
  EXPECT_FALSE(c.ok()) << wireguard;
  return c.ok() ? "" : c.status().message();
}

// The keypair lifetimes a config gives, in seconds: {rekey, reject}.
using Lifetimes = std::pair<int64_t, int64_t>;
Lifetimes lifetimes(const std::string& yaml) {
  auto c = parse_config(yaml, "t.yaml");
  EXPECT_TRUE(c.ok()) << c.status().message();
  if (!c.ok()) return {};
  const WireguardTimes& t = c->engine.dataplane.wireguard_times;
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  return {duration_cast<seconds>(t.rekey_after).count(),
          duration_cast<seconds>(t.reject_after).count()};
}

TEST(WireguardConfig, KeypairLifetimesAreTheWhitepapersUnlessShortenedAndRoundTrip) {
  EXPECT_EQ(lifetimes(config_with_backend("{Type: wireguard}")), Lifetimes(120, 180));
  const std::string shortened = config_with_times("{rekey_after_s: 3, reject_after_s: 9}");
  EXPECT_EQ(lifetimes(shortened), Lifetimes(3, 9));
  auto c = parse_config(shortened, "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(lifetimes(config_to_yaml(*c)), Lifetimes(3, 9));
  // Either alone: the other keeps the whitepaper's.
  EXPECT_EQ(lifetimes(config_with_times("{rekey_after_s: 2}")), Lifetimes(2, 180));
}

TEST(WireguardConfig, BadKeypairLifetimesNameTheKeyAndSayWhy) {
  EXPECT_EQ(error_of_times("{rekey_after_s: 0}"),
            "t.yaml:10:40: dataplane.wireguard.rekey_after_s: 0 is out of range 1..120");
  EXPECT_EQ(error_of_times("{reject_after_s: 181}"),
            "t.yaml:10:41: dataplane.wireguard.reject_after_s: 181 is out of range 2..180");
  EXPECT_EQ(error_of_times("{rekey_after_s: 5, reject_after_s: 5}"),
            "t.yaml:10:59: dataplane.wireguard.reject_after_s: 5 is not above "
            "dataplane.wireguard.rekey_after_s (5): a keypair must be replaced before it is "
            "refused");
  // The default rekey_after_s (120) stays below it.
  EXPECT_EQ(error_of_times("{reject_after_s: 60}"),
            "t.yaml:10:41: dataplane.wireguard.reject_after_s: 60 is not above "
            "dataplane.wireguard.rekey_after_s (120): a keypair must be replaced before it is "
            "refused");
  EXPECT_NE(error_of_times("{rekey_after: 3}")
                .find("dataplane.wireguard.rekey_after: unknown key (allowed here: "
                      "rekey_after_s, reject_after_s)"),
            std::string::npos);
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
