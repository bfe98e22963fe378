// Issue 13's performance figures: how fast and how lean tartand follows a
// Kubernetes cluster as flanneld's kube subnet manager. The cluster is the
// API server double (tests/support/kube_apiserver.h) holding Nodes as
// kubelets write them (managedFields, images, labels, conditions:
// tests/support/kubelet_node.h), in this process.
//
//   sync     A whole tartand in process (engine on ring ports, its worker
//            polling lcore 1, lease.source kube) takes in a LIST of N Nodes:
//            the time from the reflector handing over the complete listing
//            (on_list) to the mirror having applied it, every route in the
//            engine (KubeSourceStatus::list_delivered_at, list_applied_at).
//            For scale, also from the daemon's start to the listing (pages
//            of 500 over HTTP and decoded; the double serves them on the
//            same core).
//   latency  At the first N: one Node's public-ip changed in the double,
//            until a frame the overlay port receives for that node's
//            podCIDR leaves the underlay port to the new address ("live in
//            the workers"), probed every few tens of microseconds.
//   memory   What a Node costs: its JSON as served, what the decoder keeps
//            of it (node_kept_bytes), what the mirror holds
//            (NodeMirror::footprint), and the RSS of the real tartand binary
//            synced with N Nodes against one synced with none.
//   history  The WatchNodes history's bound in bytes (control.watch_history_mb):
//            a node with a 200 KiB annotation changed 30 times, then
//            deleted, through the API (`tartanctl nodes apply`, as issue 13
//            tried it) and through the Kubernetes API, at the default bound
//            and at 1 MiB; the tartand process's RSS.
//
// Run as root (DPDK's EAL): build/perf/tartan-bench-kube
//   [--parts sync,latency,memory,history] [--nodes 5000,20000] [--runs 5]
//   [--samples 1000] [--changes 30]
// It prints Markdown tables: a median with the lowest and highest of the
// runs, and latency percentiles.
#include <sys/prctl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "control/sources/kube/kube_node_source.h"
#include "perf/latency.h"
#include "perf/tartand_process.h"
#include "tartan/v1/node.grpc.pb.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/dpdk_test_env.h"
#include "tests/support/kube_apiserver.h"
#include "tests/support/kubelet_node.h"
#include "tests/support/packets.h"

namespace tartan::perf {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::KubeApiServer;
using testing::KubeObject;

constexpr const char* kPrefix = "flannel.alpha.coreos.com/";
constexpr size_t kKiB = 1024, kMiB = 1024 * 1024;

struct Options {
  std::set<std::string> parts{"sync", "latency", "memory", "history"};
  std::vector<uint32_t> nodes{5000, 20000};
  int runs = 5;
  int samples = 1000;
  int changes = 30;
  std::string tartand, tartanctl;  // next to this binary's build directory
};

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// "median (lowest-highest)" of a few runs.
std::string spread(const std::vector<double>& v, int decimals = 0) {
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.*f (%.*f-%.*f)", decimals, median(v), decimals, *lo, decimals,
                *hi);
  return buf;
}

double mib(size_t bytes) {
  return static_cast<double>(bytes) / kMiB;
}

// Remote node k (from 0): node-<k+2>, podCIDR number k+2 of 10.0.0.0/8,
// public IP 172.16.0.0 + k+2 (moved: one /8 further on, 173.16.0.0 + k+2),
// VtepMAC 0e:00:00:00 then k+2. Node 1 is the tartand under test.
std::string node_name(uint32_t k) {
  return "node-" + std::to_string(k + 2);
}
Ipv4Prefix pod_cidr(uint32_t k) {
  return {Ipv4Addr{(10u << 24) + ((k + 2) << 8)}, 24};
}
Ipv4Addr public_ip(uint32_t k, bool moved) {
  return Ipv4Addr{((moved ? 173u : 172u) << 24) | (16u << 16) | (k + 2)};
}

KubeObject kubelet_object(const testing::KubeletNodeSpec& spec) {
  return KubeObject::parse(testing::kubelet_node(spec).dump());
}

