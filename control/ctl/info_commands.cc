// tartanctl health, config, lease, routes, stats.
#include <array>
#include <csignal>
#include <cstdio>
#include <optional>
#include <thread>

#include "control/ctl/client.h"
#include "engine/observe/shown_peers.h"
#include "tartan/v1/config.grpc.pb.h"
#include "tartan/v1/health.grpc.pb.h"
#include "tartan/v1/lease.grpc.pb.h"
#include "tartan/v1/route.grpc.pb.h"
#include "tartan/v1/stats.grpc.pb.h"

namespace tartan::ctl {
namespace {

int health(const GlobalOptions& g) {
  v1::HealthCheckResponse resp;
  auto ctx = call_context(g);
  if (grpc::Status s = v1::Health::NewStub(connect(g))->Check(ctx.get(), {}, &resp); !s.ok())
    return report(s, g);
  if (!print_structured(resp, g.output)) {
    std::printf("tartand %s: %s (up %llus)\n", resp.version().c_str(),
                resp.ready() ? "ready" : "NOT READY",
                static_cast<unsigned long long>(resp.uptime_seconds()));
    std::vector<std::vector<std::string>> rows{{"CONDITION", "OK", "MESSAGE"}};
    for (const auto& c : resp.conditions())
      rows.push_back({c.name(), c.ok() ? "yes" : "no", c.message()});
    print_table(rows);
  }
  return resp.ready() ? kExitOk : kExitFailed;
}

int config(const GlobalOptions& g) {
  v1::GetConfigResponse resp;
  auto ctx = call_context(g);
  if (grpc::Status s = v1::Config::NewStub(connect(g))->GetConfig(ctx.get(), {}, &resp); !s.ok())
    return report(s, g);
  if (g.output == Output::kJson) {
    std::printf("%s", to_json(resp).c_str());
  } else {
    std::printf("# source: %s\n%s", resp.source().c_str(), resp.yaml().c_str());
  }
  return kExitOk;
}

int remote_leases(const GlobalOptions& g) {
  auto stub = v1::Leases::NewStub(connect(g));
  auto ctx = call_context(g);
  v1::ListRemoteLeasesResponse resp;
  if (grpc::Status s = stub->ListRemoteLeases(ctx.get(), {}, &resp); !s.ok()) return report(s, g);
  if (print_structured(resp, g.output)) return kExitOk;
  // Dual stack: each lease's IPv6 side too (a node may be routed for one
  // family only).
  const bool ipv6 = std::any_of(resp.leases().begin(), resp.leases().end(),
                                [](const v1::RemoteLease& l) { return !l.pod_cidr_v6().empty(); });
  std::vector<std::vector<std::string>> rows{
      {"NODE", "POD-CIDR", "PUBLIC-IP", "BACKEND", "VTEP-MAC"}};
  if (ipv6) rows[0].insert(rows[0].end(), {"POD-CIDR-V6", "PUBLIC-IPV6", "VTEP-MAC-V6"});
  for (const auto& l : resp.leases()) {
    rows.push_back({l.node_name(), or_none(l.pod_cidr()), or_none(l.public_ip()), l.backend(),
                    or_none(l.vtep_mac())});
    if (ipv6) {
      rows.back().insert(rows.back().end(), {or_none(l.pod_cidr_v6()), or_none(l.public_ipv6()),
                                             or_none(l.vtep_mac_v6())});
    }
  }
  print_table(rows);
  return kExitOk;
}

// The local lease, given `set_to` first when there is one: one podCIDR per
// family, each sent in its family's field (a colon makes it IPv6).
int lease(const GlobalOptions& g, const std::optional<std::vector<std::string>>& set_to) {
  auto stub = v1::Leases::NewStub(connect(g));
  auto ctx = call_context(g);
  v1::LocalLease resp;
  grpc::Status s;
  if (set_to) {
    v1::SetLocalLeaseRequest req;
    for (const std::string& cidr : *set_to) {
      std::string* field =
          cidr.find(':') != std::string::npos ? req.mutable_pod_cidr_v6() : req.mutable_pod_cidr();
      if (!field->empty()) return usage_error("one podCIDR per address family");
      *field = cidr;
    }
    s = stub->SetLocalLease(ctx.get(), req, &resp);
  } else {
    s = stub->GetLocalLease(ctx.get(), {}, &resp);
  }
  if (!s.ok()) return report(s, g);
  if (print_structured(resp, g.output)) return kExitOk;
  // A header and a line per family the network enables, IPv4 first; the
  // settings of both families on the first family's lines.
  std::vector<std::vector<std::string>> rows;
  const auto family = [&](const std::array<const char*, 4>& header, const std::string& cidr,
                          const std::string& network, const std::string& public_ip,
                          const std::string& vtep_mac) {
    const bool first = rows.empty();
    const auto shared = [first](const std::string& s) { return first ? s : ""; };
    rows.push_back({header[0], header[1], shared("MTU"), header[2], shared("BACKEND"),
                    shared("VNI"), shared("PORT"), header[3], shared("SOURCE")});
    rows.push_back({or_none(cidr), network, shared(std::to_string(resp.mtu())), or_none(public_ip),
                    shared(resp.backend()), shared(std::to_string(resp.vni())),
                    shared(std::to_string(resp.port())), or_none(vtep_mac), shared(resp.source())});
    for (size_t r = rows.size() - 2; r < rows.size(); ++r) {
      while (rows[r].back().empty()) rows[r].pop_back();
    }
  };
  if (!resp.network().empty()) {
    family({"POD-CIDR", "NETWORK", "PUBLIC-IP", "VTEP-MAC"}, resp.pod_cidr(), resp.network(),
           resp.public_ip(), resp.vtep_mac());
  }
  if (!resp.ipv6_network().empty()) {
    family({"POD-CIDR-V6", "IPV6-NETWORK", "PUBLIC-IPV6", "VTEP-MAC-V6"}, resp.pod_cidr_v6(),
           resp.ipv6_network(), resp.public_ipv6(), resp.vtep_mac_v6());
  }
  print_table(rows);
  if (!resp.etcd_key().empty()) {
    std::printf("\netcd key and value of this lease (what flanneld nodes read):\n  %s\n  %s\n",
                resp.etcd_key().c_str(), resp.etcd_value().c_str());
  } else {
    std::printf("\nannotations for this node (as flanneld would write them):\n");
    for (const auto& [k, v] : resp.annotations()) std::printf("  %s: '%s'\n", k.c_str(), v.c_str());
  }
  return kExitOk;
}

int routes(const GlobalOptions& g) {
  v1::ListRoutesResponse resp;
  auto ctx = call_context(g);
  if (grpc::Status s = v1::Routes::NewStub(connect(g))->ListRoutes(ctx.get(), {}, &resp); !s.ok())
    return report(s, g);
  if (print_structured(resp, g.output)) return kExitOk;
  std::vector<std::vector<std::string>> rows{
      {"PREFIX", "KIND", "NODE", "PUBLIC-IP", "VTEP-MAC", "VIA", "VIA-MAC", "OUT-PORT"}};
  for (const auto& r : resp.routes()) {
    rows.push_back(
        {r.prefix(), r.kind(), or_none(r.node_name()), or_none(r.public_ip()),
         or_none(r.vtep_mac()), or_none(r.via()),
         r.kind() == "local" ? "<none>" : (r.via_mac().empty() ? "(resolving)" : r.via_mac()),
         or_none(r.out_port())});
  }
  print_table(rows);
  return kExitOk;
}

void print_stats_tables(const v1::StatsSnapshot& s) {
  std::vector<std::vector<std::string>> ports{{"PORT", "ROLE", "LINK", "LINK-DOWNS", "RX-PKTS",
                                               "RX-BYTES", "TX-PKTS", "TX-BYTES", "HW-MISSED",
                                               "HW-RX-ERR", "HW-TX-ERR"}};
  for (const auto& p : s.ports()) {
    ports.push_back({p.name(), p.role(), p.link_up() ? "up" : "down",
                     std::to_string(p.link_downs()), std::to_string(p.rx_packets()),
                     std::to_string(p.rx_bytes()), std::to_string(p.tx_packets()),
                     std::to_string(p.tx_bytes()), std::to_string(p.hw_rx_missed()),
                     std::to_string(p.hw_rx_errors()), std::to_string(p.hw_tx_errors())});
  }
  print_table(ports);
  std::printf("\n");
  std::vector<std::vector<std::string>> workers{
      {"WORKER-LCORE", "LOOPS", "BUSY-LOOPS", "PACKETS", "CYCLES/PKT"}};
  for (const auto& w : s.workers()) {
    workers.push_back({std::to_string(w.lcore()), std::to_string(w.loops()),
                       std::to_string(w.busy_loops()), std::to_string(w.packets()),
                       w.packets() ? std::to_string(w.busy_cycles() / w.packets()) : "-"});
  }
  print_table(workers);
  std::printf("\n");
  std::vector<std::vector<std::string>> drops{{"DROP-REASON", "PACKETS", "MEANING"}};
  for (const auto& d : s.drops())
    drops.push_back({d.reason(), std::to_string(d.packets()), d.help()});
  print_table(drops);
  std::printf("\n");
  const auto& e = s.events();
  print_table({{"ARP-REPLIES", "ARP-REQUESTS", "ARP-LEARNED", "ARP-WAIT", "ARP-RELEASED",
                "ARP-HELD", "ICMP-ERRORS", "TO-EXCEPTION", "REASSEMBLED", "FRAGMENTS-HELD"},
               {std::to_string(e.arp_replies()), std::to_string(e.arp_requests_sent()),
                std::to_string(e.arp_learned()), std::to_string(e.arp_wait()),
                std::to_string(e.arp_released()), std::to_string(e.arp_held_now()),
                std::to_string(e.icmp_errors()), std::to_string(e.to_exception()),
                std::to_string(e.reassembled()), std::to_string(e.fragments_held_now())}});
  std::printf("\n");
  print_table({{"ND-SOLICITS-SENT", "ND-SOLICITS-ANSWERED", "ND-ADVERTS-RECEIVED", "ND-LEARNED"},
               {std::to_string(e.nd_solicits_sent()), std::to_string(e.nd_solicits_answered()),
                std::to_string(e.nd_adverts_received()), std::to_string(e.nd_learned())}});
  if (s.peers_size() > 0) {
    std::printf("\n");
    std::vector<std::vector<std::string>> peers{
        {"NODE-PUBLIC-IP", "ENCAP-PKTS", "ENCAP-BYTES", "DECAP-PKTS", "DECAP-BYTES"}};
    const auto row = [&peers](const std::string& name, const v1::PeerStats& p) {
      peers.push_back({name, std::to_string(p.encap_packets()), std::to_string(p.encap_bytes()),
                       std::to_string(p.decap_packets()), std::to_string(p.decap_bytes())});
    };
    for (const auto& p : s.peers()) row(p.public_ip(), p);
    if (s.other_peer_count() > 0)
      row("other (" + std::to_string(s.other_peer_count()) + " nodes)", s.other_peers());
    print_table(peers);
  }
  if (s.has_wireguard()) {
    const auto& w = s.wireguard();
    std::printf("\n");
    print_table(
        {{"WG-INITIATIONS", "WG-RESPONSES", "WG-COMPLETED", "WG-COOKIE-REPLIES",
          "WG-ATTEMPTS-EXPIRED", "WG-KEEPALIVES-SENT", "WG-SEND-FAILURES", "WG-BAD-PEER-KEYS"},
         {std::to_string(w.initiations_sent()), std::to_string(w.responses_sent()),
          std::to_string(w.handshakes_completed()), std::to_string(w.cookie_replies()),
          std::to_string(w.attempts_expired()), std::to_string(w.keepalives_sent()),
          std::to_string(w.send_failures()), std::to_string(w.bad_peer_keys())}});
    std::printf("\n");
    std::vector<std::vector<std::string>> rejected{{"WG-REJECT-REASON", "MESSAGES"}};
    for (const auto& r : w.rejected())
      rejected.push_back({r.reason(), std::to_string(r.messages())});
    print_table(rejected);
  }
}

// "500ms", "2s", "1m" or plain seconds, into milliseconds; 0 if malformed.
uint32_t parse_interval(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  const std::string unit = end ? end : "";
  double ms = unit == "ms"                    ? v
              : unit == "m"                   ? v * 60000
              : (unit == "s" || unit.empty()) ? v * 1000
                                              : -1;
  return ms >= 100 && ms <= 3600000 ? static_cast<uint32_t>(ms) : 0;
}

volatile std::sig_atomic_t g_interrupted = 0;

// One interval of --watch: only the counters that moved, one aligned row
// each, so an interval fits a terminal. Walks the snapshot's fields, so a
// counter added to the API shows here without a change. Gauges (`*_now`),
// states and ids (bool, uint32) are left to the first, full print.
void print_stats_changes(const v1::StatsSnapshot& s, const std::string& interval) {
  using google::protobuf::FieldDescriptor;
  std::vector<std::vector<std::string>> rows{{"WHAT", "COUNTER", "CHANGE"}};
  auto counters = [&rows](const google::protobuf::Message& m, const std::string& what) {
    const auto* reflection = m.GetReflection();
    const auto* descriptor = m.GetDescriptor();
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const FieldDescriptor* f = descriptor->field(i);
      if (f->cpp_type() != FieldDescriptor::CPPTYPE_UINT64 || f->is_repeated() ||
          f->name().ends_with("_now") || f->name() == "timestamp_ns")
        continue;
      if (const uint64_t v = reflection->GetUInt64(m, f); v != 0)
        rows.push_back({what, f->name(), "+" + std::to_string(v)});
    }
  };
  for (const auto& p : s.ports()) counters(p, "port " + p.name());
  for (const auto& w : s.workers()) counters(w, "worker " + std::to_string(w.lcore()));
  for (const auto& d : s.drops()) {
    if (d.packets() != 0) rows.push_back({"drop", d.reason(), "+" + std::to_string(d.packets())});
  }
  counters(s.events(), "events");
  for (const auto& p : s.peers()) counters(p, "node " + p.public_ip());
  if (s.other_peer_count() > 0)
    counters(s.other_peers(), "other " + std::to_string(s.other_peer_count()) + " nodes");
  counters(s.wireguard(), "wireguard");
  for (const auto& r : s.wireguard().rejected()) {
    if (r.messages() != 0)
      rows.push_back({"wg-reject", r.reason(), "+" + std::to_string(r.messages())});
  }
  std::printf("--- last %s ---\n", interval.c_str());
  if (rows.size() == 1) {
    std::printf("(no change)\n");
  } else {
    print_table(rows);
  }
}

int stats(const GlobalOptions& g, const std::string& watch, uint32_t max_peers) {
  auto stub = v1::Stats::NewStub(connect(g));
  if (watch.empty()) {
    v1::GetStatsRequest req;
    req.set_max_peers(max_peers);
    v1::StatsSnapshot resp;
    auto ctx = call_context(g);
    if (grpc::Status s = stub->GetStats(ctx.get(), req, &resp); !s.ok()) return report(s, g);
    if (!print_structured(resp, g.output)) print_stats_tables(resp);
    return kExitOk;
  }
  v1::StreamStatsRequest req;
  req.set_interval_ms(parse_interval(watch));
  req.set_max_peers(max_peers);
  auto ctx = call_context(g, true);
  std::signal(SIGINT, [](int) { g_interrupted = 1; });
  auto stream = stub->StreamStats(ctx.get(), req);
  v1::StatsSnapshot snap;
  bool first = true;
  while (!g_interrupted && stream->Read(&snap)) {
    if (!print_structured(snap, g.output)) {
      if (first) {
        std::printf("--- totals ---\n");
        print_stats_tables(snap);
      } else {
        print_stats_changes(snap, watch);
      }
      std::printf("\n");
    }
    std::fflush(stdout);
    first = false;
  }
  if (g_interrupted) return kExitOk;
  const grpc::Status s = stream->Finish();
  return s.ok() ? kExitOk : report(s, g);
}

}  // namespace

