#include "engine/tables/tables.h"

#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <unordered_map>

#include "engine/log.h"

namespace tartan {
namespace {

std::string unique_name(const char* base) {
  static std::atomic<unsigned> counter{0};
  return std::string(base) + "_" + std::to_string(counter++);
}

std::array<uint8_t, 6> mac_key(const MacAddr& m) {
  return m.bytes;
}

// The sender table's keys are IPv4 addresses. For a 4-byte key rte_hash
// has no compare of its own (it calls memcmp) and rte_hash_crc loops over
// the length: a worker looks up every tunnel packet's sender, and these
// two were 4% of decapsulation's cycles (perf/RESULTS.md).
uint32_t sender_key_hash(const void* key, uint32_t, uint32_t init) {
  uint32_t k;
  std::memcpy(&k, key, sizeof k);
  return rte_hash_crc_4byte(k, init);
}

int sender_key_differs(const void* a, const void* b, size_t) {
  uint32_t x, y;
  std::memcpy(&x, a, sizeof x);
  std::memcpy(&y, b, sizeof y);
  return x != y;
}

}  // namespace

Result<std::unique_ptr<ForwardingTables>> ForwardingTables::create(
    const TablesParams& params, NeighbourTable& neighbours,
    std::function<void(uint32_t)> on_new_next_hop, std::function<void()> drain_workers) {
  std::unique_ptr<ForwardingTables> t(new ForwardingTables(params, neighbours));
  t->on_new_next_hop_ = std::move(on_new_next_hop);
  t->drain_workers_ = std::move(drain_workers);
  t->capacity_ = params.max_routes + static_cast<uint32_t>(params.overlays.size());
  const int socket = static_cast<int>(rte_socket_id());

  const size_t rcu_size = rte_rcu_qsbr_get_memsize(params.num_readers);
  t->rcu_ = static_cast<rte_rcu_qsbr*>(
      rte_zmalloc_socket("tartan_rcu", rcu_size, RTE_CACHE_LINE_SIZE, socket));
  if (t->rcu_ == nullptr || rte_rcu_qsbr_init(t->rcu_, params.num_readers) != 0) {
    return Status(ErrorCode::kResourceExhausted, "cannot allocate the RCU state");
  }

  auto fib = RouteTable::create(params.max_routes + 64, params.tbl8_groups, t->rcu_, socket);
  if (!fib) return fib.status();
  t->fib_ = std::move(*fib);

  const std::string hash_name = unique_name("tartan_senders");
  rte_hash_parameters hash_params{};
  hash_params.name = hash_name.c_str();
  hash_params.entries = std::max<uint32_t>(t->capacity_, 8);
  hash_params.key_len = sizeof(uint32_t);
  hash_params.hash_func = sender_key_hash;
  hash_params.socket_id = socket;
  hash_params.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
  t->senders_ = rte_hash_create(&hash_params);
  if (t->senders_ == nullptr) {
    return Status(ErrorCode::kResourceExhausted,
                  std::string("cannot create the sender table: ") + rte_strerror(rte_errno));
  }
  rte_hash_rcu_config hash_rcu{};
  hash_rcu.v = t->rcu_;
  hash_rcu.mode = RTE_HASH_QSBR_MODE_DQ;
  rte_hash_set_cmp_func(t->senders_, sender_key_differs);
  if (rte_hash_rcu_qsbr_add(t->senders_, &hash_rcu) != 0) {
    return Status::internal(std::string("cannot attach RCU to the sender table: ") +
                            rte_strerror(rte_errno));
  }

  if (params.underlay6) {
    auto fib6 =
        RouteTable6::create(params.max_routes + 64, params.max_route6_lengths, t->rcu_, socket);
    if (!fib6) return fib6.status();
    t->fib6_ = std::move(*fib6);
    const std::string name6 = unique_name("tartan_senders6");
    rte_hash_parameters p6 = hash_params;
    p6.name = name6.c_str();
    p6.key_len = 16;
    p6.hash_func = nullptr;  // rte_hash's CRC; 16-byte keys have their own compare
    t->senders6_ = rte_hash_create(&p6);
    if (t->senders6_ == nullptr) {
      return Status(ErrorCode::kResourceExhausted,
                    std::string("cannot create the IPv6 sender table: ") + rte_strerror(rte_errno));
    }
    if (rte_hash_rcu_qsbr_add(t->senders6_, &hash_rcu) != 0) {
      return Status::internal(std::string("cannot attach RCU to the IPv6 sender table: ") +
                              rte_strerror(rte_errno));
    }
  }

  t->slots_ = static_cast<std::atomic<NextHop*>*>(
      rte_zmalloc_socket("tartan_next_hops", sizeof(std::atomic<NextHop*>) * t->capacity_,
                         RTE_CACHE_LINE_SIZE, socket));
  if (t->slots_ == nullptr)
    return Status(ErrorCode::kResourceExhausted, "cannot allocate the next-hop table");

  const std::string dq_name = unique_name("tartan_retired");
  rte_rcu_qsbr_dq_parameters dq{};
  dq.name = dq_name.c_str();
  dq.flags = RTE_RCU_QSBR_DQ_MT_UNSAFE;  // one writer: the control thread
  dq.size = t->capacity_;
  dq.esize = sizeof(uint32_t);
  dq.trigger_reclaim_limit = t->capacity_ + 1;  // reclaim only when asked
  dq.max_reclaim_size = t->capacity_;
  dq.free_fn = &ForwardingTables::free_retired;
  dq.p = t.get();
  dq.v = t->rcu_;
  t->retired_ = rte_rcu_qsbr_dq_create(&dq);
  if (t->retired_ == nullptr)
    return Status(ErrorCode::kResourceExhausted, "cannot create the RCU defer queue");

  t->states_.resize(t->capacity_);
  t->next_hop_chunks_.resize((t->capacity_ + kNextHopsPerChunk - 1) / kNextHopsPerChunk);
  // Ids 0..overlays-1 are the local next hops, one per overlay port.
  for (uint32_t i = 0; i < params.overlays.size(); ++i) {
    NextHop* nh = t->next_hop_storage(i);
    if (nh == nullptr) return Status(ErrorCode::kResourceExhausted, "cannot allocate a next hop");
    NextHopParams p;
    p.kind = NextHopKind::kLocal;
    p.out_port = params.overlays[i].port_id;
    p.src_mac = params.vtep_mac;
    p.dst_mac = params.overlays[i].host_mac;
    build_next_hop(p, *nh);
    nh->id = i;
    t->states_[i] = {nh, NextHopKey{i, NextHopKind::kLocal, {}}, 1};
    t->slots_[i].store(nh, std::memory_order_release);
  }
  for (uint32_t id = t->capacity_; id-- > params.overlays.size();) t->free_ids_.push_back(id);
  return t;
}

ForwardingTables::~ForwardingTables() {
  // Workers have stopped: everything can go without waiting.
  if (retired_ != nullptr) rte_rcu_qsbr_dq_delete(retired_);
  for (uint32_t adjacency : released_adjacencies_) neighbours_.release(adjacency);
  for (NextHopState& s : states_) {
    if (s.nh != nullptr && s.nh->kind != NextHopKind::kLocal) neighbours_.release(s.nh->adjacency);
  }
  for (NextHop* chunk : next_hop_chunks_) rte_free(chunk);
  rte_hash_free(senders_);
  rte_hash_free(senders6_);
  fib6_.reset();
  rte_free(slots_);
  rte_free(rcu_);
}

NextHop* ForwardingTables::next_hop_storage(uint32_t id) {
  // One allocation per 1,024 next hops instead of one each: rte_zmalloc
  // was 6% of applying 100,000 nodes (perf/RESULTS.md).
  NextHop*& chunk = next_hop_chunks_[id / kNextHopsPerChunk];
  if (chunk == nullptr) {
    chunk = static_cast<NextHop*>(
        rte_zmalloc_socket("tartan_nh", sizeof(NextHop) * kNextHopsPerChunk, RTE_CACHE_LINE_SIZE,
                           static_cast<int>(rte_socket_id())));
    if (chunk == nullptr) return nullptr;
  }
  // What the previous next hop of this id left is cleared, as a fresh
  // allocation would be.
  NextHop* nh = &chunk[id % kNextHopsPerChunk];
  *nh = NextHop{};
  return nh;
}

TableReaders ForwardingTables::readers() const {
  TableReaders r{fib_->lookup(), slots_, senders_, nullptr};
  if (fib6_) {
    r.routes6 = fib6_->lookup();
    r.senders6 = senders6_;
  } else {
    // No length is ever present: an IPv6 lookup (never made while IPv6 is
    // off) would find nothing.
    static const std::array<std::atomic<uint64_t>, kIpv6LengthWords> none{};
    static const std::array<std::atomic<const Route6Hash*>, kIpv6Lengths> no_table{};
    r.routes6 = {none.data(), no_table.data()};
  }
  return r;
}

NextHopKind ForwardingTables::kind_for(const RouteSpec& spec) const {
  // IPv6-only underlays have no IPv4 subnet: no IPv4 peer is on link (the
  // route itself is refused later, in apply).
  const bool on_link = params_.underlay && params_.underlay->contains(spec.public_ip);
  switch (params_.backend) {
    case BackendType::kHostGw:
      return NextHopKind::kDirect;
    case BackendType::kUdp:
      return NextHopKind::kUdp;
    case BackendType::kVxlan:
      return params_.direct_routing && on_link ? NextHopKind::kDirect : NextHopKind::kVxlan;
  }
  return NextHopKind::kVxlan;
}

ForwardingTables::NextHopKey ForwardingTables::key_for(const RouteSpec& spec) const {
  return {spec.public_ip.value, kind_for(spec),
          spec.backend == BackendType::kVxlan ? mac_key(spec.vtep_mac) : std::array<uint8_t, 6>{}};
}

std::pair<std::map<ForwardingTables::NextHopKey, uint32_t>::const_iterator,
          std::map<ForwardingTables::NextHopKey, uint32_t>::const_iterator>
ForwardingTables::next_hops_of(uint32_t public_ip) const {
  return {by_key_.lower_bound(NextHopKey{public_ip, NextHopKind::kVxlan, {}}),
          by_key_.lower_bound(NextHopKey{public_ip + 1, NextHopKind::kVxlan, {}})};
}

Status ForwardingTables::validate(const TableDelta& delta) const {
  std::set<Ipv4Prefix> upserted;
  // Next hops whose routes this delta removes or re-points: id -> count.
  std::unordered_map<uint32_t, uint32_t> leaving;
  std::set<Ipv4Prefix> removed;
  for (const Ipv4Prefix& p : delta.remove_routes) {
    auto it = routes_.find(p);
    if (it == routes_.end())
      return Status(ErrorCode::kNotFound, "route " + p.str() + ": no such route to remove");
    if (!removed.insert(p).second)
      return Status::invalid("route " + p.str() + ": removed twice in one change");
    ++leaving[it->second.next_hop];
  }
  // public IP -> the one next-hop key it has after this delta.
  std::map<uint32_t, NextHopKey> final_key;
  size_t new_routes = 0;
  for (const RouteSpec& r : delta.upsert_routes) {
    // The message is built only for a route that is refused.
    const auto bad = [&r](const std::string& why) {
      return Status::invalid("route " + r.prefix.str() + ": " + why);
    };
    if (!params_.underlay) {
      return bad(
          "public_ip: this node has no IPv4 underlay address (underlay.address), so it carries "
          "no IPv4 routes");
    }
    if (r.prefix.len == 0) return bad("prefix: a default route is not a podCIDR");
    if (!upserted.insert(r.prefix).second) return bad("given twice in one change");
    if (removed.count(r.prefix)) return bad("both removed and added in one change");
    if (local_subnet_ && local_subnet_->overlaps(r.prefix)) {
      return bad("prefix: overlaps our own podCIDR " + local_subnet_->str());
    }
    const BackendType expected = params_.backend;
    if (r.backend != expected) {
      return bad(std::string("backend: ") + backend_type_name(r.backend) +
                 " node, but this node runs " + backend_type_name(expected));
    }
    if (r.backend == BackendType::kVxlan) {
      if (r.vni != params_.vni) {
        return bad("vni: " + std::to_string(r.vni) + " differs from ours (" +
                   std::to_string(params_.vni) + ")");
      }
      if (r.vtep_mac.is_zero() || r.vtep_mac.is_multicast()) {
        return bad("vtep_mac: " + r.vtep_mac.str() + " is not a unicast MAC");
      }
    }
    const uint32_t ip = r.public_ip.value;
    if ((ip >> 24) == 0 || ip == 0xffffffff || (ip >> 28) >= 0xe || (ip >> 24) == 127) {
      return bad("public_ip: " + r.public_ip.str() + " is not a unicast host address");
    }
    if (r.public_ip == params_.underlay->addr)
      return bad("public_ip: " + r.public_ip.str() + " is our own address");
    const bool on_link = params_.underlay->contains(r.public_ip);
    if (params_.backend == BackendType::kHostGw && !on_link) {
      return bad("public_ip: host-gw needs " + r.public_ip.str() + " on the underlay subnet " +
                 params_.underlay->network().str());
    }
    if (!on_link && !params_.gateway) {
      return bad("public_ip: " + r.public_ip.str() + " is off the underlay subnet " +
                 params_.underlay->network().str() + " and no gateway is configured");
    }
    const NextHopKey key = key_for(r);
    auto [it, inserted] = final_key.emplace(ip, key);
    if (!inserted && !(it->second == key)) {
      return bad("public_ip: " + r.public_ip.str() +
                 " is given with two different VTEPs in one change");
    }
    if (auto existing = routes_.find(r.prefix); existing != routes_.end()) {
      ++leaving[existing->second.next_hop];
    } else {
      ++new_routes;
    }
  }
  // A public IP is one node: its other routes must agree, unless every one
  // of them leaves in this delta.
  for (const auto& [ip, key] : final_key) {
    const auto [first, last] = next_hops_of(ip);
    for (auto it = first; it != last; ++it) {
      if (it->first == key) continue;
      const NextHopState& s = states_[it->second];
      auto l = leaving.find(it->second);
      if (l == leaving.end() || l->second < s.routes) {
        return Status::invalid(
            "public_ip " + Ipv4Addr{ip}.str() + ": already the VTEP of other routes with " +
            (s.nh->kind == NextHopKind::kVxlan ? "VtepMAC " + s.nh->vtep_mac.str()
                                               : "another kind") +
            "; change or remove those routes in the same change");
      }
    }
  }
  size_t new_routes6 = 0;
  if (Status s = validate6(delta, new_routes6); !s.ok()) return s;
  if (routes_.size() + routes6_.size() - removed.size() - delta.remove_routes6.size() + new_routes +
          new_routes6 >
      params_.max_routes) {
    return Status(ErrorCode::kResourceExhausted,
                  "route table full: " + std::to_string(params_.max_routes) +
                      " routes (dataplane.max_routes)");
  }
  for (const StaticNeighbour& n : delta.set_neighbours) {
    if (!params_.underlay || !params_.underlay->contains(n.ip)) {
      return Status::invalid("neighbour " + n.ip.str() + ": not on the underlay subnet" +
                             (params_.underlay ? " " + params_.underlay->network().str()
                                               : " (underlay.address unset)"));
    }
    if (n.mac.is_zero() || n.mac.is_multicast()) {
      return Status::invalid("neighbour " + n.ip.str() + ": mac: " + n.mac.str() +
                             " is not a unicast MAC");
    }
  }
  for (const Ipv4Addr& ip : delta.remove_neighbours) {
    if (!neighbours_.is_static(ip))
      return Status(ErrorCode::kNotFound, "neighbour " + ip.str() + ": no such static neighbour");
  }
  return {};
}

namespace {

// A public IPv6 a remote node can be reached at: not unspecified,
// loopback, multicast or link-local (which needs an interface to mean
// anything), nor IPv4-mapped.
bool ipv6_unicast_host(const Ipv6Addr& a) {
  const auto& b = a.bytes;
  if (a.is_zero() || b[0] == 0xff) return false;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return false;
  bool low_zero = true;  // the first 10 bytes
  for (int i = 0; i < 10; ++i) low_zero = low_zero && b[i] == 0;
  if (low_zero && b[10] == 0 && b[11] == 0 && b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] == 1)
    return false;                                                // ::1
  if (low_zero && b[10] == 0xff && b[11] == 0xff) return false;  // ::ffff:a.b.c.d
  return true;
}

}  // namespace

