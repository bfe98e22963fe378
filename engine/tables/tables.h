// The forwarding tables workers read without locks, and the control-thread
// API that changes them one all-or-nothing delta at a time.
//
//   routes        podCIDR -> next-hop id (route_table.h: DIR-24-8 over an
//                 rte_rib, O(prefix length) per change)
//   next hops     id -> NextHop* (precomputed headers), swapped atomically
//   senders       public IP -> next-hop id: the known VTEPs whose tunnel
//                 traffic ingress accepts (rte_hash, lock-free readers)
//   routes6       IPv6 podCIDR -> next-hop id (route_table6.h: one
//                 open-addressed table per prefix length, inline lookups,
//                 O(1) amortised per change)
//   senders6      public IPv6 -> next-hop id (flannel-v6's VTEPs), as senders
//
// IPv4 and IPv6 next hops share one id space and one RCU retirement.
//
// Readers report quiescence once per loop (rte_rcu_qsbr); replaced next
// hops, route groups and hash slots are freed only after a grace period.
#pragma once

#include <rte_hash.h>
#include <rte_rcu_qsbr.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "engine/engine_config.h"
#include "engine/neighbours/adjacency.h"
#include "engine/neighbours/neighbours.h"
#include "engine/status.h"
#include "engine/tables/next_hop.h"
#include "engine/tables/route_table.h"
#include "engine/tables/route_table6.h"

namespace tartan {

// A remote node's podCIDR and how to reach it, as the control plane knows it.
struct RouteSpec {
  Ipv4Prefix prefix;   // the remote node's podCIDR
  Ipv4Addr public_ip;  // the remote node's underlay address (flannel's public-ip)
  MacAddr vtep_mac;    // vxlan: the remote VtepMAC
  BackendType backend = BackendType::kVxlan;
  uint32_t vni = 1;  // vxlan: must be ours
};

// A remote node's IPv6 podCIDR and how to reach it (flannel-v6: the
// node's public-ipv6 and backend-v6-data's VtepMAC).
struct Route6Spec {
  Ipv6Prefix prefix;
  Ipv6Addr public_ip;
  MacAddr vtep_mac;
  BackendType backend = BackendType::kVxlan;
  uint32_t vni = 1;
};

struct TableDelta {
  std::vector<RouteSpec> upsert_routes;   // add, or replace the route of the same prefix
  std::vector<Ipv4Prefix> remove_routes;  // must exist
  std::vector<Route6Spec> upsert_routes6;
  std::vector<Ipv6Prefix> remove_routes6;
  std::vector<StaticNeighbour> set_neighbours;
  std::vector<Ipv4Addr> remove_neighbours;
  std::vector<StaticNeighbour6> set_neighbours6;
  std::vector<Ipv6Addr> remove_neighbours6;
};

struct RouteView {
  Ipv4Prefix prefix;
  NextHopKind kind = NextHopKind::kLocal;
  uint32_t next_hop_id = 0;
  Ipv4Addr public_ip;                  // tunnel and direct
  MacAddr vtep_mac;                    // vxlan
  std::optional<Ipv4Addr> via;         // the underlay neighbour the packets go to
  std::optional<MacAddr> via_mac;      // its MAC, once resolved
  std::string out_port;                // local: the overlay port's name
  std::optional<Ipv6Addr> public_ip6;  // an IPv6 next hop's remote node (then public_ip is 0)
};

// An IPv6 route, as tartanctl shows it.
struct Route6View {
  Ipv6Prefix prefix;
  NextHopKind kind = NextHopKind::kLocal;
  uint32_t next_hop_id = 0;
  Ipv6Addr public_ip;              // tunnel and direct
  MacAddr vtep_mac;                // vxlan
  std::optional<Ipv6Addr> via;     // the underlay neighbour the packets go to
  std::optional<MacAddr> via_mac;  // its MAC, once resolved
  std::string out_port;            // local: the overlay port's name
};

// What a worker needs to read the tables.
struct TableReaders {
  RouteLookup routes;
  const std::atomic<NextHop*>* next_hops = nullptr;
  const rte_hash* senders = nullptr;
  const AdjacencyTable* adjacency = nullptr;
  Route6Lookup routes6;                // IPv6 off: no length present
  const rte_hash* senders6 = nullptr;  // IPv6 off: null

