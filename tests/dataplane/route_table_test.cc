// The route table workers look up (engine/tables/route_table.h): every
// prefix length matches a reference model through thousands of random
// adds, replaces and removes; a reader looking up while groups are freed and
// reused never sees an answer that was not valid; capacity errors say what
// ran out and change nothing.
#include "engine/tables/route_table.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pause.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

namespace tartan {
namespace {

struct Rcu {
  explicit Rcu(unsigned readers) {
    v = static_cast<rte_rcu_qsbr*>(
        rte_zmalloc("test_rcu", rte_rcu_qsbr_get_memsize(readers), RTE_CACHE_LINE_SIZE));
    if (v != nullptr) rte_rcu_qsbr_init(v, readers);
  }
  ~Rcu() { rte_free(v); }
  rte_rcu_qsbr* v = nullptr;
};

std::unique_ptr<RouteTable> make_table(uint32_t max_routes, uint32_t groups, rte_rcu_qsbr* rcu) {
  auto t = RouteTable::create(max_routes, groups, rcu, static_cast<int>(rte_socket_id()));
  if (!t) {
    ADD_FAILURE() << t.status().message();
    return nullptr;
  }
  return std::move(*t);
}

Ipv4Prefix prefix(uint32_t ip, uint8_t len) {
  return Ipv4Prefix{Ipv4Addr{ip}, len}.network();
}

// Longest match by brute force over the 33 lengths.
uint32_t reference_lookup(const std::map<Ipv4Prefix, uint32_t>& model, uint32_t ip) {
  for (int len = 32; len >= 0; --len) {
    auto it = model.find(prefix(ip, static_cast<uint8_t>(len)));
    if (it != model.end()) return it->second;
  }
  return kNoRoute;
}

TEST(RouteTable, EveryLengthMatchesAReferenceModelThroughRandomChurn) {
  Rcu rcu(1);
  // The region's 16 /24s hold about 16 groups; the prefixes elsewhere need more.
  constexpr uint32_t kGroups = 20;
  auto table = make_table(4096, kGroups, rcu.v);
  ASSERT_NE(table, nullptr);
  const RouteLookup lookup = table->lookup();
  std::map<Ipv4Prefix, uint32_t> model;
  std::mt19937 rng(16);
  // Most prefixes nest inside 10.0.0.0/20 (16 /24s) so they cover and split
  // each other; one in eight lies anywhere.
  constexpr uint32_t kRegion = 10u << 24;
  auto random_ip = [&] {
    return rng() % 8 == 0 ? static_cast<uint32_t>(rng()) : kRegion | (rng() % 4096);
  };
  auto check = [&](uint32_t ip) {
    const uint32_t want = reference_lookup(model, ip);
    ASSERT_EQ(route_lookup(lookup, ip), want) << Ipv4Addr{ip}.str();
  };
  int adds = 0, replaces = 0, removes = 0, full = 0;
  std::array<int, 33> lengths{};
  for (int op = 0; op < 6000; ++op) {
    const unsigned kind = rng() % 10;
    Ipv4Prefix p;
    if (kind < 4 && !model.empty()) {
      // A removal or a replacement of an existing route.
      auto it = model.begin();
      std::advance(it, rng() % model.size());
      p = it->first;
      if (kind < 3) {
        ASSERT_TRUE(table->remove(p));
        model.erase(it);
        ++removes;
      } else {
        const uint32_t nh = rng() % 100000;
        ASSERT_TRUE(table->set(p, nh).ok());
        it->second = nh;
        ++replaces;
      }
    } else {
      p = prefix(random_ip(), static_cast<uint8_t>(rng() % 33));
      const uint32_t nh = rng() % 100000;
      const bool had_group_room = table->free_groups() + table->retired_groups() > 0;
      const Status s = table->set(p, nh);
      if (!s.ok()) {
        // Only a longer-than-/24 prefix in a /24 without a group may fail,
        // and only with every group in use.
        ASSERT_EQ(s.code(), ErrorCode::kResourceExhausted);
        ASSERT_EQ(s.message(), "no group left for a prefix longer than /24");
        ASSERT_GT(p.len, 24);
        ASSERT_FALSE(had_group_room);
        ASSERT_EQ(model.count(p), 0u);
        ++full;
      } else {
        (model.count(p) ? replaces : adds)++;
        model[p] = nh;
        ++lengths[p.len];
      }
    }
    // The prefix's edges and just outside them, and random addresses.
    const uint32_t first = p.addr.value;
    const uint32_t last = first | ~p.mask();
    for (uint32_t ip : {first, last, first - 1, last + 1, first + (last - first) / 2}) check(ip);
    for (int i = 0; i < 16; ++i) check(random_ip());
    if (::testing::Test::HasFatalFailure()) return;
    if (op % 1000 == 999) {
      for (uint32_t a = 0; a < 4096 + 512; ++a) check(kRegion - 256 + a);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  for (int len = 0; len <= 32; ++len) EXPECT_GT(lengths[len], 0) << "/" << len << " never added";
  EXPECT_GT(removes, 1000);
  EXPECT_GT(replaces, 500);
  EXPECT_GT(full, 0) << "the group limit was never reached";
  // Emptied, the table answers no route everywhere and every group is back.
  for (const auto& [p, nh] : model) ASSERT_TRUE(table->remove(p));
  for (uint32_t a = 0; a < 4096; ++a) ASSERT_EQ(route_lookup(lookup, kRegion | a), kNoRoute);
  table->reclaim();
  EXPECT_EQ(table->free_groups(), kGroups);
  EXPECT_FALSE(table->remove(prefix(kRegion, 24)));
}

TEST(RouteTable, BulkLookupAgreesWithSingleLookups) {
  Rcu rcu(1);
  auto table = make_table(64, 4, rcu.v);
  ASSERT_NE(table, nullptr);
  ASSERT_TRUE(table->set(prefix(10u << 24, 8), 1).ok());
  ASSERT_TRUE(table->set(prefix((10u << 24) | (5 << 8) | 128, 25), 2).ok());
  ASSERT_TRUE(table->set(prefix((10u << 24) | (5 << 8) | 200, 32), 3).ok());
  std::array<uint32_t, 6> ips{(10u << 24) | (5 << 8) | 1,   (10u << 24) | (5 << 8) | 129,
                              (10u << 24) | (5 << 8) | 200, 11u << 24,
                              (10u << 24) | (6 << 8),       0};
  std::array<uint32_t, 6> hops{};
  route_lookup_bulk(table->lookup(), ips.data(), hops.data(), ips.size());
  EXPECT_EQ(hops, (std::array<uint32_t, 6>{1, 2, 3, kNoRoute, 1, kNoRoute}));
}

TEST(RouteTable, FullRulesAreNamedAndChangeNothing) {
  Rcu rcu(1);
  auto table = make_table(4, 4, rcu.v);  // room for 9 trie nodes
  ASSERT_NE(table, nullptr);
  Status s;
  uint32_t added = 0;
  // Prefixes that share no bits make a branching node each.
  for (; added < 64; ++added) {
    s = table->set(prefix(added << 26, 6), added);
    if (!s.ok()) break;
  }
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(s.message().rfind("route rules full", 0), 0u) << s.message();
  EXPECT_GE(added, 4u);
  EXPECT_EQ(route_lookup(table->lookup(), added << 26), kNoRoute);
  EXPECT_EQ(route_lookup(table->lookup(), 0), 0u);
}

// The prefixes churned inside each /24 of the concurrent test, and the
// next-hop id that names (block, prefix): block * 100 + index + 2.
struct Sub {
  uint32_t offset;
  uint8_t len;
};
constexpr Sub kSubs[] = {{0, 25}, {128, 25}, {0, 26},   {64, 26}, {192, 26},
                         {0, 28}, {96, 27},  {200, 29}, {7, 32},  {255, 32}};
constexpr uint32_t kCover = 1;  // the /16 every block lies in
constexpr uint32_t kBlocks = 12;

TEST(RouteTable, ReaderNeverSeesAWrongNextHopWhileGroupsAreFreedAndReused) {
  Rcu rcu(1);
  // Fewer groups than churned /24s: every add after a removal reuses a group
  // some /24 just left.
  auto table = make_table(1024, 4, rcu.v);
  ASSERT_NE(table, nullptr);
  const uint32_t base = (10u << 24) | (7u << 16);
  ASSERT_TRUE(table->set(prefix(base, 16), kCover).ok());
  const RouteLookup lookup = table->lookup();

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> lookups{0}, wrong{0}, specific{0};
  std::atomic<uint32_t> first_wrong{0}, first_wrong_ip{0};
  std::thread reader([&] {
    // Off the EAL main thread's CPU, as a worker lcore would be: a writer
    // waiting out a grace period must not spin on the CPU the reader needs.
    cpu_set_t all;
    CPU_ZERO(&all);
    for (unsigned c = 0; c < std::thread::hardware_concurrency(); ++c) CPU_SET(c, &all);
    pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
    rte_rcu_qsbr_thread_register(rcu.v, 0);
    rte_rcu_qsbr_thread_online(rcu.v, 0);
    std::mt19937 rng(3);
    uint64_t n = 0, bad = 0, hits = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      // route_lookup in two halves with a pause between, as a worker holds
      // what it read across a burst: the /24 entries, then their groups. What
      // a reader read before its quiescent state must stay valid until then.
      std::array<uint32_t, 64> ips, entries;
      for (size_t i = 0; i < ips.size(); ++i) {
        ips[i] = base | ((rng() % kBlocks) << 8) | (rng() % 256);
        entries[i] = __atomic_load_n(&lookup.tbl24[ips[i] >> 8], __ATOMIC_ACQUIRE);
      }
      for (int spin = 0; spin < 200; ++spin) rte_pause();
      for (size_t i = 0; i < ips.size(); ++i) {
        const uint32_t ip = ips[i], block = (ip >> 8) & 0xff, host = ip & 0xff;
        const uint32_t got =
            (entries[i] & kRouteGroup)
                ? __atomic_load_n(&lookup.tbl8[((entries[i] & ~kRouteGroup) << 8) | host],
                                  __ATOMIC_RELAXED)
                : entries[i];
        ++n;
        if (got == kCover) continue;
        // Valid only if it names a prefix of this /24 holding this address.
        const uint32_t b = (got - 2) / 100, idx = (got - 2) % 100;
        const bool ok =
            got >= 2 && b == block && idx < std::size(kSubs) &&
            (host >> (32 - kSubs[idx].len)) == (kSubs[idx].offset >> (32 - kSubs[idx].len));
        if (ok) {
          ++hits;
        } else if (bad++ == 0) {
          first_wrong = got;
          first_wrong_ip = ip;
        }
      }
      rte_rcu_qsbr_quiescent(rcu.v, 0);
    }
    rte_rcu_qsbr_thread_offline(rcu.v, 0);
    rte_rcu_qsbr_thread_unregister(rcu.v, 0);
    lookups = n;
    wrong = bad;
    specific = hits;
  });

  std::mt19937 rng(5);
  std::map<Ipv4Prefix, uint32_t> present;
  int changes = 0, refused = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (changes < 200000 && std::chrono::steady_clock::now() < deadline) {
    const uint32_t block = rng() % kBlocks, idx = rng() % std::size(kSubs);
    const Ipv4Prefix p = prefix(base | (block << 8) | kSubs[idx].offset, kSubs[idx].len);
    if (present.count(p)) {
      ASSERT_TRUE(table->remove(p));
      present.erase(p);
    } else if (Status s = table->set(p, block * 100 + idx + 2); s.ok()) {
      present[p] = block * 100 + idx + 2;
    } else {
      ASSERT_EQ(s.code(), ErrorCode::kResourceExhausted);
      ++refused;
      // Free a /24 entirely so its group can go round again.
      for (auto it = present.begin(); it != present.end();) {
        if ((it->first.addr.value >> 8) != (present.begin()->first.addr.value >> 8)) break;
        ASSERT_TRUE(table->remove(it->first));
        it = present.erase(it);
      }
    }
    ++changes;
    if (changes % 64 == 0) table->reclaim();
  }
  stop = true;
  reader.join();
  EXPECT_EQ(wrong.load(), 0u) << "first wrong answer " << first_wrong << " for "
                              << Ipv4Addr{first_wrong_ip}.str();
  EXPECT_GT(lookups.load(), 100000u);
  EXPECT_GT(specific.load(), 1000u) << "the reader never saw a longer prefix";
  EXPECT_GT(refused, 10) << "groups were never exhausted, so never reused under the reader";
  EXPECT_GT(changes, 1000);
}

}  // namespace
}  // namespace tartan
