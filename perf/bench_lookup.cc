// Route lookups as the worker does them, on an rte_lpm configured as
// tartan's tables configure it, holding N remote podCIDRs (/24s): one at a
// time, four at a time (rte_lpm_lookupx4) and a burst of 32
// (rte_lpm_lookup_bulk, what egress uses). Destinations are random hosts of
// random routes, so at 100k routes the lookups miss the caches as traffic to
// many nodes would.
#include <benchmark/benchmark.h>
#include <rte_lpm.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int kBurst = 32;
constexpr uint32_t kTbl8Groups = 4096;  // tartan's default dataplane.lpm_tbl8_groups

struct Table {
  rte_lpm* lpm = nullptr;
  std::vector<uint32_t> dsts;  // host order, a multiple of kBurst
};

// Route i is the /24 number 2+i of 10.0.0.0/7 (generator.SCHEME's remote
// node i); built once per size and kept for every benchmark of that size.
const Table& table(uint32_t routes) {
  static std::map<uint32_t, Table> tables;
  auto [it, fresh] = tables.try_emplace(routes);
  Table& t = it->second;
  if (!fresh) return t;
  rte_lpm_config config{};
  config.max_rules = routes + 64;  // as ForwardingTables::create
  config.number_tbl8s = kTbl8Groups;
  t.lpm = rte_lpm_create(("bench_lpm_" + std::to_string(routes)).c_str(), SOCKET_ID_ANY, &config);
  if (t.lpm == nullptr) return t;
  for (uint32_t i = 0; i < routes; ++i) rte_lpm_add(t.lpm, (10u << 24) + ((i + 2) << 8), 24, i);
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> route(0, routes - 1), host(2, 254);
  t.dsts.resize(65536);
  for (uint32_t& d : t.dsts) d = (10u << 24) + ((route(rng) + 2) << 8) + host(rng);
  return t;
}

template <class Lookup>
void run(benchmark::State& state, Lookup lookup) {
  const Table& t = table(static_cast<uint32_t>(state.range(0)));
  if (t.lpm == nullptr) {
    state.SkipWithError("rte_lpm_create failed");
    return;
  }
  size_t at = 0;
  uint32_t hops[kBurst];
  for (auto _ : state) {
    lookup(t.lpm, &t.dsts[at], hops);
    benchmark::DoNotOptimize(hops);
    at = (at + kBurst) % t.dsts.size();
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
}

void BM_LpmLookup(benchmark::State& state) {
  run(state, [](rte_lpm* lpm, const uint32_t* dst, uint32_t* hops) {
    for (int i = 0; i < kBurst; ++i) rte_lpm_lookup(lpm, dst[i], &hops[i]);
  });
}

void BM_LpmLookupX4(benchmark::State& state) {
  run(state, [](rte_lpm* lpm, const uint32_t* dst, uint32_t* hops) {
    for (int i = 0; i < kBurst; i += 4) {
      const xmm_t ips = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&dst[i]));
      rte_lpm_lookupx4(lpm, ips, &hops[i], UINT32_MAX);
    }
  });
}

void BM_LpmLookupBulk(benchmark::State& state) {
  run(state, [](rte_lpm* lpm, const uint32_t* dst, uint32_t* hops) {
    rte_lpm_lookup_bulk(lpm, dst, hops, kBurst);
  });
}

// 1M routes are not measured: rte_lpm scans the rules of a prefix length on
// every add, so loading a million /24s takes minutes (see perf/RESULTS.md).
#define ROUTE_COUNTS Arg(1)->Arg(1000)->Arg(100000)
BENCHMARK(BM_LpmLookup)->ROUTE_COUNTS;
BENCHMARK(BM_LpmLookupX4)->ROUTE_COUNTS;
BENCHMARK(BM_LpmLookupBulk)->ROUTE_COUNTS;

}  // namespace
