// The underlay neighbours the data plane sends to (remote VTEPs on our
// subnet, the gateway for the rest): ARP resolution with retries and
// refresh, packets held while a neighbour resolves (bounded), static
// entries that win over ARP. Runs on the control thread only; workers see
// the results through the AdjacencyTable.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "engine/neighbours/adjacency.h"
#include "engine/neighbours/arp.h"
#include "engine/net_types.h"
#include "engine/status.h"

namespace tartan {

struct NeighbourParams {
  Ipv4Addr our_ip;
  MacAddr our_mac;
  uint32_t retry_ms = 1000;
  uint32_t max_retries = 3;
  uint32_t refresh_s = 60;
  uint32_t queue_len = 64;
};

struct NeighbourView {
  Ipv4Addr ip;
  std::optional<MacAddr> mac;  // set once resolved (or static)
  bool is_static = false;
  uint32_t references = 0;     // next hops using it
  uint32_t held_packets = 0;   // waiting for resolution
  uint32_t requests_sent = 0;  // for the current resolution attempt
};

struct NeighbourCounters {
  uint64_t requests_sent = 0;
  uint64_t replies_learned = 0;
  uint64_t held_released = 0;  // held packets sent after resolution
  uint64_t dropped_queue_full = 0;
  uint64_t dropped_unresolved = 0;
  uint64_t announcements = 0;  // gratuitous ARPs sent (announce())
};

class NeighbourTable {
 public:
  // Sends an mbuf on the underlay through worker `worker`'s inject queue;
  // returns false (and does not free) if it could not be queued.
  using Emit = std::function<bool(unsigned worker, rte_mbuf* m)>;

  NeighbourTable(const NeighbourParams& params, AdjacencyTable& adjacency, rte_mempool* pool,
                 Emit emit);
  ~NeighbourTable();  // frees held packets

  // A next hop needs `ip`: returns its adjacency id, resolving if new.
  Result<uint32_t> acquire(Ipv4Addr ip, uint64_t now_ms);
  // The last user is gone (after its RCU grace period): forget `id`.
  void release(uint32_t id);

  Status set_static(Ipv4Addr ip, const MacAddr& mac);
  Status remove_static(Ipv4Addr ip);

  // An ARP packet seen on the underlay: learn the sender if it is a
  // neighbour we use, and release what waited for it.
  void on_arp(const ArpInfo& arp, uint64_t now_ms);

  // Holds a packet (whose outer Ethernet destination is still blank) until
  // `id` resolves. Takes ownership: frees and counts it when the queue is full.
  void hold(uint32_t id, rte_mbuf* m, unsigned worker);

  // Retries, expiry and refresh; call every few milliseconds.
  void tick(uint64_t now_ms);

  // Announces our address (gratuitous ARP), as a host does when it comes up.
  void announce();

  std::optional<uint32_t> find(Ipv4Addr ip) const;
  Ipv4Addr ip_of(uint32_t id) const { return entries_.at(id).ip; }
  std::optional<MacAddr> mac_of(uint32_t id) const { return entries_.at(id).mac; }
  bool is_static(Ipv4Addr ip) const;
  std::vector<NeighbourView> view() const;
  const NeighbourCounters& counters() const { return counters_; }
  uint64_t held_packets() const { return held_total_; }

 private:
  struct Held {
    rte_mbuf* m;
    unsigned worker;
  };
  struct Entry {
    Ipv4Addr ip;
    bool in_use = false;
    uint32_t references = 0;
    bool is_static = false;
    std::optional<MacAddr> mac;
    uint32_t requests = 0;  // sent for the current resolution
    uint64_t next_ms = 0;   // when to send the next request
    std::vector<Held> held;
  };

  uint32_t allocate(Ipv4Addr ip);
  void free_entry(uint32_t id);
  void resolved(uint32_t id, const MacAddr& mac);
  void send_request(Entry& e, uint64_t now_ms);
  void drop_held(Entry& e);

  NeighbourParams params_;
  AdjacencyTable& adjacency_;
  rte_mempool* pool_;
  Emit emit_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> free_ids_;
  std::unordered_map<uint32_t, uint32_t> by_ip_;  // host-order IP -> id
  NeighbourCounters counters_;
  uint64_t held_total_ = 0;
};

}  // namespace tartan
