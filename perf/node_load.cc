#include "perf/node_load.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "control/cluster/flannel_annotations.h"
#include "perf/flows.h"
#include "tartan/v1/node.grpc.pb.h"

namespace tartan::perf {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kMovedOffset = 1u << 24;  // one /8 further on

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// What the sender threads share: counts, per-RPC latencies, the first error.
struct Tally {
  std::mutex mu;
  std::vector<double> latencies_ms;
  uint64_t applied = 0, failed = 0;
  double lag_max_ms = 0;
  std::string first_error;

  void add(const std::vector<double>& lat, uint64_t ok, uint64_t bad, double lag,
           const std::string& error) {
    std::lock_guard lock(mu);
    latencies_ms.insert(latencies_ms.end(), lat.begin(), lat.end());
    applied += ok;
    failed += bad;
    lag_max_ms = std::max(lag_max_ms, lag);
    if (first_error.empty()) first_error = error;
  }
};

// One ApplyNode call: its status and whether the node came back routed.
struct Answer {
  grpc::Status status;
  uint64_t ok = 0, bad = 0;
  std::string error;  // the first node's that failed
};

// Why an applied node is not routed for every family it should be ("" when it is).
std::string unrouted(const v1::Node& n, bool dual_stack) {
  if (!n.status().routed()) return n.name() + ": not routed: " + n.status().reason();
  if (dual_stack && !n.status().routed_v6())
    return n.name() + ": not routed for IPv6: " + n.status().reason_v6();
  return "";
}

// Applied but not routed (a bad annotation, a full table) fails too.
Answer call(v1::Nodes::Stub& stub, grpc::ClientContext& ctx, const v1::ApplyNodeRequest& req,
            bool dual_stack) {
  Answer a;
  v1::Node out;
  a.status = stub.ApplyNode(&ctx, req, &out);
  if (!a.status.ok()) {
    a.bad = 1;
    a.error = req.node().name() + ": " + a.status.error_message();
  } else if (std::string why = unrouted(out, dual_stack); !why.empty()) {
    a.bad = 1;
    a.error = why;
  } else {
    a.ok = 1;
  }
  return a;
}

Answer call(v1::Nodes::Stub& stub, grpc::ClientContext& ctx, const v1::ApplyNodesRequest& req,
            bool dual_stack) {
  Answer a;
  v1::ApplyNodesResponse out;
  a.status = stub.ApplyNodes(&ctx, req, &out);
  if (!a.status.ok()) {
    a.bad = static_cast<uint64_t>(req.apply_size());
    a.error = a.status.error_message();
    return a;
  }
  for (const v1::Node& n : out.applied()) {
    std::string why = unrouted(n, dual_stack);
    if (why.empty()) {
      ++a.ok;
      continue;
    }
    ++a.bad;
    if (a.error.empty()) a.error = why;
  }
  return a;
}

size_t nodes_in(const v1::ApplyNodeRequest&) {
  return 1;
}
size_t nodes_in(const v1::ApplyNodesRequest& req) {
  return static_cast<size_t>(req.apply_size());
}

// Runs `concurrency` senders; sender t sends requests t, t + c, t + 2c, ...
// while `request(i, req)` says there is one, each no earlier than
// `due(i)` (nullopt: at once). A request is an ApplyNodeRequest or an
// ApplyNodesRequest.
template <class Req, class Request, class Due>
NodeLoadResult run_senders(const NodeLoadOptions& o, Request request, Due due) {
  auto channel = grpc::CreateChannel("unix://" + o.socket, grpc::InsecureChannelCredentials());
  Tally tally;
  std::atomic<uint64_t> requested{0};
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> senders;
  for (unsigned t = 0; t < o.concurrency; ++t) {
    senders.emplace_back([&, t] {
      auto stub = v1::Nodes::NewStub(channel);
      std::vector<double> lat;
      uint64_t ok = 0, bad = 0;
      double lag = 0;
      std::string error;
      Req req;
      for (uint64_t i = t; request(i, req); i += o.concurrency) {
        if (const auto when = due(i, start)) {
          std::this_thread::sleep_until(*when);
          lag = std::max(lag, ms_between(*when, Clock::now()));
        }
        requested.fetch_add(nodes_in(req), std::memory_order_relaxed);
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        const Clock::time_point sent = Clock::now();
        const Answer a = call(*stub, ctx, req, o.dual_stack);
        lat.push_back(ms_between(sent, Clock::now()));
        ok += a.ok;
        bad += a.bad;
        if (error.empty()) error = a.error;
      }
      tally.add(lat, ok, bad, lag, error);
    });
  }
  for (auto& s : senders) s.join();

  NodeLoadResult r;
  r.seconds = ms_between(start, Clock::now()) / 1000;
  r.requested = requested.load();
  r.applied = tally.applied;
  r.failed = tally.failed;
  r.rate_per_s = r.seconds > 0 ? static_cast<double>(r.applied) / r.seconds : 0;
  r.lag_max_ms = tally.lag_max_ms;
  r.first_error = tally.first_error;
  auto& lat = tally.latencies_ms;
  if (!lat.empty()) {
    std::sort(lat.begin(), lat.end());
    r.latency_p50_ms = lat[lat.size() / 2];
    r.latency_p99_ms = lat[std::min(lat.size() - 1, lat.size() * 99 / 100)];
    r.latency_max_ms = lat.back();
  }
  return r;
}

}  // namespace