void add_info_commands(CLI::App& app, const GlobalOptions& g, Action& run) {
  // What the parser fills in; the callbacks keep it alive.
  struct Values {
    std::vector<std::string> pod_cidrs;
    std::string watch;
    uint32_t max_peers = kDefaultShownPeers;
  };
  auto v = std::make_shared<Values>();
  CLI::App* health_cmd =
      app.add_subcommand("health", "liveness and readiness, condition by condition");
  health_cmd->footer("Exits 0 when tartand is ready, 1 when it is not (or cannot be reached).");
  health_cmd->callback([&g, &run] { run = [&g] { return health(g); }; });
  app.add_subcommand("config", "the effective config tartand runs with (YAML)")
      ->callback([&g, &run] { run = [&g] { return config(g); }; });

  CLI::App* lease_cmd =
      app.add_subcommand("lease",
                         "this node's lease: podCIDR, MTU, VtepMAC, public IP, backend, and the\n"
                         "annotations a kernel-flannel node needs to reach us (with\n"
                         "lease.source etcd: our key and value in etcd)");
  lease_cmd->require_subcommand(0, 1);
  CLI::App* set_cmd =
      lease_cmd->add_subcommand("set", "give this node its lease (lease.source: grpc)");
  set_cmd
      ->add_option("POD_CIDR", v->pod_cidrs,
                   "one per address family: 10.244.5.0/24, and with IPv6 fd00:10:244:5::/64")
      ->required()
      ->expected(1, 2);
  set_cmd->callback([&g, &run, v] { run = [&g, v] { return lease(g, v->pod_cidrs); }; });
  lease_cmd->add_subcommand("remote", "the remote leases the data plane holds")
      ->callback([&g, &run] { run = [&g] { return remote_leases(g); }; });
  lease_cmd->callback([&g, &run, lease_cmd] {
    if (lease_cmd->get_subcommands().empty()) run = [&g] { return lease(g, std::nullopt); };
  });

  app.add_subcommand("routes", "what the data plane's forwarding tables hold right now")
      ->callback([&g, &run] { run = [&g] { return routes(g); }; });

  CLI::App* stats_cmd = app.add_subcommand(
      "stats", "port, worker, drop-reason, event and per-node counters, summed over workers");
  stats_cmd
      ->add_option("--watch", v->watch,
                   "print the totals, then every INTERVAL (1s, 500ms, 1m) the counters that "
                   "changed, until interrupted")
      ->type_name("INTERVAL")
      ->check(CLI::Validator(
          [](const std::string& text) {
            return parse_interval(text)
                       ? std::string()
                       : "expected an interval of 100ms..1h (e.g. 1s), got '" + text + "'";
          },
          "INTERVAL"));
  stats_cmd
      ->add_option("--peers", v->max_peers,
                   "show the N busiest nodes' counters (packets both ways) and the rest summed "
                   "as one 'other' row; 0 shows every node")
      ->type_name("N")
      ->default_val(kDefaultShownPeers);
  stats_cmd->callback(
      [&g, &run, v] { run = [&g, v] { return stats(g, v->watch, v->max_peers); }; });
}

}  // namespace tartan::ctl