KubeObject own_node() {
  return kubelet_object({.name = "node-1",
                         .pod_cidr = "10.0.1.0/24",
                         .internal_ip = "192.0.2.19",
                         .flannel_annotations = false});
}

// The double with our Node and `nodes` remote ones.
struct Cluster {
  KubeApiServer api;
  std::vector<bool> moved;  // per remote node: at its second public IP

  Cluster() { api.create_node(own_node()); }
  uint32_t nodes() const { return static_cast<uint32_t>(moved.size()); }
  void grow(uint32_t nodes) {
    for (uint32_t k = this->nodes(); k < nodes; ++k) {
      const MacAddr mac{
          {0x0e, 0, 0, 0, static_cast<uint8_t>((k + 2) >> 8), static_cast<uint8_t>(k + 2)}};
      api.create_node(kubelet_object({.name = node_name(k),
                                      .pod_cidr = pod_cidr(k).str(),
                                      .internal_ip = public_ip(k, false).str(),
                                      .vtep_mac = mac.str()}));
      moved.push_back(false);
    }
  }
};

testing::DaemonOptions kube_daemon(const KubeApiServer& api, uint32_t nodes) {
  testing::DaemonOptions o;
  o.lease_source = "kube";
  o.network = "{Network: 10.0.0.0/8, SubnetLen: 24, Backend: {Type: vxlan}}";
  o.dataplane = "{max_routes: " + std::to_string(nodes + 16) +
                ", static_neighbours: [{ip: 192.0.2.1, mac: '02:00:00:00:00:fe'}]}";
  o.lease_yaml = ", kube: {api_url: '" + api.url() + "', retry_initial_ms: 50, retry_max_ms: 400}";
  return o;
}

KubeNodeSource& source_of(testing::DaemonFixture& fx) {
  return static_cast<KubeNodeSource&>(fx.daemon().source());
}

size_t remote_routes(Engine& engine) {
  const auto routes = engine.routes();
  return static_cast<size_t>(std::count_if(routes.begin(), routes.end(), [](const RouteView& r) {
    return r.kind != NextHopKind::kLocal;
  }));
}

// Waits for the first complete LIST to be in the engine; its status then.
KubeSourceStatus wait_for_sync(testing::DaemonFixture& fx, uint32_t nodes) {
  KubeSourceStatus st;
  const bool synced = testing::eventually(
      [&] {
        st = source_of(fx).status();
        return st.list_applied_at.has_value();
      },
      10min, 1ms);
  if (!synced)
    throw std::runtime_error("no LIST of " + std::to_string(nodes) +
                             " Nodes applied within 10 minutes: " + st.reflector.last_error);
  if (const size_t routed = remote_routes(fx.daemon().engine()); routed != nodes)
    throw std::runtime_error(std::to_string(routed) + " routes for " + std::to_string(nodes) +
                             " Nodes: " + st.last_error);
  return st;
}

// ---- sync ----

struct SyncRun {
  double start_to_list_ms = 0;  // daemon start to the listing delivered
  double apply_ms = 0;          // listing delivered to every route in the engine
  NodeMirror::Footprint footprint;
};

SyncRun sync_once(Cluster& cluster) {
  const auto started = Clock::now();
  testing::DaemonFixture fx(kube_daemon(cluster.api, cluster.nodes()));
  const KubeSourceStatus st = wait_for_sync(fx, cluster.nodes());
  return {ms_between(started, *st.list_delivered_at),
          ms_between(*st.list_delivered_at, *st.list_applied_at), fx.daemon().mirror().footprint()};
}

struct SyncRow {
  uint32_t nodes = 0;
  std::vector<double> apply_ms, start_to_list_ms;
};

SyncRow measure_sync(Cluster& cluster, const Options& o) {
  SyncRow row{cluster.nodes(), {}, {}};
  for (int r = 0; r < o.runs; ++r) {
    const SyncRun run = sync_once(cluster);
    std::fprintf(stderr, "bench-kube: sync %u run %d: apply %.1f ms, start to list %.1f ms\n",
                 row.nodes, r + 1, run.apply_ms, run.start_to_list_ms);
    row.apply_ms.push_back(run.apply_ms);
    row.start_to_list_ms.push_back(run.start_to_list_ms);
  }
  return row;
}

