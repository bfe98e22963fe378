// tartand's wireguard backend against a node configured as flanneld
// configures flannel-wg (wireguard-go here: the kernel has no WireGuard
// module): the handshake is tartand's own (no keys given to it), pods
// reach each other both ways, and after a tartand restart (same key, kept
// in its state directory) a new handshake brings the path back; with
// tartand's REKEY_AFTER_TIME shortened, its sessions are replaced again
// and again under the pods' traffic; a node's new key, announced in its
// annotation, is followed and its old sessions refused; and a node on a
// ListenPort of its own, announced in its backend-data's Port, is sent to
// there.
#include <signal.h>

#include <gtest/gtest.h>

#include <climits>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/e2e/cluster.h"
#include "tests/support/files.h"

namespace tartan::testing {
namespace {

using namespace std::chrono_literals;

// Echo requests `ping_output` says went unanswered (INT_MAX when it says
// nothing of the kind).
int unanswered(const std::string& ping_output) {
  std::smatch m;
  if (!std::regex_search(ping_output, m,
                         std::regex(R"((\d+) packets transmitted, (\d+) received)")))
    return INT_MAX;
  return std::stoi(m[1]) - std::stoi(m[2]);
}

// When wireguard-go last completed a handshake with its one peer (`wg
// show latest-handshakes`: Unix seconds, 0 for never).
uint64_t latest_handshake(Cluster& c, ClusterNode& go) {
  const std::string out = c.sh(*go.ns, "wg show " + go.wg_device + " latest-handshakes").output;
  std::smatch m;
  if (!std::regex_search(out, m, std::regex(R"(\t(\d+))"))) return 0;
  return std::stoull(m[1]);
}

// `tartan`'s peer for `node` as `tartanctl nodes get` shows it (status.wireguard).
nlohmann::json wireguard_peer(Cluster& c, ClusterNode& tartan, ClusterNode& node) {
  const CommandResult r = c.tartanctl(tartan, {"-o", "json", "nodes", "get", node.name});
  if (r.exit_code != 0) throw std::runtime_error("tartanctl nodes get: " + r.output);
  return nlohmann::json::parse(r.output)["status"]["wireguard"];
}

constexpr const char* kMetrics = "127.0.0.1:9464";  // in the tartan node's namespace

class TartanAndWireguardGo : public WireguardGoAndTartanCluster {
 protected:
  // `dataplane_yaml`: more keys of tartand's dataplane map.
  explicit TartanAndWireguardGo(std::string dataplane_yaml = "")
      : WireguardGoAndTartanCluster("wg", std::string(", http: {listen: '") + kMetrics + "'}",
                                    std::move(dataplane_yaml)) {}
};

// tartand's keypairs wanting a new handshake after 2 s instead of 120 s,
// and refused after 10 s instead of 180 s. wireguard-go's timers are its
// own (120 s): only sessions tartand initiated are replaced this often.
class TartanRekeyingEveryTwoSeconds : public TartanAndWireguardGo {
 protected:
  TartanRekeyingEveryTwoSeconds()
      : TartanAndWireguardGo(", wireguard: {rekey_after_s: 2, reject_after_s: 10}") {}
};

// A wireguard-go node on a ListenPort of its own, named in its
// backend-data's Port (flannel since v0.26.6); tartand keeps 51820, which
// its backend-data names for the wireguard-go node to send to.
class WireguardGoOnAPortOfItsOwn : public WireguardGoAndTartanCluster {
 protected:
  WireguardGoOnAPortOfItsOwn() : WireguardGoAndTartanCluster("wp", "", "", 51999) {}
};

TEST_F(WireguardGoOnAPortOfItsOwn, TartandSendsToTheAnnouncedPortAndPodsPingBothWays) {
  // wireguard-go sends nothing before it is sent to: the path comes up
  // only if tartand's initiation goes to port 51999.
  ASSERT_TRUE(path_up(c, *tartan, *go)) << c.sh(*go->ns, "wg show").output;
  EXPECT_TRUE(all_replied(ping(c, *tartan, *go)));
  EXPECT_TRUE(all_replied(ping(c, *go, *tartan)));
  const auto peer = wireguard_peer(c, *tartan, *go);
  EXPECT_EQ(peer.value("endpoint", ""), go->public_ip.str() + ":51999") << peer.dump();
}

TEST_F(TartanAndWireguardGo, PodsPingBothWaysAndATartandRestartHandshakesAgain) {
  ASSERT_TRUE(path_up(c, *tartan, *go)) << c.sh(*go->ns, "wg show").output;
  EXPECT_TRUE(all_replied(ping(c, *tartan, *go)));
  EXPECT_TRUE(all_replied(ping(c, *go, *tartan)));
  // `tartanctl nodes` shows the peer as `wg show` would: a handshake, and
  // the pings' transfer both ways.
  const auto peer = wireguard_peer(c, *tartan, *go);
  EXPECT_NE(peer.value("latest_handshake_ns", "0"), "0") << peer.dump();
  EXPECT_NE(peer.value("rx_bytes", "0"), "0") << peer.dump();
  EXPECT_NE(peer.value("tx_bytes", "0"), "0") << peer.dump();
  // The handshakes' counters on /metrics, which promtool accepts.
  const std::string metrics = std::string("curl -sf http://") + kMetrics + "/metrics";
  const std::string m = c.sh(*tartan->ns, metrics).output;
  EXPECT_NE(m.find("\ntartan_wg_handshakes_completed_total "), std::string::npos) << m;
  EXPECT_EQ(m.find("\ntartan_wg_handshakes_completed_total 0\n"), std::string::npos) << m;
  EXPECT_NE(m.find("\ntartan_wg_handshake_rejected_total{reason=\"bad_mac1\"} "),
            std::string::npos);
  const auto lint = c.sh(*tartan->ns, metrics + " | promtool check metrics");
  EXPECT_EQ(lint.exit_code, 0) << lint.output;
  // flannel's MTU for the pods: the underlay's less WireGuard's 80.
  EXPECT_NE(read_file(tartan->dir + "/subnet.env").find("FLANNEL_MTU=1420"), std::string::npos);

  tartan->tartand->signal(SIGTERM);
  ASSERT_TRUE(tartan->tartand->wait(30s).has_value());
  c.start_tartand(*tartan);
  c.learn(*tartan, *go);
  // wireguard-go still holds the old session; tartand, with none, makes a
  // new one.
  ASSERT_TRUE(path_up(c, *go, *tartan)) << c.sh(*go->ns, "wg show").output;
  EXPECT_TRUE(all_replied(ping(c, *go, *tartan)));
  EXPECT_TRUE(all_replied(ping(c, *tartan, *go)));
}

TEST_F(TartanAndWireguardGo, TcpBulkBothWays) {
  ASSERT_TRUE(path_up(c, *tartan, *go));
  tcp_transfer(c, *tartan, *go, 20 << 20);
  tcp_transfer(c, *go, *tartan, 20 << 20);
}

TEST_F(TartanRekeyingEveryTwoSeconds, PodsPingBothWaysAcrossSeveralRekeysTartandInitiates) {
  // The first packets are the tartan pod's: wireguard-go, which sends
  // nothing before, only answers, so tartand initiates this session and,
  // the initiator being the one that rekeys, every one after it.
  ASSERT_TRUE(path_up(c, *tartan, *go)) << c.sh(*go->ns, "wg show").output;
  const uint64_t handshakes = event_count(c, *tartan, "wg_handshakes");
  const uint64_t go_handshake = latest_handshake(c, *go);
  const uint64_t no_session = drop_count(c, *tartan, "wg_no_session");
  const uint64_t expired = drop_count(c, *tartan, "wg_key_expired");

  // 12 s of pings each way, past the reject time: only keypairs replaced
  // in time carry them.
  const auto pinger = [&](ClusterNode& from, ClusterNode& to) {
    return std::make_unique<Process>(
        from.pod->exec({"ping", "-c", "60", "-i", "0.2", "-W", "1", to.pod_ip.str()}));
  };
  auto from_tartan = pinger(*tartan, *go);
  auto from_go = pinger(*go, *tartan);
  ASSERT_TRUE(from_tartan->wait(30s).has_value());
  ASSERT_TRUE(from_go->wait(30s).has_value());
  // A loaded host may lose an echo or two on its own; a rekey that lost
  // packets would lose them at every rekey.
  EXPECT_LE(unanswered(from_tartan->output()), 2) << from_tartan->output();
  EXPECT_LE(unanswered(from_go->output()), 2) << from_go->output();
  EXPECT_EQ(drop_count(c, *tartan, "wg_no_session"), no_session);
  EXPECT_EQ(drop_count(c, *tartan, "wg_key_expired"), expired);

  // Each rekey is one handshake response reaching tartand: five or six in
  // 12 s, three at the least.
  EXPECT_GE(event_count(c, *tartan, "wg_handshakes"), handshakes + 3);
  EXPECT_GT(latest_handshake(c, *go), go_handshake) << c.sh(*go->ns, "wg show").output;
}

TEST_F(TartanAndWireguardGo, APeersNewKeyInItsAnnotationIsFollowedAndItsOldSessionRefused) {
  ASSERT_TRUE(path_up(c, *tartan, *go)) << c.sh(*go->ns, "wg show").output;
  // A transport message of the session under wireguard-go's old key,
  // taken off the underlay as anyone on it could. Sent again now, the
  // session knows it (and refuses it as a replay).
  const std::string frame = tartan->dir + "/old-session.frame";
  Process capture(c.underlay().exec(
      {kPython, e2e_tool("wg_transport.py"), "capture", "s2", go->public_ip.str(), frame}));
  ASSERT_TRUE(eventually([&] { return capture.output().find("ready") != std::string::npos; }, 20s))
      << capture.output();
  EXPECT_TRUE(all_replied(ping(c, *go, *tartan)));
  ASSERT_EQ(capture.wait(30s), 0) << capture.output();
  const std::string resend = python("wg_transport.py", "send s2 " + frame);
  const uint64_t replayed = drop_count(c, *tartan, "wg_replayed");
  c.sh(c.underlay(), resend);
  ASSERT_TRUE(
      eventually([&] { return drop_count(c, *tartan, "wg_replayed") == replayed + 1; }, 10s));

  // The node's new key, then its Node's backend-data announcing it.
  const std::string old_key = go->wg_public_key;
  c.change_wireguard_key(*go);
  ASSERT_NE(go->wg_public_key, old_key);
  c.learn(*tartan, *go);
  ASSERT_TRUE(path_up(c, *go, *tartan)) << c.sh(*go->ns, "wg show").output;
  EXPECT_TRUE(all_replied(ping(c, *go, *tartan)));
  EXPECT_TRUE(all_replied(ping(c, *tartan, *go)));

  // The old key's keypairs are gone (not merely replaced, which would
  // keep the last as `previous`): the old message names none.
  const uint64_t unknown = drop_count(c, *tartan, "wg_unknown_index");
  c.sh(c.underlay(), resend);
  EXPECT_TRUE(
      eventually([&] { return drop_count(c, *tartan, "wg_unknown_index") == unknown + 1; }, 10s));
  EXPECT_EQ(drop_count(c, *tartan, "wg_replayed"), replayed + 1);
}

}  // namespace
}  // namespace tartan::testing
