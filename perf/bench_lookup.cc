// Route lookups and route changes as the worker and the control thread do
// them, side by side on the two tables for N remote podCIDRs (/24s):
// rte_lpm configured as tartan configured it until issue 16 (the baseline),
// and tartan's RouteTable (engine/tables/route_table.h: DIR-24-8 over an
// rte_rib). Lookups: one at a time, four at a time (rte_lpm_lookupx4, lpm
// only) and a burst of 32 (what egress does). Destinations are random hosts
// of random routes, so at 100k routes the lookups miss the caches as traffic
// to many nodes would. Changes: the last route's next hop replaced (what a
// node moving does), and a new route added and removed (a node joining and
// leaving). Each benchmark reports the table's memory (rte_malloc bytes).
#include <benchmark/benchmark.h>
#include <rte_lcore.h>
#include <rte_lpm.h>
#include <rte_malloc.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "engine/tables/route_table.h"

namespace tartan {
namespace {

constexpr int kBurst = 32;
constexpr uint32_t kTbl8Groups = 4096;  // tartan's default dataplane.lpm_tbl8_groups

size_t heap_allocated() {
  rte_malloc_socket_stats st{};
  rte_malloc_get_socket_stats(static_cast<int>(rte_socket_id()), &st);
  return st.heap_allocsz_bytes;
}

// Route i is the /24 number 2+i of 10.0.0.0/7 (generator.SCHEME's remote
// node i); both tables are built once per size and kept.
uint32_t route_ip(uint32_t i) {
  return (10u << 24) + ((i + 2) << 8);
}

struct Tables {
  rte_lpm* lpm = nullptr;
  size_t lpm_bytes = 0;
  rte_rcu_qsbr* rcu = nullptr;  // no reader registered: grace periods are immediate
  std::unique_ptr<RouteTable> fib;
  size_t fib_bytes = 0;
  std::vector<uint32_t> dsts;  // host order, a multiple of kBurst
};

Tables& tables(uint32_t routes) {
  static std::map<uint32_t, Tables> all;
  auto [it, fresh] = all.try_emplace(routes);
  Tables& t = it->second;
  if (!fresh) return t;
  const uint32_t max_routes = routes + 64;  // as ForwardingTables::create
  size_t before = heap_allocated();
  rte_lpm_config config{};
  config.max_rules = max_routes;
  config.number_tbl8s = kTbl8Groups;
  t.lpm = rte_lpm_create(("bench_lpm_" + std::to_string(routes)).c_str(), SOCKET_ID_ANY, &config);
  if (t.lpm == nullptr) return t;
  for (uint32_t i = 0; i < routes; ++i) rte_lpm_add(t.lpm, route_ip(i), 24, i);
  t.lpm_bytes = heap_allocated() - before;

  t.rcu = static_cast<rte_rcu_qsbr*>(
      rte_zmalloc("bench_rcu", rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE));
  if (t.rcu == nullptr || rte_rcu_qsbr_init(t.rcu, 1) != 0) return t;
  before = heap_allocated();
  auto fib = RouteTable::create(max_routes, kTbl8Groups, t.rcu, static_cast<int>(rte_socket_id()));
  if (!fib) return t;
  t.fib = std::move(*fib);
  for (uint32_t i = 0; i < routes; ++i) (void)t.fib->set(Ipv4Prefix{Ipv4Addr{route_ip(i)}, 24}, i);
  t.fib_bytes = heap_allocated() - before;

  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> route(0, routes - 1), host(2, 254);
  t.dsts.resize(65536);
  for (uint32_t& d : t.dsts) d = route_ip(route(rng)) + host(rng);
  return t;
}

Tables* ready(benchmark::State& state, bool lpm) {
  Tables& t = tables(static_cast<uint32_t>(state.range(0)));
  if (t.lpm == nullptr || t.fib == nullptr) {
    state.SkipWithError("cannot create the tables");
    return nullptr;
  }
  state.counters["table_MiB"] = static_cast<double>(lpm ? t.lpm_bytes : t.fib_bytes) / (1 << 20);
  return &t;
}

template <class Lookup>
void run_lookups(benchmark::State& state, bool lpm, Lookup lookup) {
  Tables* t = ready(state, lpm);
  if (t == nullptr) return;
  size_t at = 0;
  uint32_t hops[kBurst];
  for (auto _ : state) {
    lookup(*t, &t->dsts[at], hops);
    benchmark::DoNotOptimize(hops);
    at = (at + kBurst) % t->dsts.size();
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
}

void BM_LpmLookup(benchmark::State& state) {
  run_lookups(state, true, [](Tables& t, const uint32_t* dst, uint32_t* hops) {
    for (int i = 0; i < kBurst; ++i) rte_lpm_lookup(t.lpm, dst[i], &hops[i]);
  });
}

void BM_LpmLookupX4(benchmark::State& state) {
  run_lookups(state, true, [](Tables& t, const uint32_t* dst, uint32_t* hops) {
    for (int i = 0; i < kBurst; i += 4) {
      const xmm_t ips = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&dst[i]));
      rte_lpm_lookupx4(t.lpm, ips, &hops[i], UINT32_MAX);
    }
  });
}

void BM_LpmLookupBulk(benchmark::State& state) {
  run_lookups(state, true, [](Tables& t, const uint32_t* dst, uint32_t* hops) {
    rte_lpm_lookup_bulk(t.lpm, dst, hops, kBurst);
  });
}

void BM_RouteLookup(benchmark::State& state) {
  run_lookups(state, false, [](Tables& t, const uint32_t* dst, uint32_t* hops) {
    const RouteLookup l = t.fib->lookup();
    for (int i = 0; i < kBurst; ++i) hops[i] = route_lookup(l, dst[i]);
  });
}

void BM_RouteLookupBulk(benchmark::State& state) {
  run_lookups(state, false, [](Tables& t, const uint32_t* dst, uint32_t* hops) {
    route_lookup_bulk(t.fib->lookup(), dst, hops, kBurst);
  });
}

// The last route added moves to another next hop and back: rte_lpm finds
// an existing rule by scanning the rules of its length in insertion order.
void BM_LpmRouteChange(benchmark::State& state) {
  Tables* t = ready(state, true);
  if (t == nullptr) return;
  const auto last = static_cast<uint32_t>(state.range(0)) - 1;
  uint32_t nh = last;
  for (auto _ : state) {
    nh ^= 1u << 20;
    benchmark::DoNotOptimize(rte_lpm_add(t->lpm, route_ip(last), 24, nh));
  }
}

void BM_RouteTableChange(benchmark::State& state) {
  Tables* t = ready(state, false);
  if (t == nullptr) return;
  const auto last = static_cast<uint32_t>(state.range(0)) - 1;
  const Ipv4Prefix p{Ipv4Addr{route_ip(last)}, 24};
  uint32_t nh = last;
  for (auto _ : state) {
    nh ^= 1u << 20;
    benchmark::DoNotOptimize(t->fib->set(p, nh));
  }
}

// A node joins (its /24 added) and leaves (removed).
void BM_LpmRouteAddRemove(benchmark::State& state) {
  Tables* t = ready(state, true);
  if (t == nullptr) return;
  const uint32_t ip = route_ip(static_cast<uint32_t>(state.range(0)) + 1);
  for (auto _ : state) {
    benchmark::DoNotOptimize(rte_lpm_add(t->lpm, ip, 24, 7));
    benchmark::DoNotOptimize(rte_lpm_delete(t->lpm, ip, 24));
  }
}

void BM_RouteTableAddRemove(benchmark::State& state) {
  Tables* t = ready(state, false);
  if (t == nullptr) return;
  const Ipv4Prefix p{Ipv4Addr{route_ip(static_cast<uint32_t>(state.range(0)) + 1)}, 24};
  for (auto _ : state) {
    benchmark::DoNotOptimize(t->fib->set(p, 7));
    benchmark::DoNotOptimize(t->fib->remove(p));
  }
}

// 1M routes are not measured: rte_lpm scans the rules of a prefix length on
// every add, so loading a million /24s takes minutes (see perf/RESULTS.md).
#define ROUTE_COUNTS Arg(1)->Arg(1000)->Arg(100000)
BENCHMARK(BM_LpmLookup)->ROUTE_COUNTS;
BENCHMARK(BM_LpmLookupX4)->ROUTE_COUNTS;
BENCHMARK(BM_LpmLookupBulk)->ROUTE_COUNTS;
BENCHMARK(BM_RouteLookup)->ROUTE_COUNTS;
BENCHMARK(BM_RouteLookupBulk)->ROUTE_COUNTS;
BENCHMARK(BM_LpmRouteChange)->ROUTE_COUNTS;
BENCHMARK(BM_RouteTableChange)->ROUTE_COUNTS;
BENCHMARK(BM_LpmRouteAddRemove)->ROUTE_COUNTS;
BENCHMARK(BM_RouteTableAddRemove)->ROUTE_COUNTS;

}  // namespace
}  // namespace tartan
