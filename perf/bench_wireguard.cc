// WireGuard transport on one core, no NIC: seal_transport and
// open_transport (engine/wireguard) on 64 B and 1,400 B plaintexts, with
// the per-thread ChaChaPoly a worker will hold. The crypto's cost alone,
// for issue 17's comparison with wireguard-go before the data path exists.
#include <benchmark/benchmark.h>

#include <vector>

#include "engine/wireguard/transport.h"

namespace tartan::wireguard {
namespace {

Key bench_key() {
  Key k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i * 7 + 1);
  return k;
}

void BM_WireguardSeal(benchmark::State& state) {
  const size_t len = static_cast<size_t>(state.range(0));
  auto aead = ChaChaPoly::create();
  SendingKey key{bench_key(), 1, 0};
  std::vector<uint8_t> buffer(kTransportHeaderLen + len + kPaddingMultiple + kTagLen, 0x45);
  for (auto _ : state) {
    auto sealed = seal_transport(*aead, key, buffer.data() + kTransportHeaderLen, len,
                                 kTransportHeaderLen, kPaddingMultiple + kTagLen, 1420);
    benchmark::DoNotOptimize(sealed);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(len));
}
BENCHMARK(BM_WireguardSeal)->Arg(64)->Arg(1400);

// Opens one sealed packet per iteration from a set sealed beforehand
// (in-place decryption consumes them), counters in order as a flow sends.
void BM_WireguardOpen(benchmark::State& state) {
  const size_t len = static_cast<size_t>(state.range(0));
  auto aead = ChaChaPoly::create();
  constexpr size_t kPackets = 4096;
  const size_t room = kTransportHeaderLen + padded_length(len, 1420) + kTagLen;
  std::vector<uint8_t> sealed(kPackets * room, 0x45), work(room);
  SendingKey sending{bench_key(), 1, 0};
  for (size_t i = 0; i < kPackets; ++i)
    (void)seal_transport(*aead, sending, sealed.data() + i * room + kTransportHeaderLen, len,
                         kTransportHeaderLen, room - kTransportHeaderLen - len, 1420);
  ReceivingKey receiving{bench_key(), {}};
  size_t i = 0;
  for (auto _ : state) {
    // The replay window would refuse a counter the second time round: a
    // fresh window per round, outside the timing.
    if (i == kPackets) {
      state.PauseTiming();
      receiving.replay = ReplayWindow{};
      i = 0;
      state.ResumeTiming();
    }
    std::copy_n(sealed.data() + i * room, room, work.data());
    auto opened = open_transport(*aead, receiving, work.data(), room);
    if (!opened.ok()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(opened);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(len));
}
BENCHMARK(BM_WireguardOpen)->Arg(64)->Arg(1400);

}  // namespace
}  // namespace tartan::wireguard

BENCHMARK_MAIN();
