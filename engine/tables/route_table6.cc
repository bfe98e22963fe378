#include "engine/tables/route_table6.h"

#include <rte_errno.h>
#include <rte_malloc.h>

#include <algorithm>
#include <string>

namespace tartan {
namespace {

// A new length's first table; tables double from there.
constexpr uint32_t kFirstSlots = 64;

bool over_three_quarters(uint32_t used, uint32_t slots) {
  return uint64_t{used} * 4 > uint64_t{slots} * 3;
}

// The slot of `k` in `h` (live or deleted), or the free slot that ends its
// probe.
uint32_t find_slot(const Route6Hash& h, const Route6Key& k) {
  for (uint32_t i = route6_slot(k, h.mask);; i = (i + 1) & h.mask) {
    const Route6Slot& s = h.slots[i];
    const uint32_t hop = s.hop.load(std::memory_order_relaxed);
    if (hop == kRoute6Free) return i;
    if (s.key[0].load(std::memory_order_relaxed) == k.w[0] &&
        s.key[1].load(std::memory_order_relaxed) == k.w[1]) {
      return i;
    }
  }
}

// Makes the free slot `i` of `h` hold `k` -> `hop`: the key is in place
// before a reader can see the slot live.
void fill_slot(Route6Hash& h, uint32_t i, const Route6Key& k, uint32_t hop) {
  Route6Slot& s = h.slots[i];
  s.key[0].store(k.w[0], std::memory_order_relaxed);
  s.key[1].store(k.w[1], std::memory_order_relaxed);
  s.hop.store(hop, std::memory_order_release);
}

}  // namespace

Result<std::unique_ptr<RouteTable6>> RouteTable6::create(uint32_t max_routes, unsigned max_lengths,
                                                         rte_rcu_qsbr* rcu, int socket) {
  std::unique_ptr<RouteTable6> t(new RouteTable6());
  t->max_routes_ = std::max<uint32_t>(max_routes, 8);
  // The smallest power of two that holds max_routes within three quarters.
  uint32_t slots = kFirstSlots;
  while (over_three_quarters(t->max_routes_, slots)) slots *= 2;
  t->max_slots_ = slots;
  t->max_lengths_ = max_lengths;
  t->rcu_ = rcu;
  t->socket_ = socket;
  return t;
}

RouteTable6::~RouteTable6() {
  for (auto& h : by_len_) rte_free(const_cast<Route6Hash*>(h.load(std::memory_order_relaxed)));
}

unsigned RouteTable6::lengths_in_use() const {
  unsigned n = 0;
  for (const auto& w : present_) n += static_cast<unsigned>(__builtin_popcountll(w.load()));
  return n;
}

void RouteTable6::set_present(uint8_t len, bool on) {
  std::atomic<uint64_t>& w = present_[len / 64];
  const uint64_t bit = uint64_t{1} << (len % 64);
  const uint64_t old = w.load(std::memory_order_relaxed);
  w.store(on ? old | bit : old & ~bit, std::memory_order_release);
}

Result<Route6Hash*> RouteTable6::make_hash(uint32_t slots, const Route6Hash* from) const {
  const size_t size = sizeof(Route6Hash) + size_t{slots} * sizeof(Route6Slot);
  auto* h =
      static_cast<Route6Hash*>(rte_malloc_socket("tartan_rt6", size, RTE_CACHE_LINE_SIZE, socket_));
  if (h == nullptr) {
    return Status(ErrorCode::kResourceExhausted, "cannot allocate an IPv6 route table of " +
                                                     std::to_string(slots) +
                                                     " slots: " + rte_strerror(rte_errno));
  }
  h->mask = slots - 1;
  h->slots = reinterpret_cast<Route6Slot*>(h + 1);
  for (uint32_t i = 0; i < slots; ++i)
    h->slots[i].hop.store(kRoute6Free, std::memory_order_relaxed);
  if (from != nullptr) {
    for (uint32_t i = 0; i <= from->mask; ++i) {
      const Route6Slot& s = from->slots[i];
      const uint32_t hop = s.hop.load(std::memory_order_relaxed);
      if (hop == kRoute6Free || hop == kRoute6Deleted) continue;
      const Route6Key k{
          {s.key[0].load(std::memory_order_relaxed), s.key[1].load(std::memory_order_relaxed)}};
      fill_slot(*h, find_slot(*h, k), k, hop);
    }
  }
  return h;
}

Status RouteTable6::set(const Ipv6Prefix& prefix, uint32_t next_hop) {
  if (next_hop >= kNoRoute) return Status::internal("next-hop id out of range");
  const uint8_t len = prefix.len;
  const Route6Key k = route6_key(prefix.addr.bytes.data(), ipv6_mask(len));
  auto* h = const_cast<Route6Hash*>(by_len_[len].load(std::memory_order_relaxed));
  if (h == nullptr) {
    if (lengths_in_use() >= max_lengths_) {
      return Status(ErrorCode::kResourceExhausted,
                    "IPv6 routes of " + std::to_string(max_lengths_) +
                        " prefix lengths are in use already, the most there may be");
    }
    auto made = make_hash(kFirstSlots, nullptr);
    if (!made) return made.status();
    h = *made;
    used_[len] = 0;
    by_len_[len].store(h, std::memory_order_release);
  }
  uint32_t i = find_slot(*h, k);
  const uint32_t was = h->slots[i].hop.load(std::memory_order_relaxed);
  if (was != kRoute6Free && was != kRoute6Deleted) {
    h->slots[i].hop.store(next_hop, std::memory_order_release);  // a change: one store
    return {};
  }
  if (routes_[len] >= max_routes_) {
    return Status(ErrorCode::kResourceExhausted, "IPv6 routes of length /" + std::to_string(len) +
                                                     " full: " + std::to_string(max_routes_) +
                                                     " routes");
  }
  if (was == kRoute6Free && over_three_quarters(used_[len] + 1, h->mask + 1)) {
    // Into a new table (twice the size while under max_slots_; the same
    // size drops the deleted slots), the old one freed once no reader
    // can hold it.
    const uint32_t slots = std::min(max_slots_, 2 * (h->mask + 1));
    auto made = make_hash(slots, h);
    if (!made) return made.status();
    Route6Hash* old = h;
    h = *made;
    by_len_[len].store(h, std::memory_order_release);
    rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID);
    rte_free(old);
    used_[len] = routes_[len];
    i = find_slot(*h, k);
  }
  // A deleted slot of this very key comes back with one store; any other
  // key takes a free slot.
  if (h->slots[i].hop.load(std::memory_order_relaxed) == kRoute6Free) ++used_[len];
  fill_slot(*h, i, k, next_hop);
  if (routes_[len]++ == 0) {
    // Came back before its retired table was freed: keep it.
    retired_.erase(std::remove(retired_.begin(), retired_.end(), len), retired_.end());
    set_present(len, true);
  }
  return {};
}

bool RouteTable6::remove(const Ipv6Prefix& prefix) {
  auto* h = const_cast<Route6Hash*>(by_len_[prefix.len].load(std::memory_order_relaxed));
  if (h == nullptr) return false;
  const Route6Key k = route6_key(prefix.addr.bytes.data(), ipv6_mask(prefix.len));
  Route6Slot& s = h->slots[find_slot(*h, k)];
  const uint32_t hop = s.hop.load(std::memory_order_relaxed);
  if (hop == kRoute6Free || hop == kRoute6Deleted) return false;
  s.hop.store(kRoute6Deleted, std::memory_order_release);
  if (--routes_[prefix.len] == 0) {
    set_present(prefix.len, false);
    retired_.push_back(prefix.len);
    retired_token_ = rte_rcu_qsbr_start(rcu_);
  }
  return true;
}

void RouteTable6::reclaim() {
  if (retired_.empty() || rte_rcu_qsbr_check(rcu_, retired_token_, false) != 1) return;
  for (uint8_t len : retired_) {
    rte_free(const_cast<Route6Hash*>(by_len_[len].exchange(nullptr, std::memory_order_relaxed)));
    used_[len] = 0;
  }
  retired_.clear();
}

}  // namespace tartan