Status ForwardingTables::validate6(const TableDelta& delta, size_t& new_routes) const {
  std::set<Ipv6Prefix> removed;
  std::unordered_map<uint32_t, uint32_t> leaving;
  for (const Ipv6Prefix& p : delta.remove_routes6) {
    auto it = routes6_.find(p);
    if (it == routes6_.end())
      return Status(ErrorCode::kNotFound, "route " + p.str() + ": no such route to remove");
    if (!removed.insert(p).second)
      return Status::invalid("route " + p.str() + ": removed twice in one change");
    ++leaving[it->second.next_hop];
  }
  std::set<Ipv6Prefix> upserted;
  std::map<Ipv6Addr, NextHopKey6> final_key;
  for (const Route6Spec& r : delta.upsert_routes6) {
    const auto bad = [&r](const std::string& why) {
      return Status::invalid("route " + r.prefix.str() + ": " + why);
    };
    if (!params_.underlay6) {
      return bad(
          "public_ip: this node has no IPv6 underlay address (underlay.ipv6_address), so it "
          "carries no IPv6 routes");
    }
    if (r.prefix.len == 0) return bad("prefix: a default route is not a podCIDR");
    if (r.prefix.len > 128) return bad("prefix: length above 128");
    if (!(r.prefix.network() == r.prefix))
      return bad("prefix: host bits set (the network is " + r.prefix.network().str() + ")");
    if (!upserted.insert(r.prefix).second) return bad("given twice in one change");
    if (removed.count(r.prefix)) return bad("both removed and added in one change");
    if (local_subnet6_ && local_subnet6_->overlaps(r.prefix))
      return bad("prefix: overlaps our own IPv6 podCIDR " + local_subnet6_->str());
    if (r.backend != params_.backend) {
      return bad(std::string("backend: ") + backend_type_name(r.backend) +
                 " node, but this node runs " + backend_type_name(params_.backend));
    }
    if (r.backend == BackendType::kUdp)
      return bad("backend: flannel's udp backend carries no IPv6");
    if (r.backend == BackendType::kVxlan) {
      if (r.vni != params_.vni) {
        return bad("vni: " + std::to_string(r.vni) + " differs from ours (" +
                   std::to_string(params_.vni) + ")");
      }
      if (r.vtep_mac.is_zero() || r.vtep_mac.is_multicast())
        return bad("vtep_mac: " + r.vtep_mac.str() + " is not a unicast MAC");
    }
    if (!ipv6_unicast_host(r.public_ip))
      return bad("public_ip: " + r.public_ip.str() + " is not a global unicast address");
    if (r.public_ip == params_.underlay6->addr)
      return bad("public_ip: " + r.public_ip.str() + " is our own address");
    const bool on_link = params_.underlay6->contains(r.public_ip);
    if (params_.backend == BackendType::kHostGw && !on_link) {
      return bad("public_ip: host-gw needs " + r.public_ip.str() + " on the underlay subnet " +
                 params_.underlay6->network().str());
    }
    if (!on_link && !params_.gateway6) {
      return bad("public_ip: " + r.public_ip.str() + " is off the underlay subnet " +
                 params_.underlay6->network().str() + " and no IPv6 gateway is configured");
    }
    const NextHopKey6 key = key_for6(r);
    auto [it, inserted] = final_key.emplace(r.public_ip, key);
    if (!inserted && !(it->second == key)) {
      return bad("public_ip: " + r.public_ip.str() +
                 " is given with two different VTEPs in one change");
    }
    if (auto existing = routes6_.find(r.prefix); existing != routes6_.end()) {
      ++leaving[existing->second.next_hop];
    } else {
      ++new_routes;
    }
  }
  for (const auto& [ip, key] : final_key) {
    const auto [first, last] = next_hops_of6(ip);
    for (auto it = first; it != last; ++it) {
      if (it->first == key) continue;
      const NextHopState& s = states_[it->second];
      auto l = leaving.find(it->second);
      if (l == leaving.end() || l->second < s.routes) {
        return Status::invalid(
            "public_ip " + ip.str() + ": already the VTEP of other routes with " +
            (s.nh->kind == NextHopKind::kVxlan ? "VtepMAC " + s.nh->vtep_mac.str()
                                               : "another kind") +
            "; change or remove those routes in the same change");
      }
    }
  }
  for (const StaticNeighbour6& n : delta.set_neighbours6) {
    if (!params_.underlay6 || !params_.underlay6->contains(n.ip)) {
      return Status::invalid("neighbour " + n.ip.str() + ": not on the IPv6 underlay subnet" +
                             (params_.underlay6 ? " " + params_.underlay6->network().str()
                                                : " (underlay.ipv6_address unset)"));
    }
    if (n.mac.is_zero() || n.mac.is_multicast()) {
      return Status::invalid("neighbour " + n.ip.str() + ": mac: " + n.mac.str() +
                             " is not a unicast MAC");
    }
  }
  for (const Ipv6Addr& ip : delta.remove_neighbours6) {
    if (!neighbours_.is_static(ip))
      return Status(ErrorCode::kNotFound, "neighbour " + ip.str() + ": no such static neighbour");
  }
  return {};
}

