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
// IPv4 and IPv6 next hops share one id space and one RCU retirement; each
// family's routes, senders and local subnet are one side of the tables,
// changed by one template over table_family.h's traits.
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
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "engine/engine_config.h"
#include "engine/neighbours/adjacency.h"
#include "engine/neighbours/neighbours.h"
#include "engine/status.h"
#include "engine/tables/next_hop.h"
#include "engine/tables/route_table.h"
#include "engine/tables/route_table6.h"
#include "engine/tables/table_family.h"

namespace tartan {

// A remote node's podCIDR and how to reach it, as the control plane knows it
// (flannel-v6, for IPv6: the node's public-ipv6 and backend-v6-data's VtepMAC).
template <class F>
struct RouteSpecOf {
  typename F::Prefix prefix;      // the remote node's podCIDR
  typename F::Address public_ip;  // the remote node's underlay address (flannel's public-ip)
  MacAddr vtep_mac;               // vxlan: the remote VtepMAC
  BackendType backend = BackendType::kVxlan;
  uint32_t vni = 1;  // vxlan: must be ours
  // wireguard: the peer's ListenPort from its backend data; 0: ours (flannel
  // before v0.26.6 announced none, its peers sent to their own).
  uint16_t peer_port = 0;
  // wireguard's one-device modes (flannel's auto, ipv4 and ipv6: one
  // flannel-wg carries both families): the node's peer is reached at this
  // address of the other family, and the route shares that family's next
  // hop, so both families' pods ride one session; public_ip is then unused.
  std::optional<typename OtherFamily<F>::Address> cross_ip;
};
using RouteSpec = RouteSpecOf<Ipv4TableFamily>;
using Route6Spec = RouteSpecOf<Ipv6TableFamily>;

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

// A route, as tartanctl shows it.
template <class F>
struct RouteViewOf {
  typename F::Prefix prefix;
  NextHopKind kind = NextHopKind::kLocal;
  uint32_t next_hop_id = 0;
  typename F::Address public_ip;           // tunnel and direct
  MacAddr vtep_mac;                        // vxlan
  std::optional<typename F::Address> via;  // the underlay neighbour the packets go to
  std::optional<MacAddr> via_mac;          // its MAC, once resolved
  std::string out_port;                    // local: the overlay port's name
  // A next hop of the other family (a route with a cross_ip, or
  // next_hop_view of an IPv6 next hop): its remote node and neighbour, in
  // place of public_ip and via.
  std::optional<typename OtherFamily<F>::Address> other_public_ip;
  std::optional<typename OtherFamily<F>::Address> other_via;
};
using Route6View = RouteViewOf<Ipv6TableFamily>;
using RouteView = RouteViewOf<Ipv4TableFamily>;  // or any next hop (next_hop_view)

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
  uint16_t udp_port6 = 8472;  // IPv6 tunnels' (DataplaneConfig::tunnel_port6)
  bool direct_routing = false;
  // Routes with cross_ip allowed (DataplaneConfig::cross_family_routes).
  bool cross_family_routes = false;
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
  std::optional<Ipv4Prefix> local_subnet() const { return v4_.local_subnet; }
  // Our own IPv6 podCIDR, likewise; FAILED_PRECONDITION while IPv6 is off.
  Status set_local_subnet6(std::optional<Ipv6Prefix> subnet);
  std::optional<Ipv6Prefix> local_subnet6() const { return v6_.local_subnet; }
  bool ipv6() const { return params_.underlay6.has_value(); }
  // Frees what waited out its grace period.
  void reclaim();

  std::vector<RouteView> routes() const;
  size_t route_count() const { return v4_.routes.size(); }
  std::vector<Route6View> routes6() const;
  size_t route6_count() const { return v6_.routes.size(); }
  // The remote node (next hop) a next-hop id stands for, for counters.
  std::optional<RouteView> next_hop_view(uint32_t id) const;
  std::vector<uint32_t> remote_next_hop_ids() const;
  // The next hop of kind `kind` (not vxlan: those are keyed by VtepMAC too)
  // to the node at `public_ip`, if its routes have one (whatever its
  // wireguard port: a public IP has one next hop).
  std::optional<uint32_t> next_hop_of(const Ipv4Addr& public_ip, NextHopKind kind) const;
  std::optional<uint32_t> next_hop_of(const Ipv6Addr& public_ip, NextHopKind kind) const;
  // Wireguard next hop `id` sends to `ip`:`port` (host order) from now on:
  // its peer roamed there (endpoint roaming, whitepaper 6.5). A new NextHop
  // for the same id (the peer's session slot and counters stay), published
  // as any next hop, the replaced one reused after a grace period, with
  // the neighbour its new destination goes through. NOT_FOUND for another
  // kind; FAILED_PRECONDITION when `ip` is off-link and there is no
  // gateway; UNAVAILABLE while the id's previous change is in its grace
  // period (try again later).
  // The same for an IPv6 peer (flannel-wg-v6's): NOT_FOUND for an IPv4
  // one, and the other way round.
  Status set_wireguard_endpoint(uint32_t id, Ipv4Addr ip, uint16_t port, uint64_t now_ms);
  Status set_wireguard_endpoint(uint32_t id, const Ipv6Addr& ip, uint16_t port, uint64_t now_ms);
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
  void set_sender_hook(SenderHook<Ipv4Addr> hook) { v4_.sender_hook = std::move(hook); }
  void set_sender_hook(SenderHook<Ipv6Addr> hook) { v6_.sender_hook = std::move(hook); }

