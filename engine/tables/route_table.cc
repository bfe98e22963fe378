#include "engine/tables/route_table.h"

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_rib.h>

#include <algorithm>
#include <atomic>
#include <string>

namespace tartan {
namespace {

constexpr uint32_t kBlocks = 1u << 24;  // /24s
constexpr uint32_t kGroupEntries = 256;

void store(uint32_t* entry, uint32_t value) {
  __atomic_store_n(entry, value, __ATOMIC_RELAXED);
}

// After everything the entry makes reachable was written.
void publish(uint32_t* entry, uint32_t value) {
  __atomic_store_n(entry, value, __ATOMIC_RELEASE);
}

uint32_t next_hop_of(const rte_rib_node* node) {
  uint64_t nh = kNoRoute;
  if (node != nullptr) rte_rib_get_nh(node, &nh);
  return static_cast<uint32_t>(nh);
}

}  // namespace

Result<std::unique_ptr<RouteTable>> RouteTable::create(uint32_t max_routes, uint32_t groups,
                                                       rte_rcu_qsbr* rcu, int socket) {
  static std::atomic<unsigned> counter{0};
  std::unique_ptr<RouteTable> t(new RouteTable());
  t->rcu_ = rcu;
  if (groups == 0 || groups >= kRouteGroup / kGroupEntries)
    return Status::invalid("route groups: " + std::to_string(groups) + " is out of range");
  const std::string name = "tartan_rib_" + std::to_string(counter++);
  rte_rib_conf conf{};
  // A trie of n prefixes has at most n - 1 branching nodes besides them.
  conf.max_nodes = static_cast<int>(std::min<uint64_t>(2ull * max_routes + 1, INT32_MAX));
  t->rib_ = rte_rib_create(name.c_str(), socket, &conf);
  t->tbl24_ = static_cast<uint32_t*>(
      rte_malloc_socket("tartan_tbl24", sizeof(uint32_t) * kBlocks, RTE_CACHE_LINE_SIZE, socket));
  t->tbl8_ = static_cast<uint32_t*>(rte_malloc_socket(
      "tartan_tbl8", sizeof(uint32_t) * kGroupEntries * groups, RTE_CACHE_LINE_SIZE, socket));
  if (t->rib_ == nullptr || t->tbl24_ == nullptr || t->tbl8_ == nullptr) {
    return Status(ErrorCode::kResourceExhausted, "cannot allocate the route table for " +
                                                     std::to_string(max_routes) + " routes and " +
                                                     std::to_string(groups) +
                                                     " groups: " + rte_strerror(rte_errno));
  }
  std::fill_n(t->tbl24_, kBlocks, kNoRoute);
  t->free_.reserve(groups);
  t->retired_.reserve(groups);
  for (uint32_t g = groups; g-- > 0;) t->free_.push_back(g);
  return t;
}

RouteTable::~RouteTable() {
  rte_rib_free(rib_);
  rte_free(tbl24_);
  rte_free(tbl8_);
}

Status RouteTable::set(const Ipv4Prefix& prefix, uint32_t next_hop) {
  const uint32_t ip = prefix.network().addr.value;
  const uint8_t len = prefix.len;
  if (next_hop >= kNoRoute) return Status::internal("next-hop id out of range");
  if (rte_rib_node* node = rte_rib_lookup_exact(rib_, ip, len); node != nullptr) {
    if (next_hop_of(node) == next_hop) return {};
    // The same prefix: its /24s and groups are where they were.
    paint(ip, len, next_hop);
    rte_rib_set_nh(node, next_hop);
    return {};
  }
  // Only a prefix longer than /24 in a /24 without a group needs one; check
  // before changing anything, so a failure leaves the table as it was.
  if (len > 24 && (tbl24_[ip >> 8] & kRouteGroup) == 0 && !group_available()) {
    return Status(ErrorCode::kResourceExhausted, "no group left for a prefix longer than /24");
  }
  rte_rib_node* node = rte_rib_insert(rib_, ip, len);
  if (node == nullptr) {
    return Status(ErrorCode::kResourceExhausted,
                  std::string("route rules full: ") + rte_strerror(rte_errno));
  }
  rte_rib_set_nh(node, next_hop);
  paint(ip, len, next_hop);
  return {};
}

bool RouteTable::remove(const Ipv4Prefix& prefix) {
  const uint32_t ip = prefix.network().addr.value;
  const uint8_t len = prefix.len;
  rte_rib_node* node = rte_rib_lookup_exact(rib_, ip, len);
  if (node == nullptr) return false;
  // Its addresses fall back to the prefix that covers it, if any.
  paint(ip, len, next_hop_of(rte_rib_lookup_parent(node)));
  rte_rib_remove(rib_, ip, len);
  if (len <= 24) return true;
  // The /24's last longer prefix gone: its group is uniform, so the /24
  // entry takes that value and the group waits out a grace period.
  if (rte_rib_get_nxt(rib_, ip & 0xffffff00u, 24, nullptr, RTE_RIB_GET_NXT_COVER) != nullptr)
    return true;
  const uint32_t group = tbl24_[ip >> 8] & ~kRouteGroup;
  publish(&tbl24_[ip >> 8], next_hop_of(rte_rib_lookup(rib_, ip)));
  retire(group);
  return true;
}

void RouteTable::paint(uint32_t ip, uint8_t len, uint32_t value) {
  // The more specific prefixes under ip/len, outermost ones only, in
  // ascending order: the gaps between them take `value`.
  uint64_t first = ip;
  rte_rib_node* sub = nullptr;
  while ((sub = rte_rib_get_nxt(rib_, ip, len, sub, RTE_RIB_GET_NXT_COVER)) != nullptr) {
    uint32_t sub_ip = 0;
    uint8_t sub_len = 0;
    rte_rib_get_ip(sub, &sub_ip);
    rte_rib_get_depth(sub, &sub_len);
    write_range(first, sub_ip, value);
    first = uint64_t{sub_ip} + (uint64_t{1} << (32 - sub_len));
  }
  write_range(first, uint64_t{ip} + (uint64_t{1} << (32 - len)), value);
}

void RouteTable::write_range(uint64_t first, uint64_t end, uint32_t value) {
  while (first < end) {
    const auto block = static_cast<uint32_t>(first >> 8);
    const uint64_t block_end = (uint64_t{block} + 1) << 8;
    if ((first & 0xff) == 0 && end >= block_end) {
      // Whole /24s. None holds a longer prefix (it would lie in this gap),
      // so none has a group.
      const uint64_t last = end >> 8;
      for (uint64_t b = block; b < last; ++b) publish(&tbl24_[b], value);
      first = last << 8;
      continue;
    }
    // Part of a /24: its group, taken now if the /24 has none (set() made
    // sure one is free).
    const uint64_t stop = std::min(end, block_end);
    const uint32_t entry = tbl24_[block];
    uint32_t group = entry & ~kRouteGroup;
    const bool fresh = (entry & kRouteGroup) == 0;
    if (fresh) {
      group = free_.back();
      free_.pop_back();
      // Workers cannot reach it yet: it left its last /24 a grace period ago.
      std::fill_n(&tbl8_[group * kGroupEntries], kGroupEntries, entry);
    }
    for (uint64_t a = first; a < stop; ++a)
      store(&tbl8_[group * kGroupEntries + (a & 0xff)], value);
    if (fresh) publish(&tbl24_[block], kRouteGroup | group);
    first = stop;
  }
}

bool RouteTable::group_available() {
  if (free_.empty()) reclaim();
  if (free_.empty() && !retired_.empty()) {
    // Workers pass a quiescent state once per loop: a short wait.
    rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID);
    free_.insert(free_.end(), retired_.begin(), retired_.end());
    retired_.clear();
  }
  return !free_.empty();
}

void RouteTable::retire(uint32_t group) {
  retired_.push_back(group);
  // One token for all: it is later than every retirement so far.
  retired_token_ = rte_rcu_qsbr_start(rcu_);
}

void RouteTable::reclaim() {
  if (retired_.empty() || rte_rcu_qsbr_check(rcu_, retired_token_, false) != 1) return;
  free_.insert(free_.end(), retired_.begin(), retired_.end());
  retired_.clear();
}

}  // namespace tartan