NextHopKind ForwardingTables::kind_for6(const Route6Spec& spec) const {
  if (params_.backend == BackendType::kHostGw) return NextHopKind::kDirect;
  const bool on_link = params_.underlay6 && params_.underlay6->contains(spec.public_ip);
  return params_.direct_routing && on_link ? NextHopKind::kDirect : NextHopKind::kVxlan;
}

ForwardingTables::NextHopKey6 ForwardingTables::key_for6(const Route6Spec& spec) const {
  return {spec.public_ip, kind_for6(spec),
          spec.backend == BackendType::kVxlan ? mac_key(spec.vtep_mac) : std::array<uint8_t, 6>{}};
}

std::pair<std::map<ForwardingTables::NextHopKey6, uint32_t>::const_iterator,
          std::map<ForwardingTables::NextHopKey6, uint32_t>::const_iterator>
ForwardingTables::next_hops_of6(const Ipv6Addr& public_ip) const {
  // Keys of one address are contiguous: it orders first.
  auto first = by_key6_.lower_bound(NextHopKey6{public_ip, NextHopKind::kVxlan, {}});
  auto last = first;
  while (last != by_key6_.end() && last->first.public_ip == public_ip) ++last;
  return {first, last};
}

Result<uint32_t> ForwardingTables::acquire_next_hop6(const Route6Spec& spec, uint64_t now_ms) {
  const NextHopKey6 key = key_for6(spec);
  if (auto it = by_key6_.find(key); it != by_key6_.end()) {
    ++states_[it->second].routes;
    return it->second;
  }
  const bool on_link = params_.underlay6->contains(spec.public_ip);
  const Ipv6Addr via = on_link ? spec.public_ip : *params_.gateway6;
  auto adjacency = neighbours_.acquire(via, now_ms);
  if (!adjacency) return adjacency.status();
  auto taken = take_id();
  if (!taken) {
    neighbours_.release(*adjacency);
    return taken.status();
  }
  const uint32_t id = *taken;
  NextHop* nh = states_[id].nh;
  NextHopParams p;
  p.kind = key.kind;
  p.out_port = params_.underlay_port;
  p.adjacency = *adjacency;
  p.src_mac = params_.underlay_mac;
  p.udp_port = params_.udp_port;
  p.vni = params_.vni;
  p.our_vtep_mac = params_.vtep_mac6;
  p.remote_vtep_mac = spec.vtep_mac;
  p.ipv6 = true;
  p.local_ip6 = params_.underlay6->addr;
  p.public_ip6 = spec.public_ip;
  build_next_hop(p, *nh);
  nh->id = id;
  NextHopState& s = states_[id];
  s.routes = 1;
  s.v6 = true;
  s.key6 = key;
  s.via6 = via;
  by_key6_[key] = id;
  if (on_new_next_hop_) on_new_next_hop_(id);
  slots_[id].store(nh, std::memory_order_release);
  return id;
}

