// The underlay neighbours the data plane sends to (remote VTEPs on our
// subnet, the gateway for the rest), of either family: resolution with
// retries and refresh (ARP for IPv4, neighbour discovery for IPv6: one
// state machine, the request chosen by the address), packets held while a
// neighbour resolves (bounded), static entries that win over what the wire
// says. Runs on the control thread only; workers see the results through
// the AdjacencyTable, whose ids know no family.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "engine/neighbours/adjacency.h"
#include "engine/neighbours/arp.h"
#include "engine/neighbours/nd.h"
#include "engine/net_types.h"
#include "engine/observe/stats.h"
#include "engine/status.h"

namespace tartan {

// An underlay neighbour's address: the table's key.
using NeighbourAddr = std::variant<Ipv4Addr, Ipv6Addr>;
std::string to_string(const NeighbourAddr& addr);

struct NeighbourParams {
  // Our underlay addresses, each when the underlay has one: the source of
  // ARP requests and of solicitations. Without one, that family's
  // neighbours cannot be resolved.
  std::optional<Ipv4Addr> our_ip;
  std::optional<Ipv6Addr> our_ip6;
  MacAddr our_mac;
  uint32_t retry_ms = 1000;
  uint32_t max_retries = 3;
  uint32_t refresh_s = 60;
  uint32_t queue_len = 64;
};

struct NeighbourView {
  NeighbourAddr addr;          // the family is which one it holds
  std::optional<MacAddr> mac;  // set once resolved (or static)
  bool is_static = false;
  uint32_t references = 0;     // next hops using it
  uint32_t held_packets = 0;   // waiting for resolution
  uint32_t requests_sent = 0;  // for the current resolution attempt
};

// What a family's resolution protocol did.
struct NeighbourFamilyCounters {
  uint64_t requests_sent = 0;    // ARP requests; neighbour solicitations
  uint64_t replies_learned = 0;  // MACs learned (or confirmed) from the wire
  uint64_t announcements = 0;    // gratuitous ARPs; unsolicited advertisements
};

struct NeighbourCounters {
  NeighbourFamilyCounters arp;  // IPv4
  NeighbourFamilyCounters nd;   // IPv6
  // Holding is the same for both families.
  uint64_t held_released = 0;  // held packets sent after resolution
  uint64_t dropped_queue_full = 0;
  uint64_t dropped_unresolved = 0;
  // ND frames the workers handed over (on_nd()). ARP requests for our
  // address are answered by the workers themselves.
  uint64_t nd_answered = 0;  // solicitations for our address answered in place
  uint64_t nd_consumed = 0;  // advertisements taken (learned from or not)
  std::array<uint64_t, kNumDropReasons> nd_drops{};  // the rest, by reason
};

class NeighbourTable {
 public:
  // Sends an mbuf on the underlay through worker `worker`'s inject queue;
  // returns false (and does not free) if it could not be queued.
  using Emit = std::function<bool(unsigned worker, rte_mbuf* m)>;

  NeighbourTable(const NeighbourParams& params, AdjacencyTable& adjacency, rte_mempool* pool,
                 Emit emit);
  ~NeighbourTable();  // frees held packets

  // A next hop needs `ip`: returns its adjacency id, resolving if new
  // (FAILED_PRECONDITION without our_ip).
  Result<uint32_t> acquire(Ipv4Addr ip, uint64_t now_ms);
  // Likewise over IPv6 (FAILED_PRECONDITION without our_ip6).
  Result<uint32_t> acquire(const Ipv6Addr& ip, uint64_t now_ms);
  // The last user is gone (after its RCU grace period): forget `id`.
  void release(uint32_t id);

  Status set_static(Ipv4Addr ip, const MacAddr& mac);
  Status set_static(const Ipv6Addr& ip, const MacAddr& mac);
  Status remove_static(Ipv4Addr ip);
  Status remove_static(const Ipv6Addr& ip);

  // An ARP packet seen on the underlay: learn the sender if it is a
  // neighbour we use, and release what waited for it.
  void on_arp(const ArpInfo& arp, uint64_t now_ms);

