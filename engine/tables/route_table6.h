// The IPv6 route table: longest-prefix match from a destination to a
// next-hop id, read by workers without locks and changed by the control
// thread one route at a time.
//
// Structure: one open-addressed hash table per prefix length in use (key:
// the destination masked to that length, 16 bytes; value: the next-hop
// id), looked up longest length first, a burst at a time, inline. flannel's
// IPv6 podCIDRs nearly all share one length (IPv6SubnetLen, /64 by
// default, /80 in many clusters), plus our own and perhaps a cluster-wide
// one, so a lookup is one or two probes of one table per packet; every
// change is O(1) amortised, whatever the number of routes.
//
// Why not DPDK's own: rte_fib6 (a trie over rte_rib6) has the RCU problem
// route_table.h describes for rte_fib in DPDK 22.11 (its tbl8 groups are
// recycled and zeroed under readers, no rte_fib_rcu_qsbr_add yet), and
// rte_lpm6 has neither RCU nor a rule delete cheaper than a rebuild of the
// whole table (rte_lpm6_delete re-adds every remaining rule). An rte_hash
// per length (what this table was first) is correct but a library call
// with a lock-free reader protocol of its own for every probe: it was
// nearly all of what IPv6 cost beyond IPv4 per packet (perf/RESULTS.md).
//
// RCU: a slot's value is one 4-byte atomic (free, deleted or a next-hop
// id); its key is written before a release store makes the slot live, and
// never changes while any reader may read it: a deleted slot keeps its key
// (readers probe past it) and is taken again only by the same key. Tables
// are never resized in place: a table whose slots (live and deleted) would
// pass three quarters is rebuilt into a new one, published with one
// release store, and the old one freed after a grace period of the tables'
// rte_rcu_qsbr. Which lengths exist is a 129-bit mask read with acquire
// loads: a length's table is created and its first key added before its
// bit is set, and its bit is cleared before the table, then empty, is
// freed a grace period later. A worker that sees a stale bit probes an
// empty (still allocated) table and finds nothing.
#pragma once

#include <rte_byteorder.h>
#include <rte_hash_crc.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "engine/net_types.h"
#include "engine/status.h"
#include "engine/tables/route_table.h"

