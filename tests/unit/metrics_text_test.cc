// /metrics' text: the exposition format's rules (names, HELP/TYPE once per
// family, escaping) and the bound on per-node series. promtool checks the
// real endpoint's output in the e2e suite (tartand_http_test.cc).
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "control/http/metrics_endpoint.h"
#include "control/wireguard/handshake_counter_fields.h"
#include "engine/observe/stats_fields.h"

namespace tartan {
namespace {

PeerStats peer(const char* ip, uint64_t encap, uint64_t decap) {
  PeerStats p;
  p.public_ip = *Ipv4Addr::parse(ip);
  p.encap_packets = encap, p.encap_bytes = encap * 100;
  p.decap_packets = decap, p.decap_bytes = decap * 100;
  return p;
}

StatsSnapshot snapshot() {
  StatsSnapshot s;
  PortStats underlay;
  underlay.name = "underlay", underlay.role = "underlay", underlay.rx_packets = 7;
  underlay.link_up = true;
  s.ports.push_back(underlay);
  s.workers.push_back(WorkerStats{.lcore = 3, .busy_cycles = 9000});
  s.drops[static_cast<size_t>(DropReason::kNoRoute)] = 5;
  s.events.arp_held_now = 2;
  s.peers = {peer("192.0.2.1", 10, 0), peer("192.0.2.2", 500, 1), peer("192.0.2.3", 1, 1),
             peer("192.0.2.4", 0, 40)};
  s.tsc_hz = 2000000000;
  return s;
}

std::vector<std::string> lines_matching(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  }
  return out;
}

TEST(MetricsText, CountersEndInTotalWithTheirLabelsAndGaugesDoNot) {
  const std::string t = metrics_text(snapshot(), {}, 10);
  EXPECT_NE(t.find("# TYPE tartan_port_rx_packets_total counter\n"
                   "tartan_port_rx_packets_total{port=\"underlay\",role=\"underlay\"} 7\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("tartan_worker_busy_cycles_total{worker=\"0\",lcore=\"3\"} 9000\n"),
            std::string::npos);
  EXPECT_NE(t.find("tartan_drops_total{reason=\"no_route\"} 5\n"), std::string::npos);
  EXPECT_NE(t.find("# TYPE tartan_arp_held_now gauge\ntartan_arp_held_now 2\n"), std::string::npos);
  EXPECT_NE(t.find("tartan_port_link_up{port=\"underlay\",role=\"underlay\"} 1\n"),
            std::string::npos);
  EXPECT_NE(t.find("tartan_tsc_hertz 2000000000\n"), std::string::npos);
}

TEST(MetricsText, EveryFieldOfTheSharedTablesAndEveryDropReasonIsThereOnce) {
  const std::string t = metrics_text(snapshot(), {}, 10);
  std::vector<std::string> names;
  const auto add = [&](const char* prefix, const auto& fields) {
    for (const auto& f : fields) {
      names.push_back(std::string("tartan_") + prefix + f.name +
                      (f.kind == StatKind::kCounter ? "_total" : ""));
    }
  };
  add("port_", port_stat_fields());
  add("worker_", worker_stat_fields());
  add("peer_", peer_stat_fields());
  add("", event_stat_fields());
  for (const std::string& n : names) {
    EXPECT_EQ(lines_matching(t, "# TYPE " + n + " ").size(), 1u) << n;
  }
  EXPECT_EQ(lines_matching(t, "tartan_drops_total{").size(), kNumDropReasons);
}

TEST(MetricsText, OnlyTheBusiestPeersGetSeriesAndTheRestAreSummedAsOther) {
  ControlPlaneGauges c;
  c.peer_nodes["192.0.2.2"] = "n2";
  const std::string t = metrics_text(snapshot(), c, 2);
  const auto encap = lines_matching(t, "tartan_peer_encap_packets_total{");
  ASSERT_EQ(encap.size(), 3u) << t;
  EXPECT_EQ(encap[0], "tartan_peer_encap_packets_total{node=\"n2\",public_ip=\"192.0.2.2\"} 500");
  EXPECT_EQ(encap[1], "tartan_peer_encap_packets_total{node=\"\",public_ip=\"192.0.2.4\"} 0");
  // 192.0.2.1 (10 packets) and 192.0.2.3 (2) together.
  EXPECT_EQ(encap[2], "tartan_peer_encap_packets_total{node=\"other\",public_ip=\"\"} 11");
  EXPECT_NE(t.find("tartan_peers 4\n"), std::string::npos);

  const std::string none = metrics_text(snapshot(), c, 0);
  EXPECT_EQ(lines_matching(none, "tartan_peer_decap_packets_total{"),
            std::vector<std::string>{
                "tartan_peer_decap_packets_total{node=\"other\",public_ip=\"\"} 42"});
}

// flannel-v6 peers have no IPv4 public IP: each is its own series, under
// its public IPv6 and node, beside the IPv4 peers.
TEST(MetricsText, Ipv6PeersAreLabelledWithTheirPublicIpv6) {
  StatsSnapshot s = snapshot();
  for (const char* ip6 : {"2001:db8::12", "2001:db8::13"}) {
    PeerStats p;
    p.public_ip6 = *Ipv6Addr::parse(ip6);
    p.decap_packets = 3;
    s.peers.push_back(p);
  }
  ControlPlaneGauges c;
  c.peer_nodes["2001:db8::12"] = "n2";
  const std::string t = metrics_text(s, c, 10);
  const auto decap = lines_matching(t, "tartan_peer_decap_packets_total{node=\"n2\"");
  EXPECT_EQ(decap,
            std::vector<std::string>{
                "tartan_peer_decap_packets_total{node=\"n2\",public_ip=\"2001:db8::12\"} 3"});
  EXPECT_NE(t.find("tartan_peer_decap_packets_total{node=\"\",public_ip=\"2001:db8::13\"} 3\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("tartan_peers 6\n"), std::string::npos);
}

TEST(MetricsText, ControlPlaneGaugesAndEscapedLabelValues) {
  ControlPlaneGauges c;
  c.nodes = 3, c.routed_nodes = 2;
  c.lease = LocalLeaseState{*Ipv4Prefix::parse("10.244.3.0/24"), std::nullopt, LeaseSource::kKube};
  c.conditions = {{"tables_programmed", true, ""}, {"kube_api", false, "watch \"failed\"\n"}};
  c.last_update_seconds = 1700000000.5;
  PortStats odd;
  odd.name = "a\"b\\c";
  StatsSnapshot s;
  s.ports.push_back(odd);
  const std::string t = metrics_text(s, c, 10);
  for (const char* want :
       {"tartan_nodes 3\n", "tartan_routes 2\n", "tartan_lease_acquired 1\n",
        "tartan_lease_info{pod_cidr=\"10.244.3.0/24\",source=\"kube\"} 1\n",
        "tartan_readiness_condition{condition=\"tables_programmed\"} 1\n",
        "tartan_readiness_condition{condition=\"kube_api\"} 0\n", "tartan_ready 0\n",
        "tartan_nodes_last_update_timestamp_seconds 1700000000.500\n",
        "tartan_port_rx_packets_total{port=\"a\\\"b\\\\c\",role=\"\"} 0\n"}) {
    EXPECT_NE(t.find(want), std::string::npos) << want << "\n" << t;
  }
}

TEST(MetricsText, EveryLineIsACommentOrANameLabelsValueSample) {
  const std::string t = metrics_text(snapshot(), {}, 2);
  const std::regex sample(R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [0-9.]+$)");
  const std::regex comment(R"(^# (HELP|TYPE) tartan_[a-z0-9_]+ .+$)");
  std::istringstream in(t);
  for (std::string line; std::getline(in, line);) {
    EXPECT_TRUE(std::regex_match(line, sample) || std::regex_match(line, comment)) << line;
  }
}

}  // namespace
}  // namespace tartan

namespace tartan {
namespace {

ProbeView probe(const char* node, int octet, ProbeView::State state, uint64_t rtt_ns) {
  ProbeView p;
  p.node = node;
  p.target = Ipv4Addr{(10u << 24) | (244u << 16) | (uint32_t(octet) << 8)};
  p.state = state;
  p.last_rtt_ns = rtt_ns;
  p.received = rtt_ns != 0;
  p.lost = state == ProbeView::State::kUnreachable ? 3 : 0;
  return p;
}

TEST(MetricsText, TunnelProbesCountEveryNodeAndGiveTheUnreachableTheirSeriesFirst) {
  using State = ProbeView::State;
  ControlPlaneGauges c;
  c.probes = std::vector<ProbeView>{
      probe("a", 1, State::kReachable, 250000),  probe("b", 2, State::kReachable, 1000),
      probe("z", 3, State::kUnreachable, 90000), probe("y", 4, State::kUnreachable, 0),
      probe("p", 5, State::kPending, 0),
  };
  const std::string t = metrics_text(snapshot(), c, 3);
  EXPECT_NE(t.find("tartan_probe_nodes{state=\"pending\"} 1\n"
                   "tartan_probe_nodes{state=\"reachable\"} 2\n"
                   "tartan_probe_nodes{state=\"unreachable\"} 2\n"),
            std::string::npos)
      << t;
  // Three series: both unreachable nodes, then the first reachable by name.
  EXPECT_EQ(lines_matching(t, "tartan_peer_probe_reachable{"),
            (std::vector<std::string>{
                "tartan_peer_probe_reachable{node=\"y\",target=\"10.244.4.0\"} 0",
                "tartan_peer_probe_reachable{node=\"z\",target=\"10.244.3.0\"} 0",
                "tartan_peer_probe_reachable{node=\"a\",target=\"10.244.1.0\"} 1"}));
  // A round trip only where there was an answer, in seconds to the ns.
  EXPECT_EQ(lines_matching(t, "tartan_peer_probe_rtt_seconds{"),
            (std::vector<std::string>{
                "tartan_peer_probe_rtt_seconds{node=\"z\",target=\"10.244.3.0\"} 0.000090000",
                "tartan_peer_probe_rtt_seconds{node=\"a\",target=\"10.244.1.0\"} 0.000250000"}));
  EXPECT_EQ(lines_matching(t, "tartan_peer_probe_lost{").size(), 3u);
  // Probes off: no probe families at all.
  EXPECT_EQ(metrics_text(snapshot(), {}, 3).find("probe_nodes"), std::string::npos);
}

TEST(MetricsText, WireguardHandshakeCountersAndRefusalsByReasonOnTheWireguardBackendOnly) {
  ControlPlaneGauges c;
  c.wireguard = WireguardHandshakeCounters{};
  c.wireguard->initiations_sent = 3;
  c.wireguard->completed = 2;
  c.wireguard->rejected[static_cast<size_t>(wireguard::Reject::kBadMac1)] = 5;
  const std::string t = metrics_text(snapshot(), c, 10);
  EXPECT_NE(t.find("# TYPE tartan_wg_initiations_sent_total counter\n"
                   "tartan_wg_initiations_sent_total 3\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("tartan_wg_handshakes_completed_total 2\n"), std::string::npos);
  EXPECT_NE(t.find("tartan_wg_handshake_rejected_total{reason=\"bad_mac1\"} 5\n"),
            std::string::npos);
  // Every counter of the table, and every reason, zeros included.
  for (const auto& f : handshake_counter_fields())
    EXPECT_NE(t.find(std::string("tartan_wg_") + f.name + "_total "), std::string::npos) << f.name;
  EXPECT_EQ(lines_matching(t, "tartan_wg_handshake_rejected_total{").size(),
            wireguard::kRejectCount);
  EXPECT_EQ(metrics_text(snapshot(), {}, 10).find("tartan_wg_initiations"), std::string::npos);
}

}  // namespace
}  // namespace tartan