void ForwardingTables::update_sender6(const Ipv6Addr& ip) {
  const auto [first, last] = next_hops_of6(ip);
  for (auto it = first; it != last; ++it) {
    if (it->first.kind == NextHopKind::kVxlan) {
      rte_hash_add_key_data(senders6_, ip.bytes.data(),
                            reinterpret_cast<void*>(static_cast<uintptr_t>(it->second)));
      if (sender6_hook_) sender6_hook_(ip, it->second);
      return;
    }
  }
  rte_hash_del_key(senders6_, ip.bytes.data());
  if (sender6_hook_) sender6_hook_(ip, std::nullopt);
}

Result<uint32_t> ForwardingTables::acquire_next_hop(const RouteSpec& spec, uint64_t now_ms) {
  const NextHopKey key = key_for(spec);
  const NextHopKind kind = key.kind;
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    ++states_[it->second].routes;
    return it->second;
  }
  const bool on_link = params_.underlay->contains(spec.public_ip);
  auto adjacency = neighbours_.acquire(on_link ? spec.public_ip : *params_.gateway, now_ms);
  if (!adjacency) return adjacency.status();
  auto taken = take_id();
  if (!taken) {
    neighbours_.release(*adjacency);
    return taken.status();
  }
  const uint32_t id = *taken;
  NextHop* nh = states_[id].nh;
  NextHopParams p;
  p.kind = kind;
  p.out_port = params_.underlay_port;
  p.adjacency = *adjacency;
  p.src_mac = params_.underlay_mac;
  p.local_ip = params_.underlay->addr;
  p.public_ip = spec.public_ip;
  p.udp_port = params_.udp_port;
  p.vni = params_.vni;
  p.our_vtep_mac = params_.vtep_mac;
  p.remote_vtep_mac = spec.vtep_mac;
  build_next_hop(p, *nh);
  nh->id = id;
  states_[id] = {nh, key, 1, false, {}, {}};
  by_key_[key] = id;
  if (on_new_next_hop_) on_new_next_hop_(id);
  slots_[id].store(nh, std::memory_order_release);
  return id;
}