  // The next hop a route lookup answered; null for kNoRoute (or a slot
  // being emptied).
  const NextHop* next_hop(uint32_t hop) const {
    return hop != kNoRoute ? next_hops[hop].load(std::memory_order_acquire) : nullptr;
  }
  // The next hop of the longest prefix holding `ip` (host order), or null.
  const NextHop* route(uint32_t ip) const { return next_hop(route_lookup(routes, ip)); }
};

struct TablesParams {
  uint32_t max_routes = 131072;
  uint32_t tbl8_groups = 4096;
  unsigned num_readers = 1;  // worker threads (RCU thread ids 0..n-1)
  BackendType backend = BackendType::kVxlan;
  uint32_t vni = 1;
  uint16_t udp_port = 8472;
  bool direct_routing = false;
  // Our address and on-link prefix (nullopt: no IPv4 underlay, every IPv4
  // route and neighbour refused).
  std::optional<Ipv4Prefix> underlay;
  std::optional<Ipv4Addr> gateway;
  MacAddr underlay_mac;
  uint16_t underlay_port = 0;
  MacAddr vtep_mac;
  // IPv6 (flannel-v6): our underlay IPv6 address and on-link prefix
  // (nullopt: IPv6 off, every IPv6 route refused), the router for peers
  // off it, and flannel-v6's own VTEP MAC.
  std::optional<Ipv6Prefix> underlay6;
  std::optional<Ipv6Addr> gateway6;
  MacAddr vtep_mac6;
  unsigned max_route6_lengths = 8;  // distinct IPv6 prefix lengths at once
  // One local next hop per overlay port: (port id, name, MAC of its host side).
  struct Overlay {
    uint16_t port_id;
    std::string name;
    MacAddr host_mac;
  };
  std::vector<Overlay> overlays;
};

class ForwardingTables {
 public:
  // `on_new_next_hop(id)` runs when a next-hop slot is (re)used, so per-peer
  // counters can restart from zero for it. `drain_workers()` must hand over
  // everything workers queued for the control thread: it runs after a grace
  // period and before the neighbours of freed next hops are released, so no
  // packet waiting for a neighbour outlives the neighbour's id.
  static Result<std::unique_ptr<ForwardingTables>> create(
      const TablesParams& params, NeighbourTable& neighbours,
      std::function<void(uint32_t)> on_new_next_hop, std::function<void()> drain_workers);
  ~ForwardingTables();
  ForwardingTables(const ForwardingTables&) = delete;
  ForwardingTables& operator=(const ForwardingTables&) = delete;

  // Control thread only (the engine serialises callers).
  Status apply(const TableDelta& delta, uint64_t now_ms);
  // Our own podCIDR, delivered to the first overlay port; nullopt removes it.
  Status set_local_subnet(std::optional<Ipv4Prefix> subnet);
  std::optional<Ipv4Prefix> local_subnet() const { return local_subnet_; }
  // Our own IPv6 podCIDR, likewise; FAILED_PRECONDITION while IPv6 is off.
  Status set_local_subnet6(std::optional<Ipv6Prefix> subnet);
  std::optional<Ipv6Prefix> local_subnet6() const { return local_subnet6_; }
  bool ipv6() const { return params_.underlay6.has_value(); }
  // Frees what waited out its grace period.
  void reclaim();

  std::vector<RouteView> routes() const;
  size_t route_count() const { return routes_.size(); }
  std::vector<Route6View> routes6() const;
  size_t route6_count() const { return routes6_.size(); }
  // The remote node (next hop) a next-hop id stands for, for counters.
  std::optional<RouteView> next_hop_view(uint32_t id) const;
  std::vector<uint32_t> remote_next_hop_ids() const;
  // The sender filter ingress applies: public IP -> next-hop id of every
  // node whose tunnel traffic is accepted.
  std::map<Ipv4Addr, uint32_t> senders() const;
  // The same for flannel-v6's VTEPs.
  std::map<Ipv6Addr, uint32_t> senders6() const;
  // Whether a route like `spec` makes its public IP a tunnel sender.
  bool is_tunnel(const RouteSpec& spec) const;
  bool is_tunnel(const Route6Spec& spec) const;
  // Told each time a sender's entry is written: its next-hop id, or nullopt
  // when it goes (so hardware sender rules can follow).
  template <class Addr>
  using SenderHook = std::function<void(const Addr&, std::optional<uint32_t>)>;
  void set_sender_hook(SenderHook<Ipv4Addr> hook) { sender_hook_ = std::move(hook); }
  void set_sender_hook(SenderHook<Ipv6Addr> hook) { sender6_hook_ = std::move(hook); }

  TableReaders readers() const;
  rte_rcu_qsbr* rcu() const { return rcu_; }
  uint32_t next_hop_capacity() const { return capacity_; }

