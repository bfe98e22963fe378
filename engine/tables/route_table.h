// The IPv4 route table: longest-prefix match from a destination to a
// next-hop id. Workers read it with the inline lookups below, without locks;
// the control thread changes it one route at a time through RouteTable.
//
// Structure: a DIR-24-8 lookup table (as rte_lpm and rte_fib have: one
// 4-byte entry per /24, and a group of 256 entries for each /24 that holds a
// prefix longer than /24) built from the rules kept in an rte_rib, DPDK's
// binary trie. The trie makes rule management O(prefix length): finding,
// adding or removing a rule and walking the rules a prefix covers touch only
// its path, where rte_lpm scans every rule of the same length (70 us per
// change at 100,000 routes). Lookups are the same one or two dependent loads
// as rte_lpm's, inlined here.
//
// Why not rte_fib, which is exactly DIR24_8 + rte_rib: in DPDK 22.11 it has
// no RCU (rte_fib_rcu_qsbr_add came in 24.x). When a change leaves a /24's
// group uniform, dir24_8.c's tbl8_recycle repoints the /24 and zeroes the
// group at once, and frees its index for the very next allocation, even
// within the same rte_fib_add. A worker that read the old /24 entry then
// reads zero (next-hop 0: our local port) or another prefix's next hop. No
// wrapper can defer that zeroing, so the table is ours and rte_rib (which
// workers never read) keeps the rules. IPv6 (issue 14) has the same pair in
// DPDK: rte_rib6 for the rules and a trie in rte_fib6, with the same caveat.
//
// RCU: every entry is a 4-byte atomic store, so a worker sees the old or the
// new value of each. A new group is filled before the /24 entry pointing at
// it is published (release). A group leaves its /24 only when its last
// prefix longer than /24 goes; it is then never written again until a grace
// period of the tables' rte_rcu_qsbr has passed (no worker can still hold
// the old /24 entry), and only then returns to the free list.
#pragma once

#include <rte_rcu_qsbr.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/net_types.h"
#include "engine/status.h"

struct rte_rib;

namespace tartan {

// A lookup's answer when no prefix contains the address.
inline constexpr uint32_t kNoRoute = 0x7fffffff;

// What workers read.
struct RouteLookup {
  const uint32_t* tbl24 = nullptr;  // per /24: a next-hop id, or kRouteGroup | group
  const uint32_t* tbl8 = nullptr;   // 256 next-hop ids per group
};

inline constexpr uint32_t kRouteGroup = 0x80000000u;

// The next-hop id of the longest prefix holding `ip` (host order), or kNoRoute.
// The group load depends on the /24 load's value, so no CPU reorders them;
// acquire keeps the compiler from doing so (a plain load on x86).
inline uint32_t route_lookup(const RouteLookup& t, uint32_t ip) {
  uint32_t e = __atomic_load_n(&t.tbl24[ip >> 8], __ATOMIC_ACQUIRE);
  if (e & kRouteGroup) [[unlikely]]
    e = __atomic_load_n(&t.tbl8[((e & ~kRouteGroup) << 8) | (ip & 0xff)], __ATOMIC_RELAXED);
  return e;
}

// A burst. The lookups are independent, so the CPU overlaps their misses;
// a prefetch pass over the /24 entries first (as rte_lpm_lookup_bulk does)
// measured slower at 1, 1,000 and 100,000 routes (perf/RESULTS.md).
inline void route_lookup_bulk(const RouteLookup& t, const uint32_t* ips, uint32_t* hops,
                              unsigned n) {
  for (unsigned i = 0; i < n; ++i) hops[i] = route_lookup(t, ips[i]);
}

class RouteTable {
 public:
  // `groups`: /24s that may hold prefixes longer than /24 at once.
  static Result<std::unique_ptr<RouteTable>> create(uint32_t max_routes, uint32_t groups,
                                                    rte_rcu_qsbr* rcu, int socket);
  ~RouteTable();
  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;

  // Adds the route of `prefix` or changes its next hop (< kNoRoute).
  // Changing a route never allocates. kResourceExhausted, with nothing
  // changed, when no group is left (after waiting out one grace period for
  // the groups retired since the last) or the rules are full.
  Status set(const Ipv4Prefix& prefix, uint32_t next_hop);
  // False when there is no such route.
  bool remove(const Ipv4Prefix& prefix);
  // Retired groups whose grace period has passed become free; never waits.
  void reclaim();

  RouteLookup lookup() const { return {tbl24_, tbl8_}; }
  uint32_t free_groups() const { return static_cast<uint32_t>(free_.size()); }
  uint32_t retired_groups() const { return static_cast<uint32_t>(retired_.size()); }

 private:
  RouteTable() = default;
  // Writes `value` over [first, end) except the prefixes `ip/len` covers.
  void paint(uint32_t ip, uint8_t len, uint32_t value);
  void write_range(uint64_t first, uint64_t end, uint32_t value);
  bool group_available();
  void retire(uint32_t group);

  rte_rib* rib_ = nullptr;
  rte_rcu_qsbr* rcu_ = nullptr;
  uint32_t* tbl24_ = nullptr;
  uint32_t* tbl8_ = nullptr;
  std::vector<uint32_t> free_;
  std::vector<uint32_t> retired_;  // unreachable once rcu_ passes retired_token_
  uint64_t retired_token_ = 0;
};

}  // namespace tartan
