// How long one tartand (the whole daemon in process, lease.source etcd,
// its worker polling) takes to route to N nodes that register in etcd the
// way flanneld does (Grant a 24 h lease, Txn-create
// <prefix>/subnets/<ip>-<len> if absent, flanneld's exact value).
//
//   Watch: tartand is up; the N nodes register, 16 at a time. Time from the
//          first registration until every route is in the engine; counters
//          give the registration time and the lag after the last write.
//   List:  the N leases are in etcd already; time from tartand's start
//          until every route is in the engine (one list, one replace).
//
// Real etcd from Debian's etcd-server on loopback (data on tmpfs, as the
// tests run it). Run: build/perf/tartan-bench-etcd [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <atomic>
#include <memory>
#include <thread>

#include "control/sources/etcd/etcd_client.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/etcd_server.h"

namespace tartan {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kRegistrars = 16;  // simulated nodes registering at once

testing::EtcdServer& etcd() {
  static testing::EtcdServer server;
  return server;
}

std::string prefix_for(const std::string& name) {
  static std::atomic<int> n{0};
  return "/bench/" + name + "-" + std::to_string(n++);
}

// Simulated node i: podCIDR 10.x.y.0/24 from 10.1.0.0 (tartand takes one
// of the first 100 free from SubnetMin 10.0.1.0), public IP 172.16.x.y
// behind the gateway, VtepMAC 0e:00:00:00:x:y.
std::string lease_key(const std::string& prefix, uint32_t i) {
  return prefix + "/subnets/" + Ipv4Addr{(10u << 24) + ((i + 256) << 8)}.str() + "-24";
}

std::string lease_value(uint32_t i) {
  const MacAddr mac{{0x0e, 0, 0, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)}};
  return testing::flanneld_vxlan_lease(Ipv4Addr{(172u << 24) | (16u << 16) | i}.str(), mac.str());
}

// Registers nodes [0, count) as flanneld would, kRegistrars at a time.
Status register_nodes(const std::string& prefix, uint32_t count) {
  EtcdConfig ec;
  ec.endpoints = {etcd().endpoint()};
  auto client = EtcdClient::create(ec);
  if (!client) return client.status();
  std::atomic<uint32_t> next{0};
  std::atomic<bool> failed{false};
  std::string error;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < kRegistrars; ++t) {
    threads.emplace_back([&] {
      for (uint32_t i = next++; i < count && !failed; i = next++) {
        auto grant = (*client)->grant(86400);
        auto created = grant ? (*client)->create(lease_key(prefix, i), lease_value(i), grant->id)
                             : Result<bool>(grant.status());
        if (!created || !*created) {
          std::lock_guard lock(mu);
          error = created ? "key exists" : created.status().message();
          failed = true;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  if (failed) return Status::internal(error);
  return {};
}

testing::DaemonOptions daemon_for(const std::string& prefix, uint32_t count) {
  testing::DaemonOptions o;
  o.lease_source = "etcd";
  o.network = "{Network: 10.0.0.0/8, Backend: {Type: vxlan}}";
  o.dataplane = "{max_routes: " + std::to_string(count + 16) +
                ", static_neighbours: [{ip: 192.0.2.1, mac: '02:00:00:00:00:fe'}]}";
  o.lease_yaml = ", etcd: {endpoints: [" + etcd().endpoint() + "], prefix: " + prefix + "}";
  return o;
}

// Polls the engine until it routes to every simulated node (ours is local).
bool wait_for_routes(Daemon& d, uint32_t count, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (d.engine().routes().size() == count + 1) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return false;
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

void BM_EtcdConvergeWatch(benchmark::State& state) {
  const auto count = static_cast<uint32_t>(state.range(0));
  double register_ms = 0, lag_ms = 0;
  for (auto _ : state) {
    const std::string prefix = prefix_for("watch");
    testing::DaemonFixture fx(daemon_for(prefix, count));
    const auto t0 = Clock::now();
    if (Status s = register_nodes(prefix, count); !s.ok()) {
      state.SkipWithError(s.message().c_str());
      return;
    }
    const auto registered = Clock::now();
    if (!wait_for_routes(fx.daemon(), count, std::chrono::seconds(60))) {
      state.SkipWithError("routes did not converge within 60 s");
      return;
    }
    const auto converged = Clock::now();
    state.SetIterationTime(std::chrono::duration<double>(converged - t0).count());
    register_ms += ms_between(t0, registered);
    lag_ms += ms_between(registered, converged);
  }
  state.counters["register_ms"] =
      benchmark::Counter(register_ms, benchmark::Counter::kAvgIterations);
  state.counters["after_last_write_ms"] =
      benchmark::Counter(lag_ms, benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_EtcdConvergeWatch)
    ->Arg(1000)
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

void BM_EtcdConvergeList(benchmark::State& state) {
  const auto count = static_cast<uint32_t>(state.range(0));
  for (auto _ : state) {
    const std::string prefix = prefix_for("list");
    if (Status s = register_nodes(prefix, count); !s.ok()) {
      state.SkipWithError(s.message().c_str());
      return;
    }
    const auto t0 = Clock::now();
    testing::DaemonFixture fx(daemon_for(prefix, count));
    if (!wait_for_routes(fx.daemon(), count, std::chrono::seconds(60))) {
      state.SkipWithError("routes did not converge within 60 s");
      return;
    }
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
  }
}
BENCHMARK(BM_EtcdConvergeList)
    ->Arg(1000)
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tartan
