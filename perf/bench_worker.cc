// Micro-benchmarks of the worker loop on ring-backed ports (no NIC): the
// cost per packet of one rx_burst -> process -> tx_burst pass.
#include <benchmark/benchmark.h>
#include <rte_mempool.h>

#include "engine/engine.h"
#include "tests/support/dpdk_test_env.h"
#include "tests/support/packets.h"
#include "tests/support/ring_port.h"

namespace tartan {
namespace {

void BM_WorkerForwardBurst(benchmark::State& state) {
  const auto burst = static_cast<int>(state.range(0));
  testing::RingPort underlay("bw_ul", 1024), overlay("bw_ol", 1024);
  EngineConfig c;
  c.ports = {{"underlay", underlay.name(), PortRole::kUnderlay, 0},
             {"overlay0", overlay.name(), PortRole::kOverlay, 0}};
  c.workers.lcores = {1};
  c.workers.burst_size = static_cast<uint16_t>(burst);
  c.workers.mempool_size = 8191;
  auto engine = Engine::create(c);
  if (!engine.ok() || !(*engine)->start_ports().ok()) {
    state.SkipWithError("engine did not start");
    return;
  }
  std::vector<rte_mbuf*> pkts;
  for (int i = 0; i < burst; ++i)
    pkts.push_back(testing::to_mbuf((*engine)->mempool(), testing::udp_frame({})));
  Worker& w = *(*engine)->workers()[0];
  for (auto _ : state) {
    overlay.inject(pkts);
    benchmark::DoNotOptimize(w.poll_once());
    pkts = underlay.drain();
  }
  state.SetItemsProcessed(state.iterations() * burst);
  testing::free_all(pkts);
}
BENCHMARK(BM_WorkerForwardBurst)->Arg(1)->Arg(32);

}  // namespace
}  // namespace tartan

int main(int argc, char** argv) {
  tartan::testing::init_test_eal();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