v1::Node remote_node(const NodeLoadOptions& o, uint32_t k, bool moved) {
  v1::Node n;
  n.set_name("remote-" + std::to_string(k));
  n.add_pod_cidrs(
      Ipv4Prefix{Ipv4Addr{remote_subnet<Ipv4Family>(o.scheme, k)}, o.scheme.subnet_len}.str());
  auto mac_addr = [](const Mac& m) { return MacAddr{{m[0], m[1], m[2], m[3], m[4], m[5]}}; };
  const Ipv4Addr public_ip{remote_public_ip<Ipv4Family>(o.scheme, k) + (moved ? kMovedOffset : 0)};
  std::optional<OwnIpv6> ipv6;
  if (o.dual_stack) {
    n.add_pod_cidrs(Ipv6Prefix{Ipv6Addr{ipv6_bytes(remote_subnet<Ipv6Family>(o.scheme, k))},
                               o.scheme.subnet_len6}
                        .str());
    ipv6 = OwnIpv6{Ipv6Addr{ipv6_bytes(remote_public_ip<Ipv6Family>(o.scheme, k))},
                   mac_addr(remote_vtep_mac<Ipv6Family>(k))};
  }
  const Result<AnnotationKeys> keys = annotation_keys("flannel.alpha.coreos.com");
  for (const auto& [key, value] :
       own_annotations(*keys, o.backend, o.scheme.vni, mac_addr(remote_vtep_mac<Ipv4Family>(k)),
                       public_ip, ipv6))
    (*n.mutable_annotations())[key] = value;
  return n;
}

NodeLoadResult apply_nodes(const NodeLoadOptions& o) {
  if (o.batch > 0) {
    return run_senders<v1::ApplyNodesRequest>(
        o,
        [&o](uint64_t i, v1::ApplyNodesRequest& req) {
          const uint64_t from = i * o.batch;
          if (from >= o.nodes) return false;
          req.Clear();
          for (uint64_t k = from; k < std::min<uint64_t>(from + o.batch, o.nodes); ++k)
            *req.add_apply()->mutable_node() =
                remote_node(o, o.first + static_cast<uint32_t>(k), false);
          return true;
        },
        [](uint64_t, Clock::time_point) { return std::optional<Clock::time_point>(); });
  }
  return run_senders<v1::ApplyNodeRequest>(
      o,
      [&o](uint64_t i, v1::ApplyNodeRequest& req) {
        if (i >= o.nodes) return false;
        *req.mutable_node() = remote_node(o, o.first + static_cast<uint32_t>(i), false);
        return true;
      },
      [](uint64_t, Clock::time_point) { return std::optional<Clock::time_point>(); });
}

NodeLoadResult churn_nodes(const NodeLoadOptions& o) {
  const auto total = static_cast<uint64_t>(o.churn_rate * o.duration_s);
  // Change c moves node first + c % nodes, to its other public IP on every
  // other pass over the nodes.
  auto change = [&o](uint64_t c) {
    return remote_node(o, o.first + static_cast<uint32_t>(c % o.nodes), (c / o.nodes) % 2 == 0);
  };
  // Request i is due once the schedule has reached its first change.
  auto due_at = [&o](uint64_t first_change, Clock::time_point start) {
    return std::optional<Clock::time_point>(
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                    static_cast<double>(first_change) / o.churn_rate)));
  };
  if (o.batch > 0) {
    // Batches of `batch` changes every batch / churn_rate seconds: the rate
    // one ApplyNode at a time cannot reach (one RPC's turnaround each).
    return run_senders<v1::ApplyNodesRequest>(
        o,
        [&o, total, change](uint64_t i, v1::ApplyNodesRequest& req) {
          const uint64_t from = i * o.batch;
          if (from >= total) return false;
          req.Clear();
          for (uint64_t c = from; c < std::min<uint64_t>(from + o.batch, total); ++c)
            *req.add_apply()->mutable_node() = change(c);
          return true;
        },
        [&o, due_at](uint64_t i, Clock::time_point start) { return due_at(i * o.batch, start); });
  }
  return run_senders<v1::ApplyNodeRequest>(
      o,
      [total, change](uint64_t i, v1::ApplyNodeRequest& req) {
        if (i >= total) return false;
        *req.mutable_node() = change(i);
        return true;
      },
      due_at);
}

std::string node_load_json(const NodeLoadOptions& o, const NodeLoadResult& r) {
  nlohmann::ordered_json j;
  j["tool"] = "tartan-nodeload";
  j["action"] = o.churn_rate > 0 ? "churn" : "apply";
  j["first"] = o.first;
  j["nodes"] = o.nodes;
  j["backend"] = backend_type_name(o.backend);
  j["dual_stack"] = o.dual_stack;
  j["churn_rate"] = o.churn_rate;
  j["concurrency"] = o.concurrency;
  j["batch"] = o.batch;
  j["requested"] = r.requested;
  j["applied"] = r.applied;
  j["failed"] = r.failed;
  j["seconds"] = r.seconds;
  j["rate_per_s"] = r.rate_per_s;
  j["lag_max_ms"] = r.lag_max_ms;
  j["latency_p50_ms"] = r.latency_p50_ms;
  j["latency_p99_ms"] = r.latency_p99_ms;
  j["latency_max_ms"] = r.latency_max_ms;
  j["first_error"] = r.first_error;
  return j.dump(2) + "\n";
}

}  // namespace tartan::perf
