// Micro-benchmarks of the data path on ring-backed ports (no NIC): the cost
// per packet of one worker pass over a burst of 32, for VXLAN encapsulation
// (overlay -> underlay) and decapsulation (underlay -> overlay), with the
// ring transfers of the virtual ports included.
#include <benchmark/benchmark.h>
#include <rte_mbuf.h>

#include "tests/support/engine_fixture.h"

namespace tartan {
namespace {

using testing::EngineFixture;

constexpr int kBurst = 32;

// Moves a burst through one port direction until the state ends.
void run_burst(benchmark::State& state, EngineFixture& fx, bool from_overlay,
               const testing::Bytes& frame) {
  std::vector<rte_mbuf*> pkts;
  for (int i = 0; i < kBurst; ++i) pkts.push_back(testing::to_mbuf(fx.pool(), frame));
  testing::RingPort& in = from_overlay ? fx.overlay_port() : fx.underlay_port();
  testing::RingPort& out = from_overlay ? fx.underlay_port() : fx.overlay_port();
  Worker& w = *fx.engine().workers()[0];
  // Keep the frame's bytes fresh each round: encap/decap rewrite them.
  for (auto _ : state) {
    for (rte_mbuf* m : pkts) {
      rte_pktmbuf_reset(m);
      std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
                  frame.size());
    }
    in.inject(pkts);
    w.poll_once();
    pkts = out.drain();
    if (pkts.size() != kBurst) {
      state.SkipWithError("packets were dropped");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
  testing::free_all(pkts);
}

void BM_VxlanEncap(benchmark::State& state) {
  EngineFixture fx;
  fx.add_node(2);
  run_burst(
      state, fx, true,
      fx.pod_frame(*Ipv4Addr::parse("10.244.2.10"), 10000, static_cast<uint16_t>(state.range(0))));
}
BENCHMARK(BM_VxlanEncap)->Arg(18)->Arg(1400);

void BM_VxlanDecap(benchmark::State& state) {
  EngineFixture fx;
  fx.add_node(2);
  run_burst(
      state, fx, false,
      fx.vxlan_from(2, *Ipv4Addr::parse("10.244.1.10"), 1, static_cast<uint16_t>(state.range(0))));
}
BENCHMARK(BM_VxlanDecap)->Arg(18)->Arg(1400);

void BM_UdpBackendEncap(benchmark::State& state) {
  EngineFixture fx({.backend = BackendType::kUdp});
  fx.add_node(2);
  run_burst(state, fx, true, fx.pod_frame(*Ipv4Addr::parse("10.244.2.10")));
}
BENCHMARK(BM_UdpBackendEncap);

}  // namespace
}  // namespace tartan
