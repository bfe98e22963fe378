// The IPv6 route table: longest-prefix match from a destination to a
// next-hop id, read by workers without locks and changed by the control
// thread one route at a time.
//
// Structure: one lock-free rte_hash per prefix length in use (key: the
// destination masked to that length, 16 bytes; data: the next-hop id),
// looked up longest length first, a burst at a time. flannel's IPv6
// podCIDRs nearly all share one length (IPv6SubnetLen, /64 by default, /80
// in many clusters), plus our own and perhaps a cluster-wide one, so a
// lookup is one or two bulk hash probes; every change is O(1) (one hash
// add or delete), whatever the number of routes.
//
// Why not DPDK's own: rte_fib6 (a trie over rte_rib6) has the RCU problem
// route_table.h describes for rte_fib in DPDK 22.11 (its tbl8 groups are
// recycled and zeroed under readers, no rte_fib_rcu_qsbr_add yet), and
// rte_lpm6 has neither RCU nor a rule delete cheaper than a rebuild of the
// whole table (rte_lpm6_delete re-adds every remaining rule).
//
// RCU: every hash is created with RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF
// and the tables' rte_rcu_qsbr attached (RTE_HASH_QSBR_MODE_DQ): a deleted
// key's slot is reused only after a grace period, and a changed route's
// data is one atomic store. Which lengths exist is a 129-bit mask read
// with acquire loads: a length's hash is created and its first key added
// before its bit is set, and its bit is cleared before the hash, then
// empty, is freed a grace period later. A worker that sees a stale bit
// probes an empty (still allocated) hash and finds nothing.
#pragma once

#include <rte_byteorder.h>
#include <rte_hash.h>
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

// What workers read.
struct Route6Lookup {
  const std::atomic<uint64_t>* present = nullptr;  // bit L: length L has a hash
  const std::atomic<rte_hash*>* by_len = nullptr;  // the hash of length L
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

// `addr` masked, as the hashes' keys are.
inline void mask_ipv6(const uint8_t* addr, const Ipv6Mask& mask, uint8_t* key) {
  uint64_t w[2];
  std::memcpy(w, addr, 16);
  w[0] &= mask.hi;
  w[1] &= mask.lo;
  std::memcpy(key, w, 16);
}

// The next-hop ids of the longest prefixes holding `dst[0..n)` (each 16
// bytes, network order), kNoRoute where none does. n <= 64. (`dst` is an
// array of non-const pointers only so GCC 12 does not take a burst's
// unfilled tail for a read of uninitialised memory.)
inline void route6_lookup_bulk(const Route6Lookup& t, const uint8_t** dst, uint32_t* hops,
                               unsigned n) {
  alignas(16) uint8_t keys[64][16];
  const void* key_ptrs[64];
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
      const rte_hash* h = t.by_len[len].load(std::memory_order_acquire);
      if (h == nullptr) continue;
      const Ipv6Mask mask = ipv6_mask(len);
      for (unsigned j = 0; j < left; ++j) {
        mask_ipv6(dst[pending[j]], mask, keys[j]);
        key_ptrs[j] = keys[j];
      }
      uint64_t hits = 0;
      void* data[64];
      rte_hash_lookup_bulk_data(h, key_ptrs, left, &hits, data);
      if (hits == 0) continue;
      unsigned still = 0;
      for (unsigned j = 0; j < left; ++j) {
        if (hits & (uint64_t{1} << j)) {
          hops[pending[j]] = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data[j]));
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
  // its length would be one too many or its hash is full.
  Status set(const Ipv6Prefix& prefix, uint32_t next_hop);
  // False when there is no such route.
  bool remove(const Ipv6Prefix& prefix);
  // Frees the hashes of lengths emptied a grace period ago; never waits.
  void reclaim();

  Route6Lookup lookup() const { return {present_.data(), by_len_.data()}; }
  unsigned lengths_in_use() const;

 private:
  RouteTable6() = default;
  Result<rte_hash*> hash_for(uint8_t len);
  void set_present(uint8_t len, bool on);

  uint32_t max_routes_ = 0;
  unsigned max_lengths_ = 0;
  int socket_ = 0;
  rte_rcu_qsbr* rcu_ = nullptr;
  std::array<std::atomic<uint64_t>, kIpv6LengthWords> present_{};
  std::array<std::atomic<rte_hash*>, kIpv6Lengths> by_len_{};
  std::array<uint32_t, kIpv6Lengths> routes_{};  // per length
  // Emptied lengths: their hashes are freed once rcu_ passes retired_token_
  // (unless a route of that length came back meanwhile).
  std::vector<uint8_t> retired_;
  uint64_t retired_token_ = 0;
};

}  // namespace tartan