Result<uint32_t> ForwardingTables::take_id() {
  if (free_ids_.empty()) reclaim();
  if (free_ids_.empty()) {
    rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID);
    reclaim();
  }
  if (free_ids_.empty()) return Status(ErrorCode::kResourceExhausted, "next-hop table full");
  const uint32_t id = free_ids_.back();
  NextHop* nh = next_hop_storage(id);
  if (nh == nullptr) return Status(ErrorCode::kResourceExhausted, "cannot allocate a next hop");
  free_ids_.pop_back();
  states_[id] = NextHopState{};
  states_[id].nh = nh;
  return id;
}

void ForwardingTables::release_next_hop(uint32_t id) {
  NextHopState& s = states_[id];
  if (--s.routes > 0) return;
  if (s.v6) {
    by_key6_.erase(s.key6);
  } else {
    by_key_.erase(s.key);
  }
  slots_[id].store(nullptr, std::memory_order_release);
  retire(id);
}

void ForwardingTables::retire(uint32_t id) {
  if (rte_rcu_qsbr_dq_enqueue(retired_, &id) == 0) return;
  // Cannot happen while the queue holds every id, but never leak: wait out
  // the grace period here instead.
  rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID);
  reclaim();
  if (rte_rcu_qsbr_dq_enqueue(retired_, &id) != 0) free_retired(this, &id, 1);
}