  TableReaders readers() const;
  rte_rcu_qsbr* rcu() const { return rcu_; }
  uint32_t next_hop_capacity() const { return capacity_; }

 private:
  // Ordered by public IP first, so one node's next hops are a range.
  template <class F>
  struct NextHopKey {
    typename F::Address public_ip;
    NextHopKind kind;
    std::array<uint8_t, 6> vtep_mac;
    uint16_t peer_port;  // wireguard: the UDP port sent to (a changed one is a new next hop)
    auto operator<=>(const NextHopKey&) const = default;
  };
  // What a remote next hop stands for: its key, and the neighbour its
  // adjacency stands for.
  template <class F>
  struct Remote {
    using Family = F;
    NextHopKey<F> key;
    typename F::Address via;
  };
  struct NextHopState {
    NextHop* nh = nullptr;
    uint32_t routes = 0;  // references from routes
    // A wireguard endpoint change's grace period: until it passes, the
    // other of the id's two storages may still be read.
    std::optional<uint64_t> endpoint_grace;
    std::variant<std::monostate, Remote<Ipv4TableFamily>, Remote<Ipv6TableFamily>> remote;
  };
  template <class F>
  struct Route {
    RouteSpecOf<F> spec;
    uint32_t next_hop = 0;
  };
  // One family's tables and the control thread's record of them.
  template <class F>
  struct Side {
    // Our address and on-link prefix (nullopt: no underlay of this family,
    // every route and neighbour of it refused), the router for peers off
    // it, our VTEP MAC and the UDP port our tunnels of the family use.
    std::optional<typename F::Prefix> underlay;
    std::optional<typename F::Address> gateway;
    MacAddr vtep_mac;
    uint16_t udp_port = 0;
    std::unique_ptr<typename F::Fib> fib;  // IPv6: with an IPv6 underlay only
    rte_hash* senders = nullptr;           // likewise
    SenderHook<typename F::Address> sender_hook;
    std::map<NextHopKey<F>, uint32_t> by_key;
    std::map<typename F::Prefix, Route<F>> routes;
    std::optional<typename F::Prefix> local_subnet;
  };
  // One family's part of a delta.
  template <class F>
  struct SideDelta {
    const std::vector<RouteSpecOf<F>>& upserts;
    const std::vector<typename F::Prefix>& removes;
    const std::vector<typename F::Neighbour>& set_neighbours;
    const std::vector<typename F::Address>& remove_neighbours;
  };
  // What one family's upserts did so far, to finish or undo them.
  template <class F>
  struct Attempt {
    struct Undo {
      typename F::Prefix prefix;
      std::optional<Route<F>> previous;
      uint32_t acquired;
    };
    std::vector<Undo> undo;
  };
  // The public IPs of both families whose sender entries a change touched
  // (a cross-family route's is the other family's).
  using TouchedIps = std::pair<std::set<Ipv4Addr>, std::set<Ipv6Addr>>;
  // What validating a delta gathered over both families (a cross-family
  // route is checked against the other's next hops): next hops whose
  // routes it removes or re-points (id -> count), and the one next-hop key
  // each public IP has after it.
  struct Checked {
    std::unordered_map<uint32_t, uint32_t> leaving;
    std::pair<std::map<Ipv4Addr, NextHopKey<Ipv4TableFamily>>,
              std::map<Ipv6Addr, NextHopKey<Ipv6TableFamily>>>
        keys;
  };

  ForwardingTables(const TablesParams& params, NeighbourTable& neighbours)
      : params_(params),
        neighbours_(neighbours),
        v4_{params.underlay, params.gateway, params.vtep_mac, params.udp_port},
        v6_{params.underlay6, params.gateway6, params.vtep_mac6, params.udp_port6} {}

