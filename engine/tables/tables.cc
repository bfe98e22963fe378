#include "engine/tables/tables.h"

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_udp.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <variant>

#include "engine/backends/headers.h"
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

}  // namespace

template <>
ForwardingTables::Side<Ipv4TableFamily>& ForwardingTables::side<Ipv4TableFamily>() {
  return v4_;
}
template <>
ForwardingTables::Side<Ipv6TableFamily>& ForwardingTables::side<Ipv6TableFamily>() {
  return v6_;
}

template <>
ForwardingTables::SideDelta<Ipv4TableFamily> ForwardingTables::part<Ipv4TableFamily>(
    const TableDelta& d) {
  return {d.upsert_routes, d.remove_routes, d.set_neighbours, d.remove_neighbours};
}
template <>
ForwardingTables::SideDelta<Ipv6TableFamily> ForwardingTables::part<Ipv6TableFamily>(
    const TableDelta& d) {
  return {d.upsert_routes6, d.remove_routes6, d.set_neighbours6, d.remove_neighbours6};
}

template <class F>
Status ForwardingTables::create_senders(Side<F>& side, int socket) {
  const std::string name = unique_name(F::kWords.senders_name);
  rte_hash_parameters p{};
  p.name = name.c_str();
  p.entries = std::max<uint32_t>(capacity_, 8);
  p.key_len = sizeof(typename F::SenderKey);
  p.hash_func = F::kSenderHash;  // null: rte_hash's CRC
  p.socket_id = socket;
  p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
  side.senders = rte_hash_create(&p);
  if (side.senders == nullptr) {
    return Status(ErrorCode::kResourceExhausted, std::string("cannot create the ") +
                                                     F::kWords.qualifier +
                                                     "sender table: " + rte_strerror(rte_errno));
  }
  if (F::kSenderCompare != nullptr) rte_hash_set_cmp_func(side.senders, F::kSenderCompare);
  rte_hash_rcu_config hash_rcu{};
  hash_rcu.v = rcu_;
  hash_rcu.mode = RTE_HASH_QSBR_MODE_DQ;
  if (rte_hash_rcu_qsbr_add(side.senders, &hash_rcu) != 0) {
    return Status::internal(std::string("cannot attach RCU to the ") + F::kWords.qualifier +
                            "sender table: " + rte_strerror(rte_errno));
  }
  return {};
}

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
  t->v4_.fib = std::move(*fib);
  if (Status s = t->create_senders(t->v4_, socket); !s.ok()) return s;

  if (params.underlay6) {
    auto fib6 =
        RouteTable6::create(params.max_routes + 64, params.max_route6_lengths, t->rcu_, socket);
    if (!fib6) return fib6.status();
    t->v6_.fib = std::move(*fib6);
    if (Status s = t->create_senders(t->v6_, socket); !s.ok()) return s;
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
  t->alternate_chunks_.resize(t->next_hop_chunks_.size());
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
    t->states_[i] = {nh, 1, {}};
    t->slots_[i].store(nh, std::memory_order_release);
  }
  for (uint32_t id = t->capacity_; id-- > params.overlays.size();) t->free_ids_.push_back(id);
  return t;
}