void print_sync(const std::vector<SyncRow>& rows, const Options& o) {
  std::printf("\n## sync: a LIST of N Nodes into the forwarding tables (%d runs each)\n\n", o.runs);
  std::printf(
      "| Nodes | listing delivered -> every route in the engine, ms | "
      "(for scale) daemon start -> listing delivered, ms, the double serving on the "
      "same core |\n| --- | --- | --- |\n");
  for (const SyncRow& r : rows)
    std::printf("| %u | %s | %s |\n", r.nodes, spread(r.apply_ms, 1).c_str(),
                spread(r.start_to_list_ms).c_str());
}

// ---- latency ----

testing::Bytes probe_frame(uint32_t k) {
  testing::UdpSpec s;
  s.src_mac = *MacAddr::parse("02:00:00:00:01:99");
  s.dst_mac = *MacAddr::parse("02:00:00:00:01:01");  // the fixture's overlay port
  s.src_ip = *Ipv4Addr::parse("10.0.1.10");
  s.dst_ip = Ipv4Addr{pod_cidr(k).addr.value + 10};
  return testing::udp_frame(s);
}

// The outer IPv4 destination of a VXLAN frame the underlay port sent.
std::optional<Ipv4Addr> outer_destination(const rte_mbuf* m) {
  const testing::Bytes f = testing::from_mbuf(m);
  if (f.size() < 34) return std::nullopt;
  return Ipv4Addr{uint32_t(f[30]) << 24 | uint32_t(f[31]) << 16 | uint32_t(f[32]) << 8 | f[33]};
}

// Sends one probe frame into the overlay port and waits for the worker to
// send it on: its outer destination, or nullopt when nothing came back
// within 100 ms. One in flight at a time, so a worker descheduled by
// another process on its core never finds a pile of them.
std::optional<Ipv4Addr> probe(testing::DaemonFixture& fx, const testing::Bytes& frame) {
  rte_mbuf* m = testing::to_mbuf(fx.daemon().engine().mempool(), frame);
  if (fx.overlay_port().inject({m}) != 1) {
    rte_pktmbuf_free(m);
    throw std::runtime_error("the overlay port's receive ring is full");
  }
  const auto deadline = Clock::now() + 100ms;
  while (Clock::now() < deadline) {
    std::this_thread::sleep_for(20us);
    const std::vector<rte_mbuf*> out = fx.underlay_port().drain();
    if (out.empty()) continue;
    // A late one from an earlier probe may come first: the last is ours.
    const std::optional<Ipv4Addr> to = outer_destination(out.back());
    testing::free_all(out);
    return to;
  }
  return std::nullopt;
}

struct LatencyResult {
  uint32_t nodes = 0;
  int samples = 0;
  // From the double's PATCH returning (its watch event queued) to the
  // frame; the PATCH itself; both.
  LatencyHistogram from_event, patch, total;
  double probe_us = 0;  // mean time between probe frames: the resolution
};

LatencyResult measure_latency(Cluster& cluster, const Options& o) {
  LatencyResult res;
  res.nodes = cluster.nodes();
  res.samples = o.samples;
  testing::DaemonFixture fx(kube_daemon(cluster.api, res.nodes));
  wait_for_sync(fx, res.nodes);
  if (!testing::eventually([&] { return fx.daemon().readiness().ready(); }, 60s))
    throw std::runtime_error("the daemon did not become ready");
  // Sleeps between probes as short as asked: the control plane shares this
  // core, so the probe must not spin on it.
  prctl(PR_SET_TIMERSLACK, 1UL);
  uint64_t probes = 0;
  Clock::duration probing{};  // PATCH returned -> the frame: probes only
  for (int i = 0; i < o.samples; ++i) {
    const uint32_t k = static_cast<uint32_t>((uint64_t{7919} * i) % res.nodes);
    const bool moved = cluster.moved[k] = !cluster.moved[k];
    const Ipv4Addr to = public_ip(k, moved);
    const testing::Bytes frame = probe_frame(k);
    const auto t0 = Clock::now();
    cluster.api.patch_node(node_name(k), testing::KubePatchType::kMerge,
                           R"({"metadata":{"annotations":{")" + std::string(kPrefix) +
                               R"(public-ip":")" + to.str() + R"("}}})");
    const auto patched = Clock::now();
    for (++probes; probe(fx, frame) != to; ++probes) {
      if (Clock::now() - t0 > 10s)
        throw std::runtime_error(node_name(k) + ": no frame to " + to.str() + " within 10 s");
    }
    const auto live = Clock::now();
    probing += live - patched;
    res.from_event.record(static_cast<uint64_t>((live - patched) / 1ns));
    res.patch.record(static_cast<uint64_t>((patched - t0) / 1ns));
    res.total.record(static_cast<uint64_t>((live - t0) / 1ns));
    std::this_thread::sleep_for(1ms);
  }
  res.probe_us =
      std::chrono::duration<double, std::micro>(probing).count() / static_cast<double>(probes);
  return res;
}