void ForwardingTables::free_retired(void* tables, void* elements, unsigned int n) {
  auto* t = static_cast<ForwardingTables*>(tables);
  const auto* ids = static_cast<const uint32_t*>(elements);
  for (unsigned i = 0; i < n; ++i) {
    NextHopState& s = t->states_[ids[i]];
    t->released_adjacencies_.push_back(s.nh->adjacency);
    s = NextHopState{};  // the storage stays with the id (next_hop_storage)
    t->free_ids_.push_back(ids[i]);
  }
}

void ForwardingTables::reclaim() {
  unsigned freed = 0, pending = 0, available = 0;
  rte_rcu_qsbr_dq_reclaim(retired_, capacity_, &freed, &pending, &available);
  fib_->reclaim();
  if (fib6_) fib6_->reclaim();
  if (released_adjacencies_.empty()) return;
  if (drain_workers_) drain_workers_();
  for (uint32_t adjacency : released_adjacencies_) neighbours_.release(adjacency);
  released_adjacencies_.clear();
}

void ForwardingTables::update_sender(Ipv4Addr ip) {
  const uint32_t key = ip.be();
  // Any tunnel next hop of this IP; there is at most one once a delta is done.
  const auto [first, last] = next_hops_of(ip.value);
  for (auto it = first; it != last; ++it) {
    if (it->first.kind == NextHopKind::kVxlan || it->first.kind == NextHopKind::kUdp) {
      rte_hash_add_key_data(senders_, &key,
                            reinterpret_cast<void*>(static_cast<uintptr_t>(it->second)));
      if (sender_hook_) sender_hook_(ip, it->second);
      return;
    }
  }
  rte_hash_del_key(senders_, &key);
  if (sender_hook_) sender_hook_(ip, std::nullopt);
}

Status ForwardingTables::fib_add(const Ipv4Prefix& prefix, uint32_t next_hop) {
  Status s = fib_->set(prefix, next_hop);
  if (s.ok() || s.code() != ErrorCode::kResourceExhausted) return s;
  if (prefix.len > 24) {
    return Status(ErrorCode::kResourceExhausted,
                  "route " + prefix.str() +
                      ": no LPM group left for a prefix longer than /24 "
                      "(dataplane.lpm_tbl8_groups)");
  }
  return Status(ErrorCode::kResourceExhausted, "route " + prefix.str() + ": " + s.message());
}

