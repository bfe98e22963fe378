#include "control/http/metrics_endpoint.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "control/wireguard/handshake_counter_fields.h"
#include "engine/observe/busiest_peers.h"
#include "engine/observe/stats_fields.h"
#include "version.h"

namespace tartan {
namespace {

// Label values escape backslash, double quote and newline; help text
// backslash and newline (the 0.0.4 format).
std::string escape(const std::string& text, bool quote) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

using Labels = std::vector<std::pair<const char*, std::string>>;

class Writer {
 public:
  // One metric family's HELP and TYPE lines.
  void family(const std::string& name, const std::string& help, StatKind kind) {
    out_ += "# HELP " + name + " " + escape(help, false) + "\n";
    out_ += "# TYPE " + name + (kind == StatKind::kGauge ? " gauge\n" : " counter\n");
  }
  void sample(const std::string& name, const Labels& labels, uint64_t value) {
    char v[24];
    std::snprintf(v, sizeof v, "%" PRIu64, value);
    line(name, labels, v);
  }
  // `decimals`: ms for timestamps; more for round trips of microseconds.
  void sample(const std::string& name, const Labels& labels, double value, int decimals = 3) {
    char v[40];
    std::snprintf(v, sizeof v, "%.*f", decimals, value);
    line(name, labels, v);
  }
  std::string take() { return std::move(out_); }