void print_latency(const LatencyResult& r) {
  std::printf(
      "\n## latency: one Node's public-ip changed -> its route live in the worker "
      "(%u Nodes, %d changes)\n\n",
      r.nodes, r.samples);
  std::printf(
      "| interval | p50 us | p99 us | max us | mean us |\n| --- | --- | --- | --- | --- |\n");
  const auto row = [](const char* what, const LatencyHistogram& h) {
    const LatencySummary s = h.summary();
    std::printf("| %s | %.0f | %.0f | %.0f | %.0f |\n", what, s.p50_us, s.p99_us, s.max_us,
                s.avg_us);
  };
  row("watch event queued by the API server (its PATCH returned) -> a frame leaves to the new "
      "address",
      r.from_event);
  row("(the API server double's PATCH itself)", r.patch);
  row("the PATCH called -> a frame leaves to the new address", r.total);
  std::printf("\nProbe frames every %.0f us on average (the resolution).\n", r.probe_us);
}

// ---- memory ----

// What one Node costs the decoder and the mirror, from a sync at this size.
struct NodeCost {
  uint32_t nodes = 0;
  size_t served = 0, kept = 0;  // per Node
  double decode_us = 0;         // per Node
  NodeMirror::Footprint footprint;
};

NodeCost measure_node_cost(Cluster& cluster) {
  NodeCost c;
  c.nodes = cluster.nodes();
  // As served: a Node's compact JSON, as GET and watch events carry it.
  std::vector<std::string> texts;
  for (uint32_t k = 0; k < c.nodes; ++k) texts.push_back(cluster.api.node(node_name(k))->dump());
  const auto keys = annotation_keys("flannel.alpha.coreos.com");
  const NodeDecodeOptions decode = node_decode_options(*keys, "node-1");
  size_t served = 0, kept = 0;
  const auto t0 = Clock::now();
  for (const std::string& text : texts) kept += node_kept_bytes(*decode_node(text, decode));
  c.decode_us = ms_between(t0, Clock::now()) * 1e3 / c.nodes;
  for (const std::string& text : texts) served += text.size();
  c.served = served / c.nodes;
  c.kept = kept / c.nodes;
  c.footprint = sync_once(cluster).footprint;
  return c;
}

// RSS of a tartand synced with the Nodes of `api`.
size_t synced_rss(const Options& o, const KubeApiServer& api) {
  TartandProcess t({.binary = o.tartand,
                    .lease = "{source: kube, kube: {api_url: '" + api.url() +
                             "', retry_initial_ms: 50, retry_max_ms: 400}}",
                    .max_routes = o.nodes.back() + 16});
  std::this_thread::sleep_for(2s);  // the sync's transient buffers freed
  return t.rss_bytes();
}

struct RssRow {
  uint32_t nodes = 0;
  std::vector<double> rss_mib;
};

RssRow measure_rss(const KubeApiServer& api, uint32_t nodes, const Options& o) {
  RssRow row{nodes, {}};
  for (int r = 0; r < o.runs; ++r) {
    row.rss_mib.push_back(mib(synced_rss(o, api)));
    std::fprintf(stderr, "bench-kube: tartand synced with %u Nodes: RSS %.1f MiB\n", nodes,
                 row.rss_mib.back());
  }
  return row;
}