Status ForwardingTables::apply(const TableDelta& delta, uint64_t now_ms) {
  if (Status s = validate(delta); !s.ok()) return s;

  struct Undo {
    Ipv4Prefix prefix;
    std::optional<Route> previous;
    uint32_t acquired;
  };
  std::vector<Undo> undo;
  undo.reserve(delta.upsert_routes.size());
  struct Undo6 {
    Ipv6Prefix prefix;
    std::optional<Route6> previous;
    uint32_t acquired;
  };
  std::vector<Undo6> undo6;
  std::vector<uint32_t> to_release;
  std::set<uint32_t> touched_ips;
  std::set<Ipv6Addr> touched_ips6;
  auto rollback = [&](Status failure) {
    for (auto it = undo6.rbegin(); it != undo6.rend(); ++it) {
      if (it->previous) {
        (void)fib6_->set(it->prefix, it->previous->next_hop);  // a change: no allocation
        routes6_[it->prefix] = *it->previous;
      } else {
        fib6_->remove(it->prefix);
        routes6_.erase(it->prefix);
      }
      release_next_hop(it->acquired);
    }
    for (const Ipv6Addr& ip : touched_ips6) update_sender6(ip);
    for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
      if (it->previous) {
        (void)fib_->set(it->prefix, it->previous->next_hop);  // a change: no allocation
        routes_[it->prefix] = *it->previous;
      } else {
        fib_->remove(it->prefix);
        routes_.erase(it->prefix);
      }
      release_next_hop(it->acquired);
    }
    for (uint32_t ip : touched_ips) update_sender(Ipv4Addr{ip});
    // Free what the attempt took now, so no neighbour it added resolves.
    reclaim();
    TARTAN_LOG(NOTICE, kEngine, "table change rolled back: %s", failure.message().c_str());
    return failure;
  };

  // Adds first: only they can fail (no memory, no route group), and nothing
  // has been removed yet when they do.
  for (const RouteSpec& r : delta.upsert_routes) {
    auto nh = acquire_next_hop(r, now_ms);
    if (!nh) return rollback(nh.status());
    touched_ips.insert(r.public_ip.value);
    if (Status s = fib_add(r.prefix, *nh); !s.ok()) {
      release_next_hop(*nh);
      return rollback(s);
    }
    std::optional<Route> previous;
    if (auto it = routes_.find(r.prefix); it != routes_.end()) previous = it->second;
    undo.push_back({r.prefix, previous, *nh});
    routes_[r.prefix] = Route{r, *nh};
  }
  for (const Route6Spec& r : delta.upsert_routes6) {
    auto nh = acquire_next_hop6(r, now_ms);
    if (!nh) return rollback(nh.status());
    touched_ips6.insert(r.public_ip);
    if (Status s = fib6_->set(r.prefix, *nh); !s.ok()) {
      release_next_hop(*nh);
      return rollback(Status(s.code(), "route " + r.prefix.str() + ": " + s.message()));
    }
    std::optional<Route6> previous;
    if (auto it = routes6_.find(r.prefix); it != routes6_.end()) previous = it->second;
    undo6.push_back({r.prefix, previous, *nh});
    routes6_[r.prefix] = Route6{r, *nh};
  }
  for (const Undo& u : undo) {
    if (u.previous) {
      to_release.push_back(u.previous->next_hop);
      touched_ips.insert(u.previous->spec.public_ip.value);
    }
  }
  for (const Undo6& u : undo6) {
    if (u.previous) {
      to_release.push_back(u.previous->next_hop);
      touched_ips6.insert(u.previous->spec.public_ip);
    }
  }
  for (const Ipv6Prefix& p : delta.remove_routes6) {
    auto it = routes6_.find(p);
    fib6_->remove(p);
    to_release.push_back(it->second.next_hop);
    touched_ips6.insert(it->second.spec.public_ip);
    routes6_.erase(it);
  }
  for (const Ipv4Prefix& p : delta.remove_routes) {
    auto it = routes_.find(p);
    fib_->remove(p);
    to_release.push_back(it->second.next_hop);
    touched_ips.insert(it->second.spec.public_ip.value);
    routes_.erase(it);
  }
  for (uint32_t id : to_release) release_next_hop(id);
  for (uint32_t ip : touched_ips) update_sender(Ipv4Addr{ip});
  for (const Ipv6Addr& ip : touched_ips6) update_sender6(ip);
  for (const StaticNeighbour& n : delta.set_neighbours) {
    if (Status s = neighbours_.set_static(n.ip, n.mac); !s.ok())
      return s;  // only on a full neighbour table
  }
  for (const Ipv4Addr& ip : delta.remove_neighbours) (void)neighbours_.remove_static(ip);
  for (const StaticNeighbour6& n : delta.set_neighbours6) {
    if (Status s = neighbours_.set_static(n.ip, n.mac); !s.ok()) return s;
  }
  for (const Ipv6Addr& ip : delta.remove_neighbours6) (void)neighbours_.remove_static(ip);
  reclaim();
  return {};
}

