// Data-path throughput with one and two workers when the underlay's queues
// arrive spread by flow, as a NIC's RSS (or tartan's rte_flow steering)
// spreads them. Each round puts kFrames VXLAN frames (1,024 flows from 4
// remote nodes) on the underlay's RX queues with every worker stopped, then
// launches the workers and stops the clock when every decapsulated frame has
// reached the overlay: the figure is the workers' own rate, not a
// generator's. The main lcore sleeps meanwhile.
//
//   BM_DecapWorkers/W/0  net_ring underlay, a queue per worker filled by flow
//                        hash; the workers decapsulate (software)
//   BM_DecapWorkers/W/1  the flow test device (tests/support/flow_test_pmd.h)
//                        under tartan's rules: it steered, filtered and
//                        decapsulated the frames while they were put on the
//                        queues (hardware decap), the workers deliver them
//
// EAL: lcore 0 (main) and lcore 2 on CPU 0, lcore 1 on CPU 1, so on a
// two-core machine each worker has a core while it runs.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "engine/eal.h"
#include "tests/support/engine_fixture.h"
#include "tests/support/flow_test_pmd.h"

namespace tartan {
namespace {

constexpr unsigned kFrames = 49152;
constexpr unsigned kFlows = 1024;
constexpr unsigned kRing = 65536;

void BM_DecapWorkers(benchmark::State& state) {
  const auto workers = static_cast<unsigned>(state.range(0));
  const bool nic = state.range(1) != 0;
  std::unique_ptr<testing::FlowTestPort> port;
  testing::FixtureOptions o;
  o.workers = workers;
  o.ring_size = kRing;
  o.mempool_size = kFrames + 8191;
  if (nic) {
    port = std::make_unique<testing::FlowTestPort>(testing::FlowTestCaps{.ring_size = kRing});
    o.underlay_device = port->name();
  }
  testing::EngineFixture fx(o);
  for (int node = 2; node < 6; ++node) fx.add_node(node);
  std::vector<testing::Bytes> flows;
  for (unsigned f = 0; f < kFlows; ++f) {
    flows.push_back(fx.vxlan_flow_from(static_cast<int>(2 + f % 4), fx.pod_ip(10 + f % 200),
                                       static_cast<uint16_t>(f)));
  }
  for (auto _ : state) {
    // The "NIC" spreads by flow; the workers are not running yet.
    std::vector<std::vector<rte_mbuf*>> queues(workers);
    for (unsigned i = 0; i < kFrames; ++i)
      queues[(i % kFlows) % workers].push_back(testing::to_mbuf(fx.pool(), flows[i % kFlows]));
    for (unsigned q = 0; q < workers; ++q) {
      if (nic) {
        port->inject(queues[q]);
      } else if (fx.underlay_port().inject(queues[q], q) != queues[q].size()) {
        state.SkipWithError("underlay ring full");
        return;
      }
    }
    const auto start = std::chrono::steady_clock::now();
    if (Status s = fx.engine().start(); !s.ok()) {
      state.SkipWithError(s.message().c_str());
      return;
    }
    const auto deadline = start + std::chrono::seconds(10);
    while (fx.overlay_port().pending() < kFrames && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    const auto end = std::chrono::steady_clock::now();
    fx.engine().stop();
    // What went the other way: the ARP announcement each start sends.
    testing::free_all(nic ? port->drain() : fx.underlay_port().drain());
    const std::vector<rte_mbuf*> out = fx.overlay_port().drain();
    testing::free_all(out);
    if (out.size() != kFrames) {
      state.SkipWithError("not every frame was delivered");
      return;
    }
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kFrames);
  state.SetLabel(std::to_string(workers) + (workers == 1 ? " worker, " : " workers, ") +
                 (nic ? "hardware decap" : "software decap"));
}

BENCHMARK(BM_DecapWorkers)
    ->ArgsProduct({{1, 2}, {0, 1}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);

}  // namespace
}  // namespace tartan

int main(int argc, char** argv) {
  const unsigned second_cpu = std::thread::hardware_concurrency() > 1 ? 1 : 0;
  auto eal = tartan::Eal::init({"tartan-bench-workers", "--lcores",
                                "0@0,1@" + std::to_string(second_cpu) + ",2@0", "--no-huge",
                                "--no-shconf", "-m", "1024", "--no-pci", "--file-prefix",
                                "tartan-bench-workers-" + std::to_string(getpid()), "--log-level",
                                "lib.eal:error", "--log-level", "tartan.*:warning"});
  if (!eal) {
    std::fprintf(stderr, "EAL initialisation failed: %s\n", eal.status().message().c_str());
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
