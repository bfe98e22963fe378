// Per-packet trace on the workers, as VPP's `trace add`: for the next N
// packets received on chosen ports that pass a tcpdump filter, every
// decision the worker makes (classification, sender check, VNI, decap,
// route lookup, neighbour, rewrite, transmit or drop) is written into a
// record preallocated for it, which the control side drains and renders
// (names of ports, next hops and nodes are resolved there, not here).
//
// In the worker: no allocation, lock or system call. A traced packet is
// known by its mbuf's address among the handful open in the current burst;
// with no trace attached a worker tests one null member per burst and per
// decision point (Worker::trace_).
#pragma once

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <array>
#include <atomic>
#include <bitset>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/net_types.h"
#include "engine/observe/packet_filter.h"
#include "engine/status.h"

namespace tartan {

// What a decision is about; each step's arguments are in TraceEvent.
enum class TraceStep : uint8_t {
  kClassify,    // a8: TraceClass
  kSender,      // a8: 1 known; a16: where the outer source IPv6 is in the frame as received (0:
                // IPv4); a32: outer source IPv4 (network order); b: sender's next-hop id
  kVni,         // a32: the VNI the packet carries
  kDecap,       // a8: TraceDecap
  kRoute,       // a8: 1 found; a16: NextHopKind; a32: destination (network order); b: next-hop id
  kRoute6,      // IPv6: a8: 1 found; a16: NextHopKind; a32: where the destination is in the frame
                // as received (the record's head holds it); b: next-hop id
  kNeighbour,   // a8: 1 resolved; a32: adjacency; b: the MAC (6 bytes, first byte lowest)
  kRewrite,     // a8: NextHopKind; a16: outer UDP source port; a32: outer destination IPv4
                // (network order); b: out port
  kRewrite6,    // IPv6 tunnel: a8: NextHopKind; a16: outer UDP source port; a32: next-hop id
                // (its node's public IPv6 is the outer destination); b: out port
  kArpReply,    // a32: the address answered for (network order); b: the MAC given
  kIcmpError,   // a8: type; a16: code; a32: 6 for ICMPv6 (else ICMP)
  kToControl,   // a8: TraceToControl; a32: adjacency (held for resolution)
  kSlowPath,    // handed to the slow-path worker (ARP, host traffic)
  kReassembly,  // a8: 1 reassembled (the packet goes on), 0 held or refused
  kGso,         // a16: segments the GSO packet was cut into
  kGro,         // staged for GRO; a16: port
  kTx,          // a16: port; a32: TX queue
  kDrop,        // a8: DropReason
};

enum class TraceClass : uint8_t {
  kArp,
  kIpv4,            // overlay IPv4, or underlay IPv4 before its outer checks
  kNotIpv4,         // neither IPv4 nor ARP
  kTunnel,          // underlay UDP to our address and backend port
  kOffloadedDecap,  // decapsulated by the NIC (flow_offload.h)
  kUnencapsulated,  // underlay IPv4 for one of our pods (host-gw, DirectRouting)
  kNotForUs,        // underlay IPv4 to another address, not UDP, or another port
  kOuterFragment,
  kGsoPacket,  // a TSO packet from a vnet tap
  kIpv6,       // overlay IPv6, or underlay IPv6 before its outer checks
  kNd,         // underlay neighbour discovery (solicitation or advertisement)
};

// kWireguardKeepalive ends the packet's trace: nothing was inside.
enum class TraceDecap : uint8_t { kVxlan, kUdp, kOffloaded, kWireguard, kWireguardKeepalive };

// Why a packet went to the control thread.
enum class TraceToControl : uint8_t { kArpWait, kArp, kProbeReply, kNd, kWireguardHandshake };

struct TraceEvent {
  TraceStep step;
  uint8_t a8 = 0;
  uint16_t a16 = 0;
  uint32_t a32 = 0;
  uint64_t b = 0;
};

// A MAC address in TraceEvent::b, and back.
inline uint64_t trace_mac(const uint8_t* mac) {
  uint64_t b = 0;
  std::memcpy(&b, mac, 6);
  return b;
}
inline uint64_t trace_mac(const MacAddr& mac) {
  return trace_mac(mac.bytes.data());
}
inline MacAddr trace_mac_of(uint64_t b) {
  MacAddr mac;
  std::memcpy(mac.bytes.data(), &b, 6);
  return mac;
}

inline constexpr unsigned kTraceHeadBytes = 128;  // of the frame as received
inline constexpr unsigned kTraceMaxEvents = 16;

// One traced packet, as a worker wrote it.
struct TraceRecord {
  uint64_t tsc;  // rte_rdtsc() when received
  uint32_t orig_len;
  uint16_t head_len;
  uint16_t rx_port;
  uint16_t rx_queue;
  uint16_t worker;
  uint8_t num_events;
  uint8_t events_lost;  // decisions beyond kTraceMaxEvents
  bool finished;        // false: its last decision was not a terminal one (held, GRO)
  uint8_t head[kTraceHeadBytes];
  TraceEvent events[kTraceMaxEvents];
};

struct TraceSettings {
  std::bitset<RTE_MAX_ETHPORTS> ports;
  std::string filter;  // tcpdump syntax; "" takes every packet
  uint32_t count = 10;
  unsigned workers = 1;
};

class TraceSession {
 public:
  // Compiles the filter (libpcap's error when it does not) and sets up a
  // record per packet to trace on each worker's lane, so none runs short.
  static Result<std::unique_ptr<TraceSession>> create(const TraceSettings& settings);
  ~TraceSession();
  TraceSession(const TraceSession&) = delete;
  TraceSession& operator=(const TraceSession&) = delete;