  // An ND frame a worker handed over from the underlay; takes ownership.
  // A solicitation for our IPv6 address is answered in place through
  // `worker`'s inject queue (and its source link-layer address learned if
  // the asker is a neighbour we use); an advertisement resolves or
  // refreshes the neighbour it is about (RFC 4861 7.2.5); what is invalid
  // or not for us is dropped and counted by reason.
  void on_nd(rte_mbuf* m, unsigned worker, uint64_t now_ms);

  // Holds a packet (whose outer Ethernet destination is still blank) until
  // `id` resolves. Takes ownership: frees and counts it when the queue is full.
  void hold(uint32_t id, rte_mbuf* m, unsigned worker);

  // Retries, expiry and refresh; call every few milliseconds.
  void tick(uint64_t now_ms);

  // Announces our addresses (gratuitous ARP; an unsolicited neighbour
  // advertisement when we have an IPv6 one), as a host does when it comes up.
  void announce();

  std::optional<uint32_t> find(Ipv4Addr ip) const;
  std::optional<uint32_t> find(const Ipv6Addr& ip) const;
  const NeighbourAddr& addr_of(uint32_t id) const { return entries_.at(id).addr; }
  // The IPv4 address of an IPv4 neighbour (0.0.0.0 for an IPv6 one).
  Ipv4Addr ip_of(uint32_t id) const;
  std::optional<MacAddr> mac_of(uint32_t id) const { return entries_.at(id).mac; }
  bool is_static(Ipv4Addr ip) const;
  bool is_static(const Ipv6Addr& ip) const;
  std::vector<NeighbourView> view() const;
  const NeighbourCounters& counters() const { return counters_; }
  uint64_t held_packets() const { return held_total_; }

 private:
  struct Held {
    rte_mbuf* m;
    unsigned worker;
  };
  struct Entry {
    NeighbourAddr addr;
    bool in_use = false;
    uint32_t references = 0;
    bool is_static = false;
    std::optional<MacAddr> mac;
    uint32_t requests = 0;  // sent for the current resolution
    uint64_t next_ms = 0;   // when to send the next request
    std::vector<Held> held;
  };

  struct AddrHash {
    size_t operator()(const NeighbourAddr& a) const;
  };

  Result<uint32_t> acquire_addr(const NeighbourAddr& addr, uint64_t now_ms);
  Status set_static_addr(const NeighbourAddr& addr, const MacAddr& mac);
  Status remove_static_addr(const NeighbourAddr& addr);
  std::optional<uint32_t> find_addr(const NeighbourAddr& addr) const;
  bool is_static_addr(const NeighbourAddr& addr) const;
  // A neighbour's MAC seen on the wire: learned if it is one we use.
  // `override_mac` false (an advertisement without the O flag) keeps a MAC
  // already known, as RFC 4861 7.2.5 says.
  void learn(const NeighbourAddr& addr, const MacAddr& mac, bool override_mac, uint64_t now_ms);

  uint32_t allocate(const NeighbourAddr& addr);
  void free_entry(uint32_t id);
  void resolved(uint32_t id, const MacAddr& mac);
  void send_request(Entry& e, uint64_t now_ms);
  // Writes the request `e` needs into `m`: a broadcast ARP request, or a
  // neighbour solicitation (multicast; the first when refreshing a known
  // MAC unicast to it, as RFC 4861 7.3.3 probes).
  bool build_request(const Entry& e, rte_mbuf* m) const;
  NeighbourFamilyCounters& family_counters(const NeighbourAddr& addr);
  void drop_held(Entry& e);
  void drop_nd(rte_mbuf* m, DropReason reason);
  void on_solicit(rte_mbuf* m, const NdInfo& ns, unsigned worker, uint64_t now_ms);
  void on_advert(const NdInfo& na, uint64_t now_ms);

  NeighbourParams params_;
  AdjacencyTable& adjacency_;
  rte_mempool* pool_;
  Emit emit_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> free_ids_;
  std::unordered_map<NeighbourAddr, uint32_t, AddrHash> by_addr_;
  NeighbourCounters counters_;
  uint64_t held_total_ = 0;
};

}  // namespace tartan