ForwardingTables::~ForwardingTables() {
  // Workers have stopped: everything can go without waiting.
  if (retired_ != nullptr) rte_rcu_qsbr_dq_delete(retired_);
  for (uint32_t adjacency : released_adjacencies_) neighbours_.release(adjacency);
  for (const LeftAdjacency& l : endpoint_left_) neighbours_.release(l.adjacency);
  for (NextHopState& s : states_) {
    if (s.nh != nullptr && s.nh->kind != NextHopKind::kLocal) neighbours_.release(s.nh->adjacency);
  }
  for (NextHop* chunk : next_hop_chunks_) rte_free(chunk);
  for (NextHop* chunk : alternate_chunks_) rte_free(chunk);
  rte_hash_free(v4_.senders);
  rte_hash_free(v6_.senders);
  v6_.fib.reset();
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

NextHop* ForwardingTables::alternate_storage(uint32_t id) {
  NextHop*& chunk = alternate_chunks_[id / kNextHopsPerChunk];
  if (chunk == nullptr) {
    chunk = static_cast<NextHop*>(
        rte_zmalloc_socket("tartan_nh_alt", sizeof(NextHop) * kNextHopsPerChunk,
                           RTE_CACHE_LINE_SIZE, static_cast<int>(rte_socket_id())));
    if (chunk == nullptr) return nullptr;
  }
  return &chunk[id % kNextHopsPerChunk];
}

Status ForwardingTables::set_wireguard_endpoint(uint32_t id, Ipv4Addr ip, uint16_t port,
                                                uint64_t now_ms) {
  return set_endpoint(v4_, id, ip, port, now_ms);
}

Status ForwardingTables::set_wireguard_endpoint(uint32_t id, const Ipv6Addr& ip, uint16_t port,
                                                uint64_t now_ms) {
  return set_endpoint(v6_, id, ip, port, now_ms);
}

template <class F>
Status ForwardingTables::set_endpoint(Side<F>& side, uint32_t id, const typename F::Address& ip,
                                      uint16_t port, uint64_t now_ms) {
  NextHopState* s = id < capacity_ ? &states_[id] : nullptr;
  if (s == nullptr || s->nh == nullptr || s->nh->kind != NextHopKind::kWireguard ||
      !std::holds_alternative<Remote<F>>(s->remote)) {
    return Status(ErrorCode::kNotFound, "next hop " + std::to_string(id) + " is not an " +
                                            F::kWords.name + " wireguard peer's");
  }
  if (F::sends_to(*s->nh, ip, port)) return {};
  if (s->endpoint_grace && rte_rcu_qsbr_check(rcu_, *s->endpoint_grace, false) != 1) {
    return Status(ErrorCode::kUnavailable,
                  "next hop " + std::to_string(id) + ": its last endpoint change is still read");
  }
  const bool on_link = side.underlay->contains(ip);
  if (!on_link && !side.gateway) {
    return Status(ErrorCode::kFailedPrecondition,
                  "endpoint " + ip.str() + ": off the underlay subnet, and no gateway");
  }
  auto& remote = std::get<Remote<F>>(s->remote);
  const typename F::Address via = on_link ? ip : *side.gateway;
  uint32_t adjacency = s->nh->adjacency;
  if (via != remote.via) {
    auto acquired = neighbours_.acquire(via, now_ms);
    if (!acquired) return acquired.status();
    adjacency = *acquired;
  }
  NextHop* primary = &next_hop_chunks_[id / kNextHopsPerChunk][id % kNextHopsPerChunk];
  NextHop* next = s->nh == primary ? alternate_storage(id) : primary;
  if (next == nullptr) {
    if (adjacency != s->nh->adjacency) neighbours_.release(adjacency);
    return Status(ErrorCode::kResourceExhausted, "cannot allocate a next hop");
  }
  NextHopParams p;
  p.kind = NextHopKind::kWireguard;
  p.out_port = s->nh->out_port;
  p.adjacency = adjacency;
  p.src_mac = params_.underlay_mac;
  p.udp_port = side.udp_port;
  F::set_tunnel_ends(p, side.underlay->addr, remote.key.public_ip);
  F::set_endpoint(p, ip, port);
  *next = NextHop{};
  build_next_hop(p, *next);
  next->id = id;
  slots_[id].store(next, std::memory_order_release);
  const uint64_t token = rte_rcu_qsbr_start(rcu_);
  if (adjacency != s->nh->adjacency) endpoint_left_.push_back({token, s->nh->adjacency});
  s->nh = next;
  s->endpoint_grace = token;
  remote.via = via;
  return {};
}

TableReaders ForwardingTables::readers() const {
  TableReaders r{v4_.fib->lookup(), slots_, v4_.senders, nullptr};
  if (v6_.fib) {
    r.routes6 = v6_.fib->lookup();
    r.senders6 = v6_.senders;
  } else {
    // No length is ever present: an IPv6 lookup (never made while IPv6 is
    // off) would find nothing.
    static const std::array<std::atomic<uint64_t>, kIpv6LengthWords> none{};
    static const std::array<std::atomic<const Route6Hash*>, kIpv6Lengths> no_table{};
    r.routes6 = {none.data(), no_table.data()};
  }
  return r;
}

template <class F>
NextHopKind ForwardingTables::kind_for(const Side<F>& side, const RouteSpecOf<F>& spec) const {
  // Without an underlay of the family no peer is on link (the route itself
  // is refused later, in apply). flannel's udp backend has no IPv6: its
  // IPv6 routes are refused too, so IPv6 next hops are never kUdp.
  const bool on_link = side.underlay && side.underlay->contains(spec.public_ip);
  switch (params_.backend) {
    case BackendType::kHostGw:
      return NextHopKind::kDirect;
    case BackendType::kUdp:
      return NextHopKind::kUdp;
    case BackendType::kWireguard:
      return NextHopKind::kWireguard;
    case BackendType::kVxlan:
      return params_.direct_routing && on_link ? NextHopKind::kDirect : NextHopKind::kVxlan;
  }
  return NextHopKind::kVxlan;
}

template <class F>
std::optional<uint32_t> ForwardingTables::find_next_hop(const Side<F>& side,
                                                        const typename F::Address& public_ip,
                                                        NextHopKind kind) {
  // Whatever its VtepMAC and port: the lowest key of the address and kind.
  const auto it = side.by_key.lower_bound(NextHopKey<F>{public_ip, kind, {}, 0});
  if (it == side.by_key.end() || it->first.public_ip != public_ip || it->first.kind != kind)
    return std::nullopt;
  return it->second;
}

std::optional<uint32_t> ForwardingTables::next_hop_of(const Ipv4Addr& public_ip,
                                                      NextHopKind kind) const {
  return find_next_hop(v4_, public_ip, kind);
}

std::optional<uint32_t> ForwardingTables::next_hop_of(const Ipv6Addr& public_ip,
                                                      NextHopKind kind) const {
  return find_next_hop(v6_, public_ip, kind);
}

template <class F>
ForwardingTables::NextHopKey<F> ForwardingTables::key_for(const Side<F>& side,
                                                          const RouteSpecOf<F>& spec) const {
  // A wireguard peer that names no port is sent to at ours: the same
  // next hop as one naming ours.
  const bool wireguard = spec.backend == BackendType::kWireguard;
  return {spec.public_ip, kind_for(side, spec),
          spec.backend == BackendType::kVxlan ? mac_key(spec.vtep_mac) : std::array<uint8_t, 6>{},
          wireguard ? (spec.peer_port ? spec.peer_port : side.udp_port) : uint16_t{0}};
}

template <class F>
auto ForwardingTables::next_hops_of(const Side<F>& side, const typename F::Address& public_ip) {
  // Keys of one address are contiguous: it orders first, and kVxlan and a
  // zero MAC order lowest.
  auto first = side.by_key.lower_bound(NextHopKey<F>{public_ip, NextHopKind::kVxlan, {}, 0});
  auto last = first;
  while (last != side.by_key.end() && last->first.public_ip == public_ip) ++last;
  return std::pair{first, last};
}

Status ForwardingTables::validate(const TableDelta& delta) const {
  const auto d4 = part<Ipv4TableFamily>(delta);
  const auto d6 = part<Ipv6TableFamily>(delta);
  size_t added = 0, added6 = 0;
  Checked checked;
  if (Status s = validate_routes(v4_, d4, added, checked); !s.ok()) return s;
  if (Status s = validate_routes(v6_, d6, added6, checked); !s.ok()) return s;
  if (Status s = check_one_next_hop_per_ip(v4_, checked); !s.ok()) return s;
  if (Status s = check_one_next_hop_per_ip(v6_, checked); !s.ok()) return s;
  if (Status s = validate_neighbours(v6_, d6); !s.ok()) return s;
  // One count across both families: they share the next-hop ids.
  if (v4_.routes.size() + v6_.routes.size() - d4.removes.size() - d6.removes.size() + added +
          added6 >
      params_.max_routes) {
    return Status(ErrorCode::kResourceExhausted,
                  "route table full: " + std::to_string(params_.max_routes) +
                      " routes (dataplane.max_routes)");
  }
  return validate_neighbours(v4_, d4);
}

template <class G>
std::optional<std::string> ForwardingTables::endpoint_problem(const Side<G>& side,
                                                              const typename G::Address& ip,
                                                              const char* field) const {
  const std::string f = field;
  if (!side.underlay) {
    return f + ": this node has no " + G::kWords.name + " underlay address (" +
           G::kWords.underlay_key + "), so it carries no " + G::kWords.name + " routes";
  }
  if (!G::unicast_host(ip)) return f + ": " + ip.str() + G::kWords.not_unicast;
  if (ip == side.underlay->addr) return f + ": " + ip.str() + " is our own address";
  const bool on_link = side.underlay->contains(ip);
  if (params_.backend == BackendType::kHostGw && !on_link) {
    return f + ": host-gw needs " + ip.str() + " on the underlay subnet " +
           side.underlay->network().str();
  }
  if (!on_link && !side.gateway) {
    return f + ": " + ip.str() + " is off the underlay subnet " + side.underlay->network().str() +
           " and no " + G::kWords.qualifier + "gateway is configured";
  }
  return std::nullopt;
}

template <class F>
Status ForwardingTables::validate_routes(const Side<F>& side, const SideDelta<F>& d, size_t& added,
                                         Checked& checked) const {
  using Prefix = typename F::Prefix;
  using G = OtherFamily<F>;
  const std::string q = F::kWords.qualifier;
  std::set<Prefix> removed;
  for (const Prefix& p : d.removes) {
    auto it = side.routes.find(p);
    if (it == side.routes.end())
      return Status(ErrorCode::kNotFound, "route " + p.str() + ": no such route to remove");
    if (!removed.insert(p).second)
      return Status::invalid("route " + p.str() + ": removed twice in one change");
    ++checked.leaving[it->second.next_hop];
  }
  std::set<Prefix> upserted;
  for (const RouteSpecOf<F>& r : d.upserts) {
    // The message is built only for a route that is refused.
    const auto bad = [&r](const std::string& why) {
      return Status::invalid("route " + r.prefix.str() + ": " + why);
    };
    // Without an underlay of its own family a route has no table to go in.
    if (!side.underlay) return bad(*endpoint_problem(side, r.public_ip, "public_ip"));
    if (r.prefix.len == 0) return bad("prefix: a default route is not a podCIDR");
    if (auto problem = F::prefix_problem(r.prefix)) return bad(*problem);
    if (!upserted.insert(r.prefix).second) return bad("given twice in one change");
    if (removed.count(r.prefix)) return bad("both removed and added in one change");
    if (side.local_subnet && side.local_subnet->overlaps(r.prefix))
      return bad("prefix: overlaps our own " + q + "podCIDR " + side.local_subnet->str());
    if (r.backend != params_.backend) {
      return bad(std::string("backend: ") + backend_type_name(r.backend) +
                 " node, but this node runs " + backend_type_name(params_.backend));
    }
    if (!F::kCarriesUdp && r.backend == BackendType::kUdp)
      return bad(std::string("backend: flannel's udp backend carries no ") + F::kWords.name);
    if (r.backend == BackendType::kVxlan) {
      if (r.vni != params_.vni) {
        return bad("vni: " + std::to_string(r.vni) + " differs from ours (" +
                   std::to_string(params_.vni) + ")");
      }
      if (r.vtep_mac.is_zero() || r.vtep_mac.is_multicast())
        return bad("vtep_mac: " + r.vtep_mac.str() + " is not a unicast MAC");
    }
    // The key of the next hop the route goes to, in the family of its
    // underlay.
    const auto agree = [&](auto& keys, const auto& ip, const auto& key) {
      auto [it, inserted] = keys.emplace(ip, key);
      return inserted || it->second == key;
    };
    if (r.cross_ip) {
      if (!params_.cross_family_routes) {
        return bad(
            "cross_ip: only wireguard's one-device modes (Mode auto, ipv4, ipv6) seal a "
            "family's pods behind the other's underlay");
      }
      const Side<G>& outer = this->template side<G>();
      if (auto problem = endpoint_problem(outer, *r.cross_ip, "cross_ip")) return bad(*problem);
      if (!agree(std::get<std::map<typename G::Address, NextHopKey<G>>>(checked.keys), *r.cross_ip,
                 key_for(outer, cross_spec(r)))) {
        return bad("cross_ip: " + r.cross_ip->str() +
                   " is given with two different ports in one change");
      }
    } else {
      if (auto problem = endpoint_problem(side, r.public_ip, "public_ip")) return bad(*problem);
      if (!agree(std::get<std::map<typename F::Address, NextHopKey<F>>>(checked.keys), r.public_ip,
                 key_for(side, r))) {
        return bad("public_ip: " + r.public_ip.str() +
                   " is given with two different VTEPs in one change");
      }
    }
    if (auto existing = side.routes.find(r.prefix); existing != side.routes.end()) {
      ++checked.leaving[existing->second.next_hop];
    } else {
      ++added;
    }
  }
  return {};
}

template <class G>
Status ForwardingTables::check_one_next_hop_per_ip(const Side<G>& side,
                                                   const Checked& checked) const {
  for (const auto& [ip, key] :
       std::get<std::map<typename G::Address, NextHopKey<G>>>(checked.keys)) {
    const auto [first, last] = next_hops_of(side, ip);
    for (auto it = first; it != last; ++it) {
      if (it->first == key) continue;
      const NextHopState& s = states_[it->second];
      auto l = checked.leaving.find(it->second);
      if (l == checked.leaving.end() || l->second < s.routes) {
        return Status::invalid(
            "public_ip " + ip.str() + ": already the VTEP of other routes with " +
            (s.nh->kind == NextHopKind::kVxlan ? "VtepMAC " + s.nh->vtep_mac.str()
             : it->first.kind == key.kind      ? "port " + std::to_string(it->first.peer_port)
                                               : "another kind") +
            "; change or remove those routes in the same change");
      }
    }
  }
  return {};
}

template <class F>
Status ForwardingTables::validate_neighbours(const Side<F>& side, const SideDelta<F>& d) const {
  for (const typename F::Neighbour& n : d.set_neighbours) {
    if (!side.underlay || !side.underlay->contains(n.ip)) {
      return Status::invalid(
          "neighbour " + n.ip.str() + ": not on the " + F::kWords.qualifier + "underlay subnet" +
          (side.underlay ? " " + side.underlay->network().str()
                         : std::string(" (") + F::kWords.underlay_key + " unset)"));
    }
    if (n.mac.is_zero() || n.mac.is_multicast()) {
      return Status::invalid("neighbour " + n.ip.str() + ": mac: " + n.mac.str() +
                             " is not a unicast MAC");
    }
  }
  for (const typename F::Address& ip : d.remove_neighbours) {
    if (!neighbours_.is_static(ip))
      return Status(ErrorCode::kNotFound, "neighbour " + ip.str() + ": no such static neighbour");
  }
  return {};
}

template <class F>
Result<uint32_t> ForwardingTables::acquire_next_hop(Side<F>& side, const RouteSpecOf<F>& spec,
                                                    uint64_t now_ms) {
  const NextHopKey<F> key = key_for(side, spec);
  if (auto it = side.by_key.find(key); it != side.by_key.end()) {
    ++states_[it->second].routes;
    return it->second;
  }
  const bool on_link = side.underlay->contains(spec.public_ip);
  const typename F::Address via = on_link ? spec.public_ip : *side.gateway;
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
  p.udp_port = side.udp_port;
  p.peer_port = key.peer_port;
  p.vni = params_.vni;
  p.our_vtep_mac = side.vtep_mac;
  p.remote_vtep_mac = spec.vtep_mac;
  F::set_tunnel_ends(p, side.underlay->addr, spec.public_ip);
  build_next_hop(p, *nh);
  nh->id = id;
  NextHopState& s = states_[id];
  s.routes = 1;
  s.remote = Remote<F>{key, via};
  side.by_key[key] = id;
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
  std::visit(
      [this](const auto& remote) {
        using R = std::decay_t<decltype(remote)>;
        if constexpr (!std::is_same_v<R, std::monostate>)
          side<typename R::Family>().by_key.erase(remote.key);
      },
      s.remote);
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
  v4_.fib->reclaim();
  if (v6_.fib) v6_.fib->reclaim();
  size_t kept = 0;
  for (const LeftAdjacency& l : endpoint_left_) {
    if (rte_rcu_qsbr_check(rcu_, l.token, false) == 1) {
      released_adjacencies_.push_back(l.adjacency);
    } else {
      endpoint_left_[kept++] = l;
    }
  }
  endpoint_left_.resize(kept);
  if (released_adjacencies_.empty()) return;
  if (drain_workers_) drain_workers_();
  for (uint32_t adjacency : released_adjacencies_) neighbours_.release(adjacency);
  released_adjacencies_.clear();
}

template <class F>
void ForwardingTables::update_sender(Side<F>& side, const typename F::Address& ip) {
  const auto& key = F::sender_key(ip);
  // Any tunnel next hop of this IP; there is at most one once a delta is done.
  const auto [first, last] = next_hops_of(side, ip);
  for (auto it = first; it != last; ++it) {
    if (tunnel_kind(it->first.kind)) {
      rte_hash_add_key_data(side.senders, &key,
                            reinterpret_cast<void*>(static_cast<uintptr_t>(it->second)));
      if (side.sender_hook) side.sender_hook(ip, it->second);
      return;
    }
  }
  rte_hash_del_key(side.senders, &key);
  if (side.sender_hook) side.sender_hook(ip, std::nullopt);
}

template <class F>
RouteSpecOf<OtherFamily<F>> ForwardingTables::cross_spec(const RouteSpecOf<F>& spec) {
  RouteSpecOf<OtherFamily<F>> s;
  s.public_ip = *spec.cross_ip;
  s.backend = spec.backend;
  s.vni = spec.vni;
  s.peer_port = spec.peer_port;
  return s;
}

template <class F>
Result<uint32_t> ForwardingTables::acquire_route_next_hop(const RouteSpecOf<F>& spec,
                                                          uint64_t now_ms) {
  if (spec.cross_ip) return acquire_next_hop(side<OtherFamily<F>>(), cross_spec(spec), now_ms);
  return acquire_next_hop(side<F>(), spec, now_ms);
}

template <class F>
void ForwardingTables::touch(TouchedIps& touched, const RouteSpecOf<F>& spec) {
  if (spec.cross_ip) {
    std::get<std::set<typename OtherFamily<F>::Address>>(touched).insert(*spec.cross_ip);
  } else {
    std::get<std::set<typename F::Address>>(touched).insert(spec.public_ip);
  }
}

template <class F>
Status ForwardingTables::upsert(Side<F>& side, const std::vector<RouteSpecOf<F>>& upserts,
                                Attempt<F>& attempt, TouchedIps& touched, uint64_t now_ms) {
  attempt.undo.reserve(upserts.size());
  for (const RouteSpecOf<F>& r : upserts) {
    auto nh = acquire_route_next_hop(r, now_ms);
    if (!nh) return nh.status();
    touch(touched, r);
    if (Status s = F::set_route(*side.fib, r.prefix, *nh); !s.ok()) {
      release_next_hop(*nh);
      return s;
    }
    std::optional<Route<F>> previous;
    if (auto it = side.routes.find(r.prefix); it != side.routes.end()) previous = it->second;
    attempt.undo.push_back({r.prefix, previous, *nh});
    side.routes[r.prefix] = Route<F>{r, *nh};
  }
  return {};
}

template <class F>
void ForwardingTables::undo(Side<F>& side, const Attempt<F>& attempt) {
  for (auto it = attempt.undo.rbegin(); it != attempt.undo.rend(); ++it) {
    if (it->previous) {
      (void)side.fib->set(it->prefix, it->previous->next_hop);  // a change: no allocation
      side.routes[it->prefix] = *it->previous;
    } else {
      side.fib->remove(it->prefix);
      side.routes.erase(it->prefix);
    }
    release_next_hop(it->acquired);
  }
}

void ForwardingTables::update_senders(const TouchedIps& touched) {
  for (const Ipv4Addr& ip : touched.first) update_sender(v4_, ip);
  for (const Ipv6Addr& ip : touched.second) update_sender(v6_, ip);
}

template <class F>
void ForwardingTables::take_previous(const Attempt<F>& attempt, TouchedIps& touched,
                                     std::vector<uint32_t>& to_release) {
  for (const auto& u : attempt.undo) {
    if (u.previous) {
      to_release.push_back(u.previous->next_hop);
      touch(touched, u.previous->spec);
    }
  }
}

template <class F>
void ForwardingTables::remove(Side<F>& side, const std::vector<typename F::Prefix>& removes,
                              TouchedIps& touched, std::vector<uint32_t>& to_release) {
  for (const typename F::Prefix& p : removes) {
    auto it = side.routes.find(p);
    side.fib->remove(p);
    to_release.push_back(it->second.next_hop);
    touch(touched, it->second.spec);
    side.routes.erase(it);
  }
}

template <class F>
Status ForwardingTables::set_neighbours(const SideDelta<F>& d) {
  for (const typename F::Neighbour& n : d.set_neighbours) {
    if (Status s = neighbours_.set_static(n.ip, n.mac); !s.ok())
      return s;  // only on a full neighbour table
  }
  for (const typename F::Address& ip : d.remove_neighbours) (void)neighbours_.remove_static(ip);
  return {};
}

Status ForwardingTables::apply(const TableDelta& delta, uint64_t now_ms) {
  if (Status s = validate(delta); !s.ok()) return s;
  const auto d4 = part<Ipv4TableFamily>(delta);
  const auto d6 = part<Ipv6TableFamily>(delta);

  Attempt<Ipv4TableFamily> a4;
  Attempt<Ipv6TableFamily> a6;
  TouchedIps touched;
  auto rollback = [&](Status failure) {
    undo(v6_, a6);
    undo(v4_, a4);
    update_senders(touched);
    // Free what the attempt took now, so no neighbour it added resolves.
    reclaim();
    TARTAN_LOG(NOTICE, kEngine, "table change rolled back: %s", failure.message().c_str());
    return failure;
  };
  // Adds first: only they can fail (no memory, no route group), and nothing
  // has been removed yet when they do.
  if (Status s = upsert(v4_, d4.upserts, a4, touched, now_ms); !s.ok()) return rollback(s);
  if (Status s = upsert(v6_, d6.upserts, a6, touched, now_ms); !s.ok()) return rollback(s);

  std::vector<uint32_t> to_release;
  take_previous(a4, touched, to_release);
  take_previous(a6, touched, to_release);
  remove(v6_, d6.removes, touched, to_release);
  remove(v4_, d4.removes, touched, to_release);
  for (uint32_t id : to_release) release_next_hop(id);
  update_senders(touched);
  if (Status s = set_neighbours(d4); !s.ok()) return s;
  if (Status s = set_neighbours(d6); !s.ok()) return s;
  reclaim();
  return {};
}

template <class F>
Status ForwardingTables::set_local_subnet(Side<F>& side, std::optional<typename F::Prefix> subnet) {
  if (subnet == side.local_subnet) return {};
  const std::string q = F::kWords.qualifier;
  if (subnet) {
    if (!side.fib) {
      return Status(ErrorCode::kFailedPrecondition,
                    "local " + q + "subnet " + subnet->str() + ": this node has no " +
                        F::kWords.name + " underlay address (" + F::kWords.underlay_key + ")");
    }
    if (!F::local_subnet_ok(*subnet))
      return Status::invalid("local " + q + "subnet " + subnet->str() + ": not a podCIDR");
    for (const auto& [prefix, route] : side.routes) {
      if (prefix.overlaps(*subnet)) {
        return Status::invalid("local " + q + "subnet " + subnet->str() +
                               " overlaps the route of " + prefix.str());
      }
    }
    if (params_.overlays.empty())
      return Status(ErrorCode::kFailedPrecondition, "no overlay port to deliver to");
  }
  if (side.local_subnet) side.fib->remove(*side.local_subnet);
  side.local_subnet.reset();
  if (subnet) {
    if (Status s = F::set_local_route(*side.fib, *subnet); !s.ok()) return s;
    side.local_subnet = subnet;
  }
  return {};
}

Status ForwardingTables::set_local_subnet(std::optional<Ipv4Prefix> subnet) {
  return set_local_subnet(v4_, subnet);
}

Status ForwardingTables::set_local_subnet6(std::optional<Ipv6Prefix> subnet) {
  return set_local_subnet(v6_, subnet);
}

template <class View, class F>
std::vector<View> ForwardingTables::routes(const Side<F>& side) const {
  std::vector<View> out;
  if (side.local_subnet) {
    View v;
    v.prefix = *side.local_subnet;
    v.out_port = params_.overlays[0].name;
    out.push_back(v);
  }
  for (const auto& [prefix, route] : side.routes) {
    const NextHopState& s = states_[route.next_hop];
    View v;
    v.prefix = prefix;
    v.kind = s.nh->kind;
    v.next_hop_id = route.next_hop;
    if (const auto* remote = std::get_if<Remote<F>>(&s.remote)) {
      v.public_ip = remote->key.public_ip;
      v.via = remote->via;
    } else {
      const auto& other = std::get<Remote<OtherFamily<F>>>(s.remote);
      v.other_public_ip = other.key.public_ip;
      v.other_via = other.via;
    }
    v.vtep_mac = s.nh->vtep_mac;
    v.via_mac = neighbours_.mac_of(s.nh->adjacency);
    out.push_back(v);
  }
  return out;
}

std::vector<RouteView> ForwardingTables::routes() const {
  return routes<RouteView>(v4_);
}

std::vector<Route6View> ForwardingTables::routes6() const {
  return routes<Route6View>(v6_);
}

std::optional<RouteView> ForwardingTables::next_hop_view(uint32_t id) const {
  if (id >= capacity_ || states_[id].nh == nullptr) return std::nullopt;
  const NextHopState& s = states_[id];
  RouteView v;
  v.kind = s.nh->kind;
  v.next_hop_id = id;
  if (s.nh->kind == NextHopKind::kLocal) {
    v.out_port = params_.overlays[id].name;
    return v;
  }
  v.vtep_mac = s.nh->vtep_mac;
  v.via_mac = neighbours_.mac_of(s.nh->adjacency);
  if (const auto* remote = std::get_if<Remote<Ipv6TableFamily>>(&s.remote)) {
    v.other_public_ip = remote->key.public_ip;
    v.other_via = remote->via;
    return v;
  }
  const auto& remote = std::get<Remote<Ipv4TableFamily>>(s.remote);
  v.public_ip = remote.key.public_ip;
  v.via = remote.via;
  return v;
}

template <class F>
std::map<typename F::Address, uint32_t> ForwardingTables::senders(const Side<F>& side) {
  std::map<typename F::Address, uint32_t> out;
  for (const auto& [key, id] : side.by_key) {
    if (tunnel_kind(key.kind)) out[key.public_ip] = id;
  }
  return out;
}

std::map<Ipv4Addr, uint32_t> ForwardingTables::senders() const {
  return senders(v4_);
}

std::map<Ipv6Addr, uint32_t> ForwardingTables::senders6() const {
  return senders(v6_);
}

bool ForwardingTables::is_tunnel(const RouteSpec& spec) const {
  return tunnel_kind(kind_for(v4_, spec));
}

bool ForwardingTables::is_tunnel(const Route6Spec& spec) const {
  return tunnel_kind(kind_for(v6_, spec));
}

std::vector<uint32_t> ForwardingTables::remote_next_hop_ids() const {
  std::vector<uint32_t> ids;
  for (const auto& [key, id] : v4_.by_key) ids.push_back(id);
  for (const auto& [key, id] : v6_.by_key) ids.push_back(id);
  return ids;
}

}  // namespace tartan