  // Worker `lane` received `pkts` on (port, queue): those wanted, while
  // the count lasts, get a record.
  void start(unsigned lane, uint16_t port, uint16_t queue, rte_mbuf* const* pkts, uint16_t n) {
    if (!settings_.ports[port] || taken_.load(std::memory_order_relaxed) >= settings_.count) return;
    start_slow(lane, port, queue, pkts, n);
  }
  // A decision about `m`, when it is traced.
  void note(unsigned lane, const rte_mbuf* m, const TraceEvent& e) {
    Lane& l = lanes_[lane];
    if (l.num_open == 0) return;
    if (TraceRecord* r = find(l, m)) add(*r, e);
  }
  // Its last decision (sent, dropped, handed over): the record goes to the
  // control side.
  void finish(unsigned lane, const rte_mbuf* m, const TraceEvent& e) {
    Lane& l = lanes_[lane];
    if (l.num_open == 0) return;
    finish_slow(l, m, e);
  }
  // The burst is done: records still open (held for reassembly, waiting
  // for GRO) go as they are; their mbufs are no longer followed.
  void end_burst(unsigned lane);

  // Control side: hands every finished record to `fn`, then frees it.
  template <class Fn>
  size_t drain(Fn&& fn) {
    size_t n = 0;
    for (Lane& l : lanes_) {
      void* r;
      while (rte_ring_sc_dequeue(l.full, &r) == 0) {
        fn(*static_cast<const TraceRecord*>(r));
        rte_ring_sp_enqueue(l.free, r);
        ++n;
      }
    }
    return n;
  }
  // Packets taken for tracing so far (at most the count).
  uint32_t taken() const {
    return std::min(taken_.load(std::memory_order_relaxed), settings_.count);
  }
  const TraceSettings& settings() const { return settings_; }

 private:
  struct Open {
    const rte_mbuf* m;
    TraceRecord* r;
  };
  struct alignas(RTE_CACHE_LINE_SIZE) Lane {
    rte_ring* free = nullptr;     // empty records: control -> worker
    rte_ring* full = nullptr;     // finished records: worker -> control
    std::array<Open, 64> open{};  // this burst's traced packets (a burst is at most 64)
    uint16_t num_open = 0;
  };
  explicit TraceSession(const TraceSettings& s) : settings_(s), lanes_(s.workers) {}

  static TraceRecord* find(Lane& l, const rte_mbuf* m) {
    for (uint16_t i = 0; i < l.num_open; ++i) {
      if (l.open[i].m == m) return l.open[i].r;
    }
    return nullptr;
  }
  static void add(TraceRecord& r, const TraceEvent& e) {
    if (r.num_events < kTraceMaxEvents) {
      r.events[r.num_events++] = e;
    } else if (r.events_lost < UINT8_MAX) {
      ++r.events_lost;
    }
  }
  void start_slow(unsigned lane, uint16_t port, uint16_t queue, rte_mbuf* const* pkts, uint16_t n);
  void finish_slow(Lane& l, const rte_mbuf* m, const TraceEvent& e);

  const TraceSettings settings_;
  std::unique_ptr<PacketFilter> filter_;  // null: every packet
  std::atomic<uint32_t> taken_{0};
  std::vector<Lane> lanes_;
  std::vector<TraceRecord> records_;  // every lane's, back to back
};

}  // namespace tartan