 private:
  void line(const std::string& name, const Labels& labels, const char* value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        out_ += (i ? "," : "") + std::string(labels[i].first) + "=\"" +
                escape(labels[i].second, true) + "\"";
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  std::string out_;
};

// tartan_<prefix><name>[_total]: counters end in _total, gauges do not.
template <class Record>
std::string metric_name(const char* prefix, const StatField<Record>& f) {
  return std::string("tartan_") + prefix + f.name + (f.kind == StatKind::kCounter ? "_total" : "");
}

// One family per field of `fields`, one sample per (labels, record).
template <class Record>
void write_table(Writer& w, const char* prefix, std::span<const StatField<Record>> fields,
                 const std::vector<std::pair<Labels, const Record*>>& rows) {
  for (const StatField<Record>& f : fields) {
    const std::string name = metric_name(prefix, f);
    w.family(name, f.help, f.kind);
    for (const auto& [labels, record] : rows) w.sample(name, labels, record->*f.field);
  }
}

void write_ports(Writer& w, const StatsSnapshot& s) {
  std::vector<std::pair<Labels, const PortStats*>> rows;
  for (const PortStats& p : s.ports) rows.push_back({{{"port", p.name}, {"role", p.role}}, &p});
  write_table(w, "port_", port_stat_fields(), rows);
  w.family("tartan_port_link_up", "1 while the port's link is up (memif, vhost: a peer is there)",
           StatKind::kGauge);
  for (const auto& [labels, p] : rows)
    w.sample("tartan_port_link_up", labels, uint64_t{p->link_up});
}

void write_workers(Writer& w, const StatsSnapshot& s) {
  std::vector<std::pair<Labels, const WorkerStats*>> rows;
  for (size_t i = 0; i < s.workers.size(); ++i) {
    rows.push_back({{{"worker", std::to_string(i)}, {"lcore", std::to_string(s.workers[i].lcore)}},
                    &s.workers[i]});
  }
  write_table(w, "worker_", worker_stat_fields(), rows);
  w.family("tartan_tsc_hertz", "TSC ticks per second: busy cycles over this are busy seconds",
           StatKind::kGauge);
  w.sample("tartan_tsc_hertz", {}, s.tsc_hz);
}

void write_drops(Writer& w, const StatsSnapshot& s) {
  w.family("tartan_drops_total",
           "packets dropped, by reason (tartanctl stats and the Stats API describe each)",
           StatKind::kCounter);
  for (size_t r = 0; r < kNumDropReasons; ++r) {
    w.sample("tartan_drops_total", {{"reason", drop_reason_name(static_cast<DropReason>(r))}},
             s.drops[r]);
  }
}

// The busiest `max_series` peers by their own series, the rest summed.
void write_peers(Writer& w, const StatsSnapshot& s, const ControlPlaneGauges& c,
                 size_t max_series) {
  const BusiestPeers peers = busiest_peers(s.peers, max_series);
  std::vector<std::pair<Labels, const PeerStats*>> rows;
  for (const PeerStats* p : peers.shown) {
    const std::string address = p->address();
    const auto node = c.peer_nodes.find(address);
    rows.push_back(
        {{{"node", node == c.peer_nodes.end() ? "" : node->second}, {"public_ip", address}}, p});
  }
  if (peers.rest_count > 0) rows.push_back({{{"node", "other"}, {"public_ip", ""}}, &peers.rest});
  write_table(w, "peer_", peer_stat_fields(), rows);
  w.family("tartan_peers", "remote nodes the engine has tunnel counters for", StatKind::kGauge);
  w.sample("tartan_peers", {}, uint64_t{s.peers.size()});
}

// Every node by state; the unreachable first, then by name, each with its
// own gauges up to `max_series` of them.
void write_probes(Writer& w, const std::vector<ProbeView>& probes, size_t max_series) {
  using State = ProbeView::State;
  w.family("tartan_probe_nodes", "routed nodes by tunnel probe state", StatKind::kGauge);
  for (State st : {State::kPending, State::kReachable, State::kUnreachable}) {
    uint64_t n = 0;
    for (const ProbeView& p : probes) n += p.state == st;
    w.sample("tartan_probe_nodes", {{"state", probe_state_name(st)}}, n);
  }
  std::vector<const ProbeView*> order;
  for (const ProbeView& p : probes) {
    if (p.state != State::kPending) order.push_back(&p);
  }
  const size_t shown = std::min(max_series, order.size());
  std::partial_sort(order.begin(), order.begin() + shown, order.end(),
                    [](const ProbeView* a, const ProbeView* b) {
                      const bool ua = a->state == State::kUnreachable;
                      const bool ub = b->state == State::kUnreachable;
                      if (ua != ub) return ua;
                      return a->node < b->node;
                    });
  order.resize(shown);
  const auto labels = [](const ProbeView* p) {
    return Labels{{"node", p->node}, {"target", p->target.str()}};
  };
  w.family("tartan_peer_probe_reachable",
           "1 while the node's last tunnel probe was answered, 0 once one is lost",
           StatKind::kGauge);
  for (const ProbeView* p : order)
    w.sample("tartan_peer_probe_reachable", labels(p), uint64_t{p->state == State::kReachable});
  w.family("tartan_peer_probe_rtt_seconds", "round trip of the node's last answered tunnel probe",
           StatKind::kGauge);
  for (const ProbeView* p : order) {
    if (p->received != 0)
      w.sample("tartan_peer_probe_rtt_seconds", labels(p),
               static_cast<double>(p->last_rtt_ns) / 1e9, 9);
  }
  w.family("tartan_peer_probe_lost", "tunnel probes lost among the node's last 20 answered or lost",
           StatKind::kGauge);
  for (const ProbeView* p : order) w.sample("tartan_peer_probe_lost", labels(p), uint64_t{p->lost});
}

// The handshake side's counters (tartan_wg_<name>_total) and its
// refusals by reason.
void write_wireguard(Writer& w, const WireguardHandshakeCounters& c) {
  std::vector<std::pair<Labels, const WireguardHandshakeCounters*>> rows{{{}, &c}};
  write_table(w, "wg_", handshake_counter_fields(), rows);
  w.family("tartan_wg_handshake_rejected_total", "wireguard handshake messages refused, by reason",
           StatKind::kCounter);
  for (size_t r = 0; r < c.rejected.size(); ++r) {
    w.sample("tartan_wg_handshake_rejected_total",
             {{"reason", std::string(wireguard::reject_name(static_cast<wireguard::Reject>(r)))}},
             c.rejected[r]);
  }
}

void write_control(Writer& w, const ControlPlaneGauges& c) {
  w.family("tartan_build_info", "tartand's version", StatKind::kGauge);
  w.sample("tartan_build_info", {{"version", kTartanVersion}}, uint64_t{1});
  w.family("tartan_nodes", "nodes in the node mirror (this one included)", StatKind::kGauge);
  w.sample("tartan_nodes", {}, uint64_t{c.nodes});
  w.family("tartan_routes", "remote nodes' podCIDRs routed in the engine", StatKind::kGauge);
  w.sample("tartan_routes", {}, uint64_t{c.routed_nodes});
  w.family("tartan_lease_acquired", "1 while this node holds its podCIDR lease", StatKind::kGauge);
  w.sample("tartan_lease_acquired", {}, uint64_t{c.lease.has_value()});
  if (c.lease) {
    w.family("tartan_lease_info", "the lease held: podCIDR and where it came from",
             StatKind::kGauge);
    // Each family's podCIDR the lease holds (pod_cidr_v6 with IPv6).
    Labels labels;
    if (c.lease->pod_cidr) labels.emplace_back("pod_cidr", c.lease->pod_cidr->str());
    if (c.lease->pod_cidr_v6) labels.emplace_back("pod_cidr_v6", c.lease->pod_cidr_v6->str());
    labels.emplace_back("source", lease_source_name(c.lease->source));
    w.sample("tartan_lease_info", labels, uint64_t{1});
  }
  bool ready = true;
  w.family("tartan_readiness_condition",
           "1 while the readiness condition holds (the source's own: tables_programmed, etcd, "
           "kube_api)",
           StatKind::kGauge);
  for (const ReadinessCondition& rc : c.conditions) {
    w.sample("tartan_readiness_condition", {{"condition", rc.name}}, uint64_t{rc.ok});
    ready = ready && rc.ok;
  }
  w.family("tartan_ready", "1 while every readiness condition holds (as /readyz)",
           StatKind::kGauge);
  w.sample("tartan_ready", {}, uint64_t{ready});
  w.family("tartan_nodes_last_update_timestamp_seconds",
           "when the node mirror last changed or was re-listed (Unix time; 0: never)",
           StatKind::kGauge);
  w.sample("tartan_nodes_last_update_timestamp_seconds", {}, c.last_update_seconds);
}

}  // namespace

std::string metrics_text(const StatsSnapshot& stats, const ControlPlaneGauges& control,
                         size_t max_peer_series) {
  Writer w;
  write_ports(w, stats);
  write_workers(w, stats);
  write_drops(w, stats);
  {
    std::vector<std::pair<Labels, const EventStats*>> rows{{{}, &stats.events}};
    write_table(w, "", event_stat_fields(), rows);
  }
  write_peers(w, stats, control, max_peer_series);
  if (control.probes) write_probes(w, *control.probes, max_peer_series);
  if (control.wireguard) write_wireguard(w, *control.wireguard);
  write_control(w, control);
  return w.take();
}

std::map<std::string, HttpHandler> metrics_routes(const MetricsSources& sources) {
  return {{"/metrics", [sources](const HttpRequest&) {
             ControlPlaneGauges c;
             c.nodes = sources.mirror.footprint().nodes;
             for (const NodeRecord& r : sources.mirror.routed()) {
               ++c.routed_nodes;
               if (r.status.public_ip) c.peer_nodes[r.status.public_ip->str()] = r.spec.name;
               if (r.status.public_ipv6) c.peer_nodes[r.status.public_ipv6->str()] = r.spec.name;
             }
             c.lease = sources.lease.get();
             c.conditions = sources.readiness.conditions();
             c.last_update_seconds = sources.mirror.last_update_seconds();
             if (sources.prober != nullptr) c.probes = sources.prober->all();
             if (sources.wireguard != nullptr) c.wireguard = sources.wireguard->counters();
             return HttpResponse{200, kPrometheusTextType,
                                 metrics_text(sources.engine.stats(), c, sources.max_peer_series)};
           }}};
}

}  // namespace tartan