  template <class F>
  Side<F>& side();
  template <class F>
  const Side<F>& side() const {
    return const_cast<ForwardingTables*>(this)->side<F>();
  }
  template <class F>
  static SideDelta<F> part(const TableDelta& delta);
  template <class F>
  Status create_senders(Side<F>& side, int socket);
  Status validate(const TableDelta& delta) const;
  // Checks the routes of `d`; `added` counts those that are new.
  template <class F>
  Status validate_routes(const Side<F>& side, const SideDelta<F>& d, size_t& added,
                         Checked& checked) const;
  // Why a route's packets cannot be sent to `ip` (named as `field`) over
  // family G's underlay, if they cannot.
  template <class G>
  std::optional<std::string> endpoint_problem(const Side<G>& side, const typename G::Address& ip,
                                              const char* field) const;
  // A public IP is one node: its next hops' other routes must agree with
  // the key it has after the delta, unless every one of them leaves.
  template <class G>
  Status check_one_next_hop_per_ip(const Side<G>& side, const Checked& checked) const;
  template <class F>
  Status validate_neighbours(const Side<F>& side, const SideDelta<F>& d) const;
  template <class F>
  NextHopKind kind_for(const Side<F>& side, const RouteSpecOf<F>& spec) const;
  template <class F>
  NextHopKey<F> key_for(const Side<F>& side, const RouteSpecOf<F>& spec) const;
  // A cross-family route's next hop, as a route of the other family names it.
  template <class F>
  static RouteSpecOf<OtherFamily<F>> cross_spec(const RouteSpecOf<F>& spec);
  template <class F>
  Status set_endpoint(Side<F>& side, uint32_t id, const typename F::Address& ip, uint16_t port,
                      uint64_t now_ms);
  template <class F>
  static std::optional<uint32_t> find_next_hop(const Side<F>& side,
                                               const typename F::Address& public_ip,
                                               NextHopKind kind);
  // The next hops of one public IP: [first, last).
  template <class F>
  static auto next_hops_of(const Side<F>& side, const typename F::Address& public_ip);
  template <class F>
  Result<uint32_t> acquire_next_hop(Side<F>& side, const RouteSpecOf<F>& spec, uint64_t now_ms);
  // The next hop a route of family F goes to: of its own family, or the
  // other's for a cross_ip.
  template <class F>
  Result<uint32_t> acquire_route_next_hop(const RouteSpecOf<F>& spec, uint64_t now_ms);
  // Records the public IP whose sender entry a route of `spec` uses.
  template <class F>
  static void touch(TouchedIps& touched, const RouteSpecOf<F>& spec);
  // Adds or re-points the routes of `upserts`, recording it in `attempt`.
  template <class F>
  Status upsert(Side<F>& side, const std::vector<RouteSpecOf<F>>& upserts, Attempt<F>& attempt,
                TouchedIps& touched, uint64_t now_ms);
  template <class F>
  void undo(Side<F>& side, const Attempt<F>& attempt);
  void update_senders(const TouchedIps& touched);
  // The routes upserts replaced, then those `removes` names, go: their
  // next hops join `to_release`.
  template <class F>
  static void take_previous(const Attempt<F>& attempt, TouchedIps& touched,
                            std::vector<uint32_t>& to_release);
  template <class F>
  void remove(Side<F>& side, const std::vector<typename F::Prefix>& removes, TouchedIps& touched,
              std::vector<uint32_t>& to_release);
  template <class F>
  void update_sender(Side<F>& side, const typename F::Address& ip);
  template <class F>
  Status set_neighbours(const SideDelta<F>& d);
  template <class F>
  Status set_local_subnet(Side<F>& side, std::optional<typename F::Prefix> subnet);
  template <class View, class F>
  std::vector<View> routes(const Side<F>& side) const;
  template <class F>
  static std::map<typename F::Address, uint32_t> senders(const Side<F>& side);
  // A free next-hop id with its storage, waiting out a grace period for one
  // when none is free; its adjacency is the caller's.
  Result<uint32_t> take_id();
  void release_next_hop(uint32_t id);
  void retire(uint32_t id);  // grace period, then free
  static void free_retired(void* tables, void* elements, unsigned int n);
  // Where next hop `id` lives: slot `id % kNextHopsPerChunk` of its chunk,
  // allocated the first time one of its ids is used and kept until the
  // tables go. An id (so its storage) is reused only once free_retired has
  // run for it, after a grace period: no reader still holds the old one.
  NextHop* next_hop_storage(uint32_t id);
  // The second storage of an id, for set_wireguard_endpoint: a next hop
  // changed in place takes the storage its readers are not on.
  NextHop* alternate_storage(uint32_t id);
  static constexpr uint32_t kNextHopsPerChunk = 1024;

  TablesParams params_;
  NeighbourTable& neighbours_;
  std::function<void(uint32_t)> on_new_next_hop_;
  std::function<void()> drain_workers_;
  std::vector<uint32_t> released_adjacencies_;  // of next hops freed, until the drain
  uint32_t capacity_ = 0;
  rte_rcu_qsbr* rcu_ = nullptr;
  rte_rcu_qsbr_dq* retired_ = nullptr;
  // IPv4 and IPv6 next hops share one id space and one retirement.
  std::atomic<NextHop*>* slots_ = nullptr;
  std::vector<NextHop*> next_hop_chunks_;   // see next_hop_storage
  std::vector<NextHop*> alternate_chunks_;  // see alternate_storage
  // Adjacencies an endpoint change left, released after its grace period.
  struct LeftAdjacency {
    uint64_t token;
    uint32_t adjacency;
  };
  std::vector<LeftAdjacency> endpoint_left_;
  std::vector<NextHopState> states_;
  std::vector<uint32_t> free_ids_;
  Side<Ipv4TableFamily> v4_;
  Side<Ipv6TableFamily> v6_;
};

}  // namespace tartan