void print_memory(const NodeCost& c, const std::vector<RssRow>& rss, const Options& o) {
  const NodeMirror::Footprint& f = c.footprint;
  std::printf("\n## memory: what a Node costs (%u realistic Nodes)\n\n", c.nodes);
  std::printf("| what | bytes per Node |\n| --- | --- |\n");
  std::printf("| the Node as served (compact JSON) | %zu |\n", c.served);
  std::printf("| kept by the decoder (node_kept_bytes of the KubeNode) | %zu |\n", c.kept);
  std::printf("| the mirror's nodes (footprint().node_bytes / nodes) | %zu |\n",
              f.node_bytes / f.nodes);
  std::printf("| the mirror's WatchNodes history (event_bytes / events, %zu events) | %zu |\n",
              f.events, f.events ? f.event_bytes / f.events : 0);
  std::printf("\nDecoding a Node as served: %.1f us (%.0f ms for the %u).\n", c.decode_us,
              c.decode_us * c.nodes / 1e3, c.nodes);
  std::printf(
      "\ntartand's RSS once synced (the binary, net_null ports, max_routes %u; "
      "%d runs each):\n\n| Nodes | RSS, MiB | growth over none, bytes per Node |\n"
      "| --- | --- | --- |\n",
      o.nodes.back() + 16, o.runs);
  const double none = median(rss.front().rss_mib);
  for (const RssRow& r : rss) {
    std::vector<double> per_node;
    for (double m : r.rss_mib) per_node.push_back((m - none) * kMiB / std::max(r.nodes, 1u));
    std::printf("| %u | %s | %s |\n", r.nodes, spread(r.rss_mib, 1).c_str(),
                r.nodes ? spread(per_node).c_str() : "-");
  }
  if (rss.size() >= 3) {
    const RssRow &a = rss[rss.size() - 2], &b = rss.back();
    std::printf("\nGrowth from %u to %u Nodes: %.0f bytes per Node.\n", a.nodes, b.nodes,
                (median(b.rss_mib) - median(a.rss_mib)) * kMiB / (b.nodes - a.nodes));
  }
}

// ---- history ----

// `bytes` of text, different for each `version`.
std::string filler(size_t bytes, int version) {
  std::string s = "v" + std::to_string(version) + "-";
  s.resize(bytes, static_cast<char>('a' + version % 26));
  return s;
}

// A flannel-annotated Node with one more annotation of `bytes`.
KubeObject big_node(const std::string& annotation_key, size_t bytes, int version) {
  KubeObject n = kubelet_object({.name = "big",
                                 .pod_cidr = "10.255.0.0/24",
                                 .internal_ip = "172.31.0.1",
                                 .vtep_mac = "0e:00:00:00:ff:01"});
  n["metadata"]["annotations"][annotation_key] = filler(bytes, version);
  return n;
}

struct RssSteps {
  size_t before = 0, changed = 0, deleted = 0;
};

size_t settled_rss(const TartandProcess& t) {
  std::this_thread::sleep_for(1s);
  return t.rss_bytes();
}

testing::CommandResult tartanctl(const Options& o, const TartandProcess& t,
                                 std::vector<std::string> args) {
  args.insert(args.begin(), {o.tartanctl, "--socket", t.socket()});
  return testing::run_command(args, 60s);
}

// Through the API: `tartanctl nodes apply -f` of the node, `changes` times.
RssSteps history_through_api(const Options& o, uint32_t bound_mb, size_t bytes,
                             std::string* refusal) {
  TartandProcess t({.binary = o.tartand,
                    .lease = "{source: static, subnet: 10.0.1.0/24}",
                    .watch_history_mb = bound_mb});
  const testing::ScopedTempDir dir("kp-history");
  const std::string manifest = dir.path() + "/big.json";
  RssSteps s;
  s.before = settled_rss(t);
  for (int v = 0; v < o.changes; ++v) {
    testing::write_file(manifest, big_node("example.com/blob", bytes, v).dump());
    const auto r = tartanctl(o, t, {"nodes", "apply", "-f", manifest});
    if (r.exit_code != 0) {
      if (refusal == nullptr) throw std::runtime_error("tartanctl nodes apply: " + r.output);
      *refusal = r.output;
      return s;
    }
  }
  s.changed = settled_rss(t);
  if (const auto r = tartanctl(o, t, {"nodes", "delete", "big"}); r.exit_code != 0)
    throw std::runtime_error("tartanctl nodes delete: " + r.output);
  s.deleted = settled_rss(t);
  return s;
}

