// The IPv6 route table workers look up (engine/tables/route_table6.h):
// longest match across prefix lengths agrees with a reference model through
// random churn, bulk lookups agree with the model for every address of a
// burst, removed routes never fill a length, the lengths in use are
// bounded with a named error, and a reader
// looking up while routes and whole lengths come and go never sees an
// answer that was not valid.
#include "engine/tables/route_table6.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

namespace tartan {
namespace {

struct Rcu {
  explicit Rcu(unsigned readers) {
    v = static_cast<rte_rcu_qsbr*>(
        rte_zmalloc("test_rcu6", rte_rcu_qsbr_get_memsize(readers), RTE_CACHE_LINE_SIZE));
    if (v != nullptr) rte_rcu_qsbr_init(v, readers);
  }
  ~Rcu() { rte_free(v); }
  rte_rcu_qsbr* v = nullptr;
};

std::unique_ptr<RouteTable6> make_table(uint32_t max_routes, unsigned lengths, rte_rcu_qsbr* rcu) {
  auto t = RouteTable6::create(max_routes, lengths, rcu, static_cast<int>(rte_socket_id()));
  if (!t) {
    ADD_FAILURE() << t.status().message();
    return nullptr;
  }
  return std::move(*t);
}

Ipv6Prefix prefix(const Ipv6Addr& a, uint8_t len) {
  return Ipv6Prefix{a, len}.network();
}

Ipv6Addr addr(const char* s) {
  return *Ipv6Addr::parse(s);
}

uint32_t lookup_one(const RouteTable6& t, const Ipv6Addr& a) {
  const uint8_t* p = a.bytes.data();
  uint32_t hop;
  route6_lookup_bulk(t.lookup(), &p, &hop, 1);
  return hop;
}

// Longest match by brute force over the 129 lengths.
uint32_t reference_lookup(const std::map<Ipv6Prefix, uint32_t>& model, const Ipv6Addr& a) {
  for (int len = 128; len >= 0; --len) {
    auto it = model.find(prefix(a, static_cast<uint8_t>(len)));
    if (it != model.end()) return it->second;
  }
  return kNoRoute;
}

TEST(RouteTable6, LongestPrefixWinsAcrossLengths) {
  Rcu rcu(1);
  auto t = make_table(64, 8, rcu.v);
  ASSERT_NE(t, nullptr);
  ASSERT_TRUE(t->set(prefix(addr("fd00:10:244::"), 48), 1).ok());
  ASSERT_TRUE(t->set(prefix(addr("fd00:10:244:5::"), 64), 2).ok());
  ASSERT_TRUE(t->set(prefix(addr("fd00:10:244:5:1::"), 80), 3).ok());
  EXPECT_EQ(lookup_one(*t, addr("fd00:10:244:5:1::7")), 3u);
  EXPECT_EQ(lookup_one(*t, addr("fd00:10:244:5:2::7")), 2u);
  EXPECT_EQ(lookup_one(*t, addr("fd00:10:244:6::7")), 1u);
  EXPECT_EQ(lookup_one(*t, addr("fd00:10:245::1")), kNoRoute);
  // Replace, then remove: the address falls back to the covering prefix.
  ASSERT_TRUE(t->set(prefix(addr("fd00:10:244:5::"), 64), 9).ok());
  EXPECT_EQ(lookup_one(*t, addr("fd00:10:244:5:2::7")), 9u);
  ASSERT_TRUE(t->remove(prefix(addr("fd00:10:244:5::"), 64)));
  EXPECT_EQ(lookup_one(*t, addr("fd00:10:244:5:2::7")), 1u);
  EXPECT_EQ(lookup_one(*t, addr("fd00:10:244:5:1::7")), 3u);
  EXPECT_FALSE(t->remove(prefix(addr("fd00:10:244:5::"), 64)));
  EXPECT_EQ(t->lengths_in_use(), 2u);
  // /128 and /1 at the ends of the range.
  ASSERT_TRUE(t->set(prefix(addr("fd00:10:244:5:1::7"), 128), 4).ok());
  ASSERT_TRUE(t->set(prefix(addr("8000::"), 1), 5).ok());
  EXPECT_EQ(lookup_one(*t, addr("fd00:10:244:5:1::7")), 4u);
  EXPECT_EQ(lookup_one(*t, addr("fd00:10:244:5:1::8")), 3u);
  EXPECT_EQ(lookup_one(*t, addr("2001:db8::1")), kNoRoute);
  EXPECT_EQ(lookup_one(*t, addr("fe80::1")), 5u);
}

TEST(RouteTable6, RandomChurnAndBulkLookupsMatchAReferenceModel) {
  Rcu rcu(1);
  auto t = make_table(4096, 8, rcu.v);
  ASSERT_NE(t, nullptr);
  std::mt19937 rng(11);
  const uint8_t lengths[] = {48, 56, 64, 80, 96, 128};
  // Addresses under one /40, so prefixes nest.
  const auto random_addr = [&rng] {
    Ipv6Addr a = addr("fd00:10:2400::");
    for (int i = 5; i < 16; ++i) a.bytes[i] = static_cast<uint8_t>(rng() % 4);
    return a;
  };
  std::map<Ipv6Prefix, uint32_t> model;
  for (int step = 0; step < 4000; ++step) {
    const Ipv6Prefix p = prefix(random_addr(), lengths[rng() % std::size(lengths)]);
    if (model.count(p) && rng() % 2) {
      ASSERT_TRUE(t->remove(p));
      model.erase(p);
    } else {
      const uint32_t hop = rng() % 100000;
      ASSERT_TRUE(t->set(p, hop).ok()) << p.str();
      model[p] = hop;
    }
    if (step % 50 == 0) t->reclaim();
    // A burst of 64 lookups against the model.
    std::array<Ipv6Addr, 64> dst;
    std::array<const uint8_t*, 64> ptrs;
    std::array<uint32_t, 64> hops;
    for (size_t i = 0; i < dst.size(); ++i) {
      dst[i] = random_addr();
      ptrs[i] = dst[i].bytes.data();
    }
    route6_lookup_bulk(t->lookup(), ptrs.data(), hops.data(), 64);
    for (size_t i = 0; i < dst.size(); ++i)
      ASSERT_EQ(hops[i], reference_lookup(model, dst[i])) << dst[i].str() << " at step " << step;
  }
}

// Removed routes leave their slots to readers until the length's table is
// rebuilt: a length full of them is rebuilt, never refused, and only its
// live routes count against max_routes.
TEST(RouteTable6, RoutesThatComeAndGoNeverFillALength) {
  Rcu rcu(1);
  auto t = make_table(16, 2, rcu.v);
  ASSERT_NE(t, nullptr);
  const auto sub = [](uint32_t n) {
    Ipv6Addr a = addr("fd00:10:244::");
    a.bytes[6] = static_cast<uint8_t>(n >> 8);
    a.bytes[7] = static_cast<uint8_t>(n);
    return prefix(a, 64);
  };
  for (uint32_t n = 0; n < 2000; ++n) {
    ASSERT_TRUE(t->set(sub(n), n).ok()) << "route " << n;
    if (n >= 10) {
      ASSERT_TRUE(t->remove(sub(n - 10)));
    }
  }
  for (uint32_t n = 0; n < 2000; ++n) {
    Ipv6Addr a = sub(n).addr;
    a.bytes[15] = 1;
    ASSERT_EQ(lookup_one(*t, a), n >= 1990 ? n : kNoRoute) << a.str();
  }
  // Sixteen live routes fill it.
  for (uint32_t n = 2000; n < 2006; ++n) ASSERT_TRUE(t->set(sub(n), n).ok());
  const Status s = t->set(sub(3000), 3000);
  EXPECT_EQ(s.code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(s.message().find("/64 full"), std::string::npos) << s.message();
}

TEST(RouteTable6, TooManyLengthsIsNamedAndChangesNothing) {
  Rcu rcu(1);
  auto t = make_table(64, 2, rcu.v);
  ASSERT_NE(t, nullptr);
  ASSERT_TRUE(t->set(prefix(addr("fd00:1::"), 64), 1).ok());
  ASSERT_TRUE(t->set(prefix(addr("fd00:2::"), 80), 2).ok());
  const Status s = t->set(prefix(addr("fd00:3::"), 96), 3);
  EXPECT_EQ(s.code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(s.message().find("prefix lengths"), std::string::npos) << s.message();
  EXPECT_EQ(lookup_one(*t, addr("fd00:3::1")), kNoRoute);
  EXPECT_EQ(t->lengths_in_use(), 2u);
  // A length that empties makes room again.
  ASSERT_TRUE(t->remove(prefix(addr("fd00:2::"), 80)));
  EXPECT_TRUE(t->set(prefix(addr("fd00:3::"), 96), 3).ok());
  EXPECT_EQ(lookup_one(*t, addr("fd00:3::1")), 3u);
}

TEST(RouteTable6, ReaderNeverSeesAWrongNextHopWhileRoutesAndLengthsComeAndGo) {
  Rcu rcu(1);
  auto t = make_table(1024, 8, rcu.v);
  ASSERT_NE(t, nullptr);
  // A cover every address holds, and /64s and /80s under it whose next-hop
  // id names the prefix: a reader can tell a right answer from a wrong one.
  constexpr uint32_t kCover = 1;
  ASSERT_TRUE(t->set(prefix(addr("fd00:10:244::"), 48), kCover).ok());
  const auto sub = [](uint32_t n, uint8_t len) {
    Ipv6Addr a = addr("fd00:10:244::");
    a.bytes[7] = static_cast<uint8_t>(n % 16);
    if (len == 80) a.bytes[8] = static_cast<uint8_t>(n / 16 % 4);
    return prefix(a, len);
  };
  const auto id_of = [](uint32_t n, uint8_t len) { return 2 + n * 2 + (len == 80); };
  const Route6Lookup lookup = t->lookup();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> lookups{0}, wrong{0};
  std::thread reader([&] {
    cpu_set_t all;
    CPU_ZERO(&all);
    for (unsigned c = 0; c < std::thread::hardware_concurrency(); ++c) CPU_SET(c, &all);
    pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
    rte_rcu_qsbr_thread_register(rcu.v, 0);
    rte_rcu_qsbr_thread_online(rcu.v, 0);
    std::mt19937 rng(3);
    uint64_t n = 0, bad = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      std::array<Ipv6Addr, 64> dst;
      std::array<const uint8_t*, 64> ptrs;
      std::array<uint32_t, 64> hops;
      for (size_t i = 0; i < dst.size(); ++i) {
        dst[i] = addr("fd00:10:244::1");
        dst[i].bytes[7] = static_cast<uint8_t>(rng() % 16);
        dst[i].bytes[8] = static_cast<uint8_t>(rng() % 4);
        ptrs[i] = dst[i].bytes.data();
      }
      route6_lookup_bulk(lookup, ptrs.data(), hops.data(), 64);
      for (size_t i = 0; i < dst.size(); ++i) {
        ++n;
        const uint32_t h = hops[i];
        if (h == kCover) continue;
        // Valid only if it names a /64 or /80 holding this address.
        const uint32_t k = (h - 2) / 2;
        const uint8_t len = (h - 2) % 2 ? 80 : 64;
        if (h < 2 || !sub(k, len).contains(dst[i])) ++bad;
      }
      rte_rcu_qsbr_quiescent(rcu.v, 0);
    }
    rte_rcu_qsbr_thread_offline(rcu.v, 0);
    rte_rcu_qsbr_thread_unregister(rcu.v, 0);
    lookups = n;
    wrong = bad;
  });
  std::mt19937 rng(5);
  std::map<Ipv6Prefix, uint32_t> present;
  int changes = 0;
  std::string failure;  // the writer's first failure (the reader must stop first)
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (failure.empty() && std::chrono::steady_clock::now() < deadline) {
    const uint8_t len = rng() % 2 ? 80 : 64;
    const uint32_t k = len == 80 ? rng() % 64 : rng() % 16;
    const Ipv6Prefix p = sub(k, len);
    if (present.count(p)) {
      if (!t->remove(p)) failure = "remove " + p.str();
      present.erase(p);
    } else if (Status s = t->set(p, id_of(k, len)); !s.ok()) {
      failure = "set " + p.str() + ": " + s.message();
    } else {
      present[p] = id_of(k, len);
    }
    // Now and then a whole length goes, so its hash is freed and made anew.
    if (++changes % 500 == 0) {
      for (auto it = present.begin(); it != present.end();) {
        if (it->first.len == 80) {
          if (!t->remove(it->first)) failure = "remove " + it->first.str();
          it = present.erase(it);
        } else {
          ++it;
        }
      }
    }
    t->reclaim();
  }
  stop = true;
  reader.join();
  EXPECT_EQ(failure, "");
  EXPECT_GT(lookups.load(), 10000u);
  EXPECT_GT(changes, 1000);
  EXPECT_EQ(wrong.load(), 0u) << "of " << lookups.load() << " lookups";
}

}  // namespace
}  // namespace tartan