 private:
  // Ordered by public IP first, so one node's next hops are a range.
  struct NextHopKey {
    uint32_t public_ip;
    NextHopKind kind;
    std::array<uint8_t, 6> vtep_mac;
    auto operator<=>(const NextHopKey&) const = default;
  };
  struct NextHopKey6 {
    Ipv6Addr public_ip;
    NextHopKind kind;
    std::array<uint8_t, 6> vtep_mac;
    auto operator<=>(const NextHopKey6&) const = default;
  };
  struct NextHopState {
    NextHop* nh = nullptr;
    NextHopKey key{};
    uint32_t routes = 0;  // references from routes
    bool v6 = false;      // then key6 (and via6) hold, not key
    NextHopKey6 key6{};
    Ipv6Addr via6;  // the neighbour its adjacency stands for
  };
  struct Route {
    RouteSpec spec;
    uint32_t next_hop = 0;
  };
  struct Route6 {
    Route6Spec spec;
    uint32_t next_hop = 0;
  };

  explicit ForwardingTables(const TablesParams& params, NeighbourTable& neighbours)
      : params_(params), neighbours_(neighbours) {}

  Status validate(const TableDelta& delta) const;
  Status validate6(const TableDelta& delta, size_t& new_routes) const;
  NextHopKind kind_for6(const Route6Spec& spec) const;
  NextHopKey6 key_for6(const Route6Spec& spec) const;
  std::pair<std::map<NextHopKey6, uint32_t>::const_iterator,
            std::map<NextHopKey6, uint32_t>::const_iterator>
  next_hops_of6(const Ipv6Addr& public_ip) const;
  Result<uint32_t> acquire_next_hop6(const Route6Spec& spec, uint64_t now_ms);
  void update_sender6(const Ipv6Addr& ip);
  // A free next-hop id with its storage, waiting out a grace period for one
  // when none is free; its adjacency is the caller's.
  Result<uint32_t> take_id();
  NextHopKind kind_for(const RouteSpec& spec) const;
  NextHopKey key_for(const RouteSpec& spec) const;
  // The next hops of one public IP: [first, last).
  std::pair<std::map<NextHopKey, uint32_t>::const_iterator,
            std::map<NextHopKey, uint32_t>::const_iterator>
  next_hops_of(uint32_t public_ip) const;
  Result<uint32_t> acquire_next_hop(const RouteSpec& spec, uint64_t now_ms);
  void release_next_hop(uint32_t id);
  void retire(uint32_t id);  // grace period, then free
  static void free_retired(void* tables, void* elements, unsigned int n);
  void update_sender(Ipv4Addr ip);
  Status fib_add(const Ipv4Prefix& prefix, uint32_t next_hop);
  // Where next hop `id` lives: slot `id % kNextHopsPerChunk` of its chunk,
  // allocated the first time one of its ids is used and kept until the
  // tables go. An id (so its storage) is reused only once free_retired has
  // run for it, after a grace period: no reader still holds the old one.
  NextHop* next_hop_storage(uint32_t id);
  static constexpr uint32_t kNextHopsPerChunk = 1024;

  TablesParams params_;
  NeighbourTable& neighbours_;
  std::function<void(uint32_t)> on_new_next_hop_;
  std::function<void()> drain_workers_;
  SenderHook<Ipv4Addr> sender_hook_;
  SenderHook<Ipv6Addr> sender6_hook_;
  std::vector<uint32_t> released_adjacencies_;  // of next hops freed, until the drain
  uint32_t capacity_ = 0;
  rte_rcu_qsbr* rcu_ = nullptr;
  rte_rcu_qsbr_dq* retired_ = nullptr;
  std::unique_ptr<RouteTable> fib_;
  rte_hash* senders_ = nullptr;
  std::atomic<NextHop*>* slots_ = nullptr;
  std::vector<NextHop*> next_hop_chunks_;  // see next_hop_storage
  std::vector<NextHopState> states_;
  std::vector<uint32_t> free_ids_;
  std::map<NextHopKey, uint32_t> by_key_;
  std::map<Ipv4Prefix, Route> routes_;
  std::optional<Ipv4Prefix> local_subnet_;
  std::unique_ptr<RouteTable6> fib6_;  // IPv6 on only
  rte_hash* senders6_ = nullptr;       // IPv6 on only
  std::map<NextHopKey6, uint32_t> by_key6_;
  std::map<Ipv6Prefix, Route6> routes6_;
  std::optional<Ipv6Prefix> local_subnet6_;
};

}  // namespace tartan