namespace tartan {

inline constexpr unsigned kIpv6Lengths = 129;  // /0 .. /128
inline constexpr unsigned kIpv6LengthWords = 3;

// A slot's value besides a next-hop id (< kNoRoute).
inline constexpr uint32_t kRoute6Free = UINT32_MAX;         // never used: ends a probe
inline constexpr uint32_t kRoute6Deleted = UINT32_MAX - 1;  // its route went: probes go on

struct Route6Slot {
  std::atomic<uint64_t> key[2];  // the masked prefix as it lies in memory
  std::atomic<uint32_t> hop;
  uint32_t pad;
};

// One length's table: `mask + 1` slots (a power of two), in the same
// allocation after the header.
struct alignas(RTE_CACHE_LINE_SIZE) Route6Hash {
  uint32_t mask;
  Route6Slot* slots;
};

// What workers read.
struct Route6Lookup {
  const std::atomic<uint64_t>* present = nullptr;          // bit L: length L has a table
  const std::atomic<const Route6Hash*>* by_len = nullptr;  // the table of length L
};

// The mask of a prefix length over the address's two 64-bit words as they
// lie in memory (network order).
struct Ipv6Mask {
  uint64_t hi, lo;
};
inline Ipv6Mask ipv6_mask(unsigned len) {
  const auto word = [](unsigned bits) -> uint64_t {
    if (bits == 0) return 0;
    if (bits >= 64) return ~uint64_t{0};
    return rte_cpu_to_be_64(~uint64_t{0} << (64 - bits));
  };
  return {word(len), word(len > 64 ? len - 64 : 0)};
}

// A masked address as two words, and the slot its probe starts at.
struct Route6Key {
  uint64_t w[2];
};
inline Route6Key route6_key(const uint8_t* addr, const Ipv6Mask& mask) {
  Route6Key k;
  std::memcpy(k.w, addr, 16);
  k.w[0] &= mask.hi;
  k.w[1] &= mask.lo;
  return k;
}
inline uint32_t route6_slot(const Route6Key& k, uint32_t mask) {
  return rte_hash_crc_8byte(k.w[1], rte_hash_crc_8byte(k.w[0], 0x6b43a9b5)) & mask;
}

// The next hop of `k` in `h` from slot `i` on, kNoRoute where it has none.
// Tables are never over three quarters full: a free slot ends every probe.
inline uint32_t route6_probe(const Route6Hash& h, const Route6Key& k, uint32_t i) {
  for (;; i = (i + 1) & h.mask) {
    const Route6Slot& s = h.slots[i];
    const uint32_t hop = s.hop.load(std::memory_order_acquire);
    if (hop == kRoute6Free) return kNoRoute;
    if (hop != kRoute6Deleted && s.key[0].load(std::memory_order_relaxed) == k.w[0] &&
        s.key[1].load(std::memory_order_relaxed) == k.w[1]) {
      return hop;
    }
  }
}

// The next-hop ids of the longest prefixes holding `dst[0..n)` (each 16
// bytes, network order), kNoRoute where none does. n <= 64. Each length's
// probes start only once every packet's first slot has been prefetched,
// so with large tables their misses overlap. (`dst` is an array of
// non-const pointers only so GCC 12 does not take a burst's unfilled tail
// for a read of uninitialised memory.)
inline void route6_lookup_bulk(const Route6Lookup& t, const uint8_t** dst, uint32_t* hops,
                               unsigned n) {
  Route6Key keys[64];
  uint32_t first[64];
  unsigned pending[64];
  unsigned left = n;
  for (unsigned i = 0; i < n; ++i) {
    hops[i] = kNoRoute;
    pending[i] = i;
  }
  uint64_t present[kIpv6LengthWords];
  for (unsigned w = 0; w < kIpv6LengthWords; ++w)
    present[w] = t.present[w].load(std::memory_order_acquire);
  for (int w = kIpv6LengthWords - 1; w >= 0 && left > 0; --w) {
    while (present[w] != 0 && left > 0) {
      const unsigned bit = 63 - static_cast<unsigned>(__builtin_clzll(present[w]));
      present[w] &= ~(uint64_t{1} << bit);
      const unsigned len = static_cast<unsigned>(w) * 64 + bit;
      const Route6Hash* h = t.by_len[len].load(std::memory_order_acquire);
      if (h == nullptr) continue;
      const Ipv6Mask mask = ipv6_mask(len);
      for (unsigned j = 0; j < left; ++j) {
        keys[j] = route6_key(dst[pending[j]], mask);
        first[j] = route6_slot(keys[j], h->mask);
        rte_prefetch0(&h->slots[first[j]]);
      }
      unsigned still = 0;
      for (unsigned j = 0; j < left; ++j) {
        const uint32_t hop = route6_probe(*h, keys[j], first[j]);
        if (hop != kNoRoute) {
          hops[pending[j]] = hop;
        } else {
          pending[still++] = pending[j];
        }
      }
      left = still;
    }
  }
}

class RouteTable6 {
 public:
  // At most `max_lengths` prefix lengths in use at once, each holding up to
  // `max_routes` routes.
  static Result<std::unique_ptr<RouteTable6>> create(uint32_t max_routes, unsigned max_lengths,
                                                     rte_rcu_qsbr* rcu, int socket);
  ~RouteTable6();
  RouteTable6(const RouteTable6&) = delete;
  RouteTable6& operator=(const RouteTable6&) = delete;

  // Adds the route of `prefix` (a network: host bits zero) or changes its
  // next hop (< kNoRoute). kResourceExhausted, with nothing changed, when
  // its length would be one too many or already holds max_routes routes.
  Status set(const Ipv6Prefix& prefix, uint32_t next_hop);
  // False when there is no such route.
  bool remove(const Ipv6Prefix& prefix);
  // Frees the tables of lengths emptied a grace period ago; never waits.
  void reclaim();

  Route6Lookup lookup() const { return {present_.data(), by_len_.data()}; }
  unsigned lengths_in_use() const;

 private:
  RouteTable6() = default;
  // A table of `slots` slots holding the live routes of `from` (null: none).
  Result<Route6Hash*> make_hash(uint32_t slots, const Route6Hash* from) const;
  void set_present(uint8_t len, bool on);

  uint32_t max_routes_ = 0;
  uint32_t max_slots_ = 0;  // the size no table grows past
  unsigned max_lengths_ = 0;
  int socket_ = 0;
  rte_rcu_qsbr* rcu_ = nullptr;
  std::array<std::atomic<uint64_t>, kIpv6LengthWords> present_{};
  std::array<std::atomic<const Route6Hash*>, kIpv6Lengths> by_len_{};
  std::array<uint32_t, kIpv6Lengths> routes_{};  // live routes per length
  std::array<uint32_t, kIpv6Lengths> used_{};    // live and deleted slots per length
  // Emptied lengths: their tables are freed once rcu_ passes retired_token_
  // (unless a route of that length came back meanwhile).
  std::vector<uint8_t> retired_;
  uint64_t retired_token_ = 0;
};

}  // namespace tartan
