// How long the control plane takes to take in a cluster: N nodes applied
// through the real gRPC API (unix socket) into a running tartand, one
// ApplyNode RPC per node or ApplyNodes RPCs of up to 10,000, each node
// becoming a route in the engine. Only the applying is timed (manual
// time), not the daemon's start nor its shutdown.
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "control/api/api_convert.h"
#include "tartan/v1/node.grpc.pb.h"
#include "tests/support/daemon_fixture.h"

namespace tartan {
namespace {

// Node i: podCIDR 10.x.y.0/24 in 10.0.0.0/7, public IP 172.16.x.y behind
// the gateway, its own VtepMAC; annotated as flanneld writes them.
v1::Node node(uint32_t i) {
  v1::Node n;
  n.set_name("node-" + std::to_string(i));
  const uint32_t net = (10u << 24) + (i << 8);
  n.add_pod_cidrs(Ipv4Prefix{Ipv4Addr{net}, 24}.str());
  MacAddr mac{{0x0e, 0, static_cast<uint8_t>(i >> 24), static_cast<uint8_t>(i >> 16),
               static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)}};
  auto& a = *n.mutable_annotations();
  a["flannel.alpha.coreos.com/backend-data"] = R"({"VNI":1,"VtepMAC":")" + mac.str() + R"("})";
  a["flannel.alpha.coreos.com/backend-type"] = "vxlan";
  a["flannel.alpha.coreos.com/kube-subnet-manager"] = "true";
  a["flannel.alpha.coreos.com/public-ip"] = Ipv4Addr{(172u << 24) | (16u << 16) | i}.str();
  return n;
}

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// What this process's gRPC sync server threads (the ones that run the
// handlers) have cost so far: CPU seconds (schedstat) and page faults
// (stat's minflt), apart from the client and the busy-polling worker. A
// thread that ends in between is lost.
struct ServerThreadsCost {
  double cpu_seconds = 0;
  double page_faults = 0;
};
ServerThreadsCost server_threads_cost() {
  ServerThreadsCost cost;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::string comm;
    std::getline(std::ifstream(task.path() / "comm"), comm);
    if (comm.rfind("grpcpp_sync_ser", 0) != 0) continue;
    uint64_t on_cpu_ns = 0;
    if (std::ifstream(task.path() / "schedstat") >> on_cpu_ns) cost.cpu_seconds += on_cpu_ns / 1e9;
    // stat: "pid (comm) state ppid ... minflt" (minflt is field 10); comm
    // has no ')' here.
    std::string stat;
    std::getline(std::ifstream(task.path() / "stat"), stat);
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 10 && fields >> field; ++i) {
      if (i == 10) cost.page_faults += std::stod(field);
    }
  }
  return cost;
}

// Room for `count` nodes: 10.0.0.0/7 holds 131,072 /24 podCIDRs; their
// public IPs are behind the gateway, a static neighbour.
testing::DaemonOptions cluster_of(uint32_t count) {
  return {.network = "{Network: 10.0.0.0/7, SubnetLen: 24, Backend: {Type: vxlan}}",
          .dataplane = "{max_routes: " + std::to_string(count + 16) +
                       ", static_neighbours: [{ip: 192.0.2.1, mac: '02:00:00:00:00:fe'}]}",
          .subnet = "10.0.1.0/24"};
}

// Applies nodes 2..count+1 to a fresh daemon with `requests`, one `call`
// each, timing only the calls; every node must become a route.
template <typename Response, typename Request, typename Call>
void time_api_calls(benchmark::State& state, uint32_t count, const std::vector<Request>& requests,
                    Call call) {
  for (auto _ : state) {
    testing::DaemonFixture fx(cluster_of(count));
    auto stub = v1::Nodes::NewStub(fx.channel());
    const ServerThreadsCost server_before = server_threads_cost();
    const Clock::time_point start = Clock::now();
    for (const auto& req : requests) {
      grpc::ClientContext ctx;
      Response out;
      const grpc::Status s = call(*stub, &ctx, req, &out);
      if (!s.ok()) {
        state.SkipWithError(s.error_message().c_str());
        return;
      }
    }
    state.SetIterationTime(seconds_since(start));
    const ServerThreadsCost server_after = server_threads_cost();
    state.counters["server_cpu_s"] = server_after.cpu_seconds - server_before.cpu_seconds;
    state.counters["server_faults"] = server_after.page_faults - server_before.page_faults;
    if (fx.daemon().engine().routes().size() != count + 1)
      state.SkipWithError("not every node became a route");
  }
  state.SetItemsProcessed(state.iterations() * count);
}

