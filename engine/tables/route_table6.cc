#include "engine/tables/route_table6.h"

#include <rte_errno.h>

#include <algorithm>
#include <string>

namespace tartan {

Result<std::unique_ptr<RouteTable6>> RouteTable6::create(uint32_t max_routes, unsigned max_lengths,
                                                         rte_rcu_qsbr* rcu, int socket) {
  std::unique_ptr<RouteTable6> t(new RouteTable6());
  t->max_routes_ = std::max<uint32_t>(max_routes, 8);
  t->max_lengths_ = max_lengths;
  t->rcu_ = rcu;
  t->socket_ = socket;
  return t;
}

RouteTable6::~RouteTable6() {
  for (auto& h : by_len_) rte_hash_free(h.load(std::memory_order_relaxed));
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

Result<rte_hash*> RouteTable6::hash_for(uint8_t len) {
  if (rte_hash* h = by_len_[len].load(std::memory_order_relaxed); h != nullptr) return h;
  if (lengths_in_use() >= max_lengths_) {
    return Status(ErrorCode::kResourceExhausted,
                  "IPv6 routes of " + std::to_string(max_lengths_) +
                      " prefix lengths are in use already, the most there may be");
  }
  static std::atomic<unsigned> counter{0};
  const std::string name = "tartan_rt6_" + std::to_string(counter++);
  rte_hash_parameters p{};
  p.name = name.c_str();
  p.entries = max_routes_;
  p.key_len = 16;
  p.socket_id = socket_;
  p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
  rte_hash* h = rte_hash_create(&p);
  if (h == nullptr) {
    return Status(ErrorCode::kResourceExhausted,
                  std::string("cannot create an IPv6 route hash: ") + rte_strerror(rte_errno));
  }
  rte_hash_rcu_config rc{};
  rc.v = rcu_;
  rc.mode = RTE_HASH_QSBR_MODE_DQ;
  if (rte_hash_rcu_qsbr_add(h, &rc) != 0) {
    rte_hash_free(h);
    return Status::internal(std::string("cannot attach RCU to an IPv6 route hash: ") +
                            rte_strerror(rte_errno));
  }
  by_len_[len].store(h, std::memory_order_release);
  return h;
}

Status RouteTable6::set(const Ipv6Prefix& prefix, uint32_t next_hop) {
  if (next_hop >= kNoRoute) return Status::internal("next-hop id out of range");
  auto h = hash_for(prefix.len);
  if (!h) return h.status();
  uint8_t key[16];
  mask_ipv6(prefix.addr.bytes.data(), ipv6_mask(prefix.len), key);
  const bool exists = rte_hash_lookup(*h, key) >= 0;
  // A new key is written whole before it is linked in; an existing key's
  // data is replaced with one atomic store (the LF hash's contract).
  void* const data = reinterpret_cast<void*>(static_cast<uintptr_t>(next_hop));
  int rc = rte_hash_add_key_data(*h, key, data);
  if (rc == -ENOSPC) {
    // The slots of keys deleted within the last grace period are not free
    // yet (the hash reclaims them itself once it has passed): wait one out,
    // as a worker passes a quiescent state once per loop.
    rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID);
    rc = rte_hash_add_key_data(*h, key, data);
  }
  if (rc != 0) {
    // A hash made for this route alone goes with the next reclaim.
    if (routes_[prefix.len] == 0 && !exists) retired_.push_back(prefix.len);
    return Status(
        ErrorCode::kResourceExhausted,
        "IPv6 routes of length /" + std::to_string(prefix.len) + " full: " + rte_strerror(-rc));
  }
  if (!exists && routes_[prefix.len]++ == 0) {
    // Came back before its retired hash was freed: keep it.
    retired_.erase(std::remove(retired_.begin(), retired_.end(), prefix.len), retired_.end());
    set_present(prefix.len, true);
  }
  return {};
}

bool RouteTable6::remove(const Ipv6Prefix& prefix) {
  rte_hash* h = by_len_[prefix.len].load(std::memory_order_relaxed);
  if (h == nullptr) return false;
  uint8_t key[16];
  mask_ipv6(prefix.addr.bytes.data(), ipv6_mask(prefix.len), key);
  if (rte_hash_del_key(h, key) < 0) return false;
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
    rte_hash* h = by_len_[len].exchange(nullptr, std::memory_order_relaxed);
    rte_hash_free(h);
  }
  retired_.clear();
}

}  // namespace tartan