// The node's resource version in tartand's mirror; "" when it has none.
std::string mirror_version(v1::Nodes::Stub& stub, const std::string& name) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  v1::GetNodeRequest req;
  req.set_name(name);
  v1::Node node;
  return stub.GetNode(&ctx, req, &node).ok() ? node.resource_version() : "";
}

// Through Kubernetes: the node created, then patched, each version
// applied by tartand before the next is written (none coalesced away).
RssSteps history_through_kube(const Options& o, KubeApiServer& api, uint32_t bound_mb,
                              size_t bytes) {
  TartandProcess t({.binary = o.tartand,
                    .lease = "{source: kube, kube: {api_url: '" + api.url() +
                             "', retry_initial_ms: 50, retry_max_ms: 400}}",
                    .watch_history_mb = bound_mb});
  auto stub = v1::Nodes::NewStub(t.channel());
  // The decoder keeps annotations under the flannel prefix (and tartan.io/):
  // this one is kept, the worst case.
  const std::string key = std::string(kPrefix) + "bench-padding";
  RssSteps s;
  s.before = settled_rss(t);
  std::string seen;
  for (int v = 0; v < o.changes; ++v) {
    if (v == 0) {
      api.create_node(big_node(key, bytes, v));
    } else {
      const nlohmann::json patch = {{"metadata", {{"annotations", {{key, filler(bytes, v)}}}}}};
      api.patch_node("big", testing::KubePatchType::kMerge, patch.dump());
    }
    std::string now;
    if (!testing::eventually(
            [&] { return (now = mirror_version(*stub, "big")) != seen && !now.empty(); }, 30s, 2ms))
      throw std::runtime_error("tartand did not apply version " + std::to_string(v) +
                               " of node 'big'");
    seen = now;
  }
  s.changed = settled_rss(t);
  api.delete_node("big");
  if (!testing::eventually([&] { return mirror_version(*stub, "big").empty(); }, 30s, 2ms))
    throw std::runtime_error("tartand kept node 'big' after its deletion");
  s.deleted = settled_rss(t);
  return s;
}

void print_history_row(const char* path, uint32_t bound_mb, const std::vector<RssSteps>& runs) {
  std::vector<double> changed, deleted, before;
  for (const RssSteps& s : runs) {
    before.push_back(mib(s.before));
    changed.push_back(mib(s.changed) - mib(s.before));
    deleted.push_back(mib(s.deleted) - mib(s.before));
  }
  std::printf("| %s | %u | %s | %s | %s |\n", path, bound_mb, spread(before, 1).c_str(),
              spread(changed, 1).c_str(), spread(deleted, 1).c_str());
}

void run_history(KubeApiServer& api, const Options& o) {
  const size_t bytes = 200 * kKiB;
  std::string refusal;
  const uint32_t default_bound = ControlConfig{}.watch_history_mb;
  history_through_api(o, default_bound, 2 * kMiB, &refusal);
  std::printf(
      "\n## history: a node with a %zu KiB annotation changed %d times, then deleted "
      "(%d runs each)\n\n",
      bytes / kKiB, o.changes, o.runs);
  std::printf(
      "| through | watch_history_mb | tartand RSS before, MiB | growth after the changes, MiB | "
      "growth after the deletion, MiB |\n| --- | --- | --- | --- | --- |\n");
  for (uint32_t bound : {default_bound, 1u}) {
    std::vector<RssSteps> api_runs, kube_runs;
    for (int r = 0; r < o.runs; ++r) {
      api_runs.push_back(history_through_api(o, bound, bytes, nullptr));
      kube_runs.push_back(history_through_kube(o, api, bound, bytes));
    }
    print_history_row("tartanctl nodes apply", bound, api_runs);
    print_history_row("Kubernetes (PATCH, watch)", bound, kube_runs);
    std::fflush(stdout);
  }
  std::printf("\nA 2 MiB annotation through `tartanctl nodes apply`: %s\n", refusal.c_str());
}

