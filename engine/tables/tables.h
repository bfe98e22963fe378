// The forwarding tables workers read without locks, and the control-thread
// API that changes them one all-or-nothing delta at a time.
//
//   routes        podCIDR -> next-hop id (route_table.h: DIR-24-8 over an
//                 rte_rib, O(prefix length) per change)
//   next hops     id -> NextHop* (precomputed headers), swapped atomically
//   senders       public IP -> next-hop id: the known VTEPs whose tunnel
//                 traffic ingress accepts (rte_hash, lock-free readers)
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
};

struct RouteView {
  Ipv4Prefix prefix;
  NextHopKind kind = NextHopKind::kLocal;
  uint32_t next_hop_id = 0;
  Ipv4Addr public_ip;              // tunnel and direct
  MacAddr vtep_mac;                // vxlan
  std::optional<Ipv4Addr> via;     // the underlay neighbour the packets go to
  std::optional<MacAddr> via_mac;  // its MAC, once resolved
  std::string out_port;            // local: the overlay port's name
};

// What a worker needs to read the tables.
struct TableReaders {
  RouteLookup routes;
  const std::atomic<NextHop*>* next_hops = nullptr;
  const rte_hash* senders = nullptr;
  const AdjacencyTable* adjacency = nullptr;

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
  Ipv4Prefix underlay;  // our address and on-link prefix
  std::optional<Ipv4Addr> gateway;
  MacAddr underlay_mac;
  uint16_t underlay_port = 0;
  MacAddr vtep_mac;
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
  // Frees what waited out its grace period.
  void reclaim();

  std::vector<RouteView> routes() const;
  size_t route_count() const { return routes_.size(); }
  // The remote node (next hop) a next-hop id stands for, for counters.
  std::optional<RouteView> next_hop_view(uint32_t id) const;
  std::vector<uint32_t> remote_next_hop_ids() const;
  // The sender filter ingress applies: public IP -> next-hop id of every
  // node whose tunnel traffic is accepted.
  std::map<Ipv4Addr, uint32_t> senders() const;
  // Whether a route like `spec` makes its public IP a tunnel sender.
  bool is_tunnel(const RouteSpec& spec) const;
  // Told each time a sender's entry is written: its next-hop id, or nullopt
  // when it goes (so hardware sender rules can follow).
  using SenderHook = std::function<void(Ipv4Addr, std::optional<uint32_t>)>;
  void set_sender_hook(SenderHook hook) { sender_hook_ = std::move(hook); }

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
  struct NextHopState {
    NextHop* nh = nullptr;
    NextHopKey key{};
    uint32_t routes = 0;  // references from routes
  };
  struct Route {
    RouteSpec spec;
    uint32_t next_hop = 0;
  };

  explicit ForwardingTables(const TablesParams& params, NeighbourTable& neighbours)
      : params_(params), neighbours_(neighbours) {}

  Status validate(const TableDelta& delta) const;
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
  SenderHook sender_hook_;
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
};

}  // namespace tartan