void BM_ApplyNodesThroughTheApi(benchmark::State& state) {
  const auto count = static_cast<uint32_t>(state.range(0));
  std::vector<v1::ApplyNodeRequest> requests(count);
  for (uint32_t i = 0; i < count; ++i) *requests[i].mutable_node() = node(i + 2);
  time_api_calls<v1::Node>(state, count, requests, [](auto& stub, auto* ctx, auto& req, auto* out) {
    return stub.ApplyNode(ctx, req, out);
  });
}
BENCHMARK(BM_ApplyNodesThroughTheApi)
    ->Arg(1000)
    ->Arg(100000)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);

// The same nodes in ApplyNodes calls of `range(1)` nodes each (at most
// 10,000: the API's bound), each call one engine delta.
void BM_ApplyNodesInBatchesThroughTheApi(benchmark::State& state) {
  const auto count = static_cast<uint32_t>(state.range(0));
  const auto batch = static_cast<uint32_t>(state.range(1));
  std::vector<v1::ApplyNodesRequest> requests((count + batch - 1) / batch);
  for (uint32_t i = 0; i < count; ++i)
    *requests[i / batch].add_apply()->mutable_node() = node(i + 2);
  time_api_calls<v1::ApplyNodesResponse>(
      state, count, requests,
      [](auto& stub, auto* ctx, auto& req, auto* out) { return stub.ApplyNodes(ctx, req, out); });
}
BENCHMARK(BM_ApplyNodesInBatchesThroughTheApi)
    ->Args({1000, 1000})
    ->Args({100000, 10000})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);

// Gives nodes 2..count+1 to a fresh daemon's mirror with `apply`, timing
// only that; every node must become a route.
template <typename Apply>
void time_in_process(benchmark::State& state, uint32_t count, Apply apply) {
  std::vector<NodeSpec> specs;
  for (uint32_t i = 0; i < count; ++i) specs.push_back(node_from_proto(node(i + 2)));
  for (auto _ : state) {
    testing::DaemonFixture fx(cluster_of(count));
    const Clock::time_point start = Clock::now();
    if (Status s = apply(fx.daemon().mirror(), specs); !s.ok()) {
      state.SkipWithError(s.message().c_str());
      return;
    }
    state.SetIterationTime(seconds_since(start));
    if (fx.daemon().engine().routes().size() != count + 1)
      state.SkipWithError("not every node became a route");
  }
  state.SetItemsProcessed(state.iterations() * count);
}

// The same work without gRPC: what the mirror and the engine cost.
void BM_ApplyNodesInProcess(benchmark::State& state) {
  time_in_process(state, static_cast<uint32_t>(state.range(0)),
                  [](NodeMirror& mirror, const std::vector<NodeSpec>& specs) -> Status {
                    for (const NodeSpec& spec : specs) {
                      if (auto r = mirror.apply(spec); !r.ok()) return r.status();
                    }
                    return {};
                  });
}
BENCHMARK(BM_ApplyNodesInProcess)
    ->Arg(100000)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);

// A source's initial list (etcd, Kubernetes): every node in one
// NodeMirror::replace_all, one engine delta.
void BM_ListedNodesInProcess(benchmark::State& state) {
  time_in_process(state, static_cast<uint32_t>(state.range(0)),
                  [](NodeMirror& mirror, const std::vector<NodeSpec>& specs) {
                    return mirror.replace_all(specs);
                  });
}
BENCHMARK(BM_ListedNodesInProcess)
    ->Arg(100000)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);

}  // namespace
}  // namespace tartan