// ---- the command line ----

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "tartan-bench-kube: %s\n"
               "usage: tartan-bench-kube [--parts sync,latency,memory,history] "
               "[--nodes N[,N...]] [--runs R] [--samples S] [--changes C]\n",
               problem.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  const auto number = [&](const std::string& flag, const std::string& v, long lo, long hi) {
    size_t used = 0;
    long n = -1;
    try {
      n = std::stol(v, &used);
    } catch (const std::exception&) {
    }
    if (used != v.size() || n < lo || n > hi)
      usage(flag + ": '" + v + "' is not in " + std::to_string(lo) + ".." + std::to_string(hi));
    return n;
  };
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage(flag + ": a value is needed");
    const std::string v = argv[i + 1];
    if (flag == "--parts") {
      o.parts.clear();
      for (const std::string& p : split(v)) {
        if (p != "sync" && p != "latency" && p != "memory" && p != "history")
          usage("--parts: '" + p + "' is not sync, latency, memory or history");
        o.parts.insert(p);
      }
    } else if (flag == "--nodes") {
      o.nodes.clear();
      for (const std::string& n : split(v))
        o.nodes.push_back(static_cast<uint32_t>(number(flag, n, 1, 60000)));
      if (o.nodes.empty()) usage("--nodes: none given");
      std::sort(o.nodes.begin(), o.nodes.end());
      o.nodes.erase(std::unique(o.nodes.begin(), o.nodes.end()), o.nodes.end());
    } else if (flag == "--runs") {
      o.runs = static_cast<int>(number(flag, v, 1, 100));
    } else if (flag == "--samples") {
      o.samples = static_cast<int>(number(flag, v, 1, 1000000));
    } else if (flag == "--changes") {
      o.changes = static_cast<int>(number(flag, v, 1, 10000));
    } else {
      usage("unknown option " + flag);
    }
  }
  // build/perf/tartan-bench-kube -> build/control/tartand
  const auto build = std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path();
  o.tartand = build / "control" / "tartand";
  o.tartanctl = build / "control" / "tartanctl";
  return o;
}

int run(const Options& o) {
  testing::init_test_eal();
  // A cluster of our Node alone, for the baselines.
  KubeApiServer lone;
  lone.create_node(own_node());
  Cluster cluster;
  std::vector<SyncRow> sync;
  std::optional<LatencyResult> latency;
  std::optional<NodeCost> cost;
  std::vector<RssRow> rss;
  if (o.parts.count("memory")) rss.push_back(measure_rss(lone, 0, o));
  // Smallest first: the double only grows. The history needs none of them.
  const bool sized = o.parts.count("sync") || o.parts.count("latency") || o.parts.count("memory");
  for (uint32_t n : sized ? o.nodes : std::vector<uint32_t>{}) {
    const auto t0 = Clock::now();
    cluster.grow(n);
    std::fprintf(stderr, "bench-kube: %u Nodes in the API server double (%.1f s)\n", n,
                 ms_between(t0, Clock::now()) / 1e3);
    if (o.parts.count("sync")) sync.push_back(measure_sync(cluster, o));
    if (n == o.nodes.front() && o.parts.count("latency")) latency = measure_latency(cluster, o);
    if (o.parts.count("memory")) {
      if (n == o.nodes.front()) cost = measure_node_cost(cluster);
      rss.push_back(measure_rss(cluster.api, n, o));
    }
  }
  if (!sync.empty()) print_sync(sync, o);
  if (latency) print_latency(*latency);
  if (cost) print_memory(*cost, rss, o);
  std::fflush(stdout);
  if (o.parts.count("history")) run_history(lone, o);
  return 0;
}

}  // namespace
}  // namespace tartan::perf

int main(int argc, char** argv) {
  const tartan::perf::Options options = tartan::perf::parse(argc, argv);
  try {
    return tartan::perf::run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tartan-bench-kube: %s\n", e.what());
    return 1;
  }
}