Status ForwardingTables::set_local_subnet(std::optional<Ipv4Prefix> subnet) {
  if (subnet == local_subnet_) return {};
  if (subnet) {
    for (const auto& [prefix, route] : routes_) {
      if (prefix.overlaps(*subnet)) {
        return Status::invalid("local subnet " + subnet->str() + " overlaps the route of " +
                               prefix.str());
      }
    }
    if (params_.overlays.empty())
      return Status(ErrorCode::kFailedPrecondition, "no overlay port to deliver to");
  }
  if (local_subnet_) fib_->remove(*local_subnet_);
  local_subnet_.reset();
  if (subnet) {
    if (Status s = fib_add(*subnet, 0); !s.ok()) return s;
    local_subnet_ = subnet;
  }
  return {};
}

Status ForwardingTables::set_local_subnet6(std::optional<Ipv6Prefix> subnet) {
  if (subnet == local_subnet6_) return {};
  if (subnet) {
    if (!fib6_) {
      return Status(ErrorCode::kFailedPrecondition,
                    "local IPv6 subnet " + subnet->str() +
                        ": this node has no IPv6 underlay address (underlay.ipv6_address)");
    }
    if (subnet->len == 0 || !(subnet->network() == *subnet))
      return Status::invalid("local IPv6 subnet " + subnet->str() + ": not a podCIDR");
    for (const auto& [prefix, route] : routes6_) {
      if (prefix.overlaps(*subnet)) {
        return Status::invalid("local IPv6 subnet " + subnet->str() + " overlaps the route of " +
                               prefix.str());
      }
    }
    if (params_.overlays.empty())
      return Status(ErrorCode::kFailedPrecondition, "no overlay port to deliver to");
  }
  if (local_subnet6_) fib6_->remove(*local_subnet6_);
  local_subnet6_.reset();
  if (subnet) {
    if (Status s = fib6_->set(*subnet, 0); !s.ok()) return s;
    local_subnet6_ = subnet;
  }
  return {};
}

std::vector<Route6View> ForwardingTables::routes6() const {
  std::vector<Route6View> out;
  if (local_subnet6_) {
    Route6View v;
    v.prefix = *local_subnet6_;
    v.out_port = params_.overlays[0].name;
    out.push_back(v);
  }
  for (const auto& [prefix, route] : routes6_) {
    const NextHopState& s = states_[route.next_hop];
    Route6View v;
    v.prefix = prefix;
    v.kind = s.nh->kind;
    v.next_hop_id = route.next_hop;
    v.public_ip = s.nh->public_ip6;
    v.vtep_mac = s.nh->vtep_mac;
    v.via = s.via6;
    v.via_mac = neighbours_.mac_of(s.nh->adjacency);
    out.push_back(v);
  }
  return out;
}

std::map<Ipv6Addr, uint32_t> ForwardingTables::senders6() const {
  std::map<Ipv6Addr, uint32_t> out;
  for (const auto& [key, id] : by_key6_) {
    if (key.kind == NextHopKind::kVxlan) out[key.public_ip] = id;
  }
  return out;
}

std::vector<RouteView> ForwardingTables::routes() const {
  std::vector<RouteView> out;
  if (local_subnet_) {
    RouteView v;
    v.prefix = *local_subnet_;
    v.kind = NextHopKind::kLocal;
    v.next_hop_id = 0;
    v.out_port = params_.overlays[0].name;
    out.push_back(v);
  }
  for (const auto& [prefix, route] : routes_) {
    auto v = next_hop_view(route.next_hop);
    v->prefix = prefix;
    out.push_back(*v);
  }
  return out;
}

std::optional<RouteView> ForwardingTables::next_hop_view(uint32_t id) const {
  if (id >= capacity_ || states_[id].nh == nullptr) return std::nullopt;
  const NextHop& nh = *states_[id].nh;
  RouteView v;
  v.kind = nh.kind;
  v.next_hop_id = id;
  if (nh.kind == NextHopKind::kLocal) {
    v.out_port = params_.overlays[id].name;
    return v;
  }
  v.vtep_mac = nh.vtep_mac;
  v.via_mac = neighbours_.mac_of(nh.adjacency);
  if (states_[id].v6) {
    v.public_ip6 = nh.public_ip6;
    return v;
  }
  v.public_ip = nh.public_ip;
  v.via = neighbours_.ip_of(nh.adjacency);
  return v;
}

std::map<Ipv4Addr, uint32_t> ForwardingTables::senders() const {
  std::map<Ipv4Addr, uint32_t> out;
  for (const auto& [key, id] : by_key_) {
    if (key.kind == NextHopKind::kVxlan || key.kind == NextHopKind::kUdp)
      out[Ipv4Addr{key.public_ip}] = id;
  }
  return out;
}

bool ForwardingTables::is_tunnel(const RouteSpec& spec) const {
  const NextHopKind kind = kind_for(spec);
  return kind == NextHopKind::kVxlan || kind == NextHopKind::kUdp;
}

bool ForwardingTables::is_tunnel(const Route6Spec& spec) const {
  return kind_for6(spec) == NextHopKind::kVxlan;
}

std::vector<uint32_t> ForwardingTables::remote_next_hop_ids() const {
  std::vector<uint32_t> ids;
  for (const auto& [key, id] : by_key_) ids.push_back(id);
  for (const auto& [key, id] : by_key6_) ids.push_back(id);
  return ids;
}

}  // namespace tartan
