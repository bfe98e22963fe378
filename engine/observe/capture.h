// Packet capture on the workers: packets received, sent or dropped on chosen
// ports that pass a tcpdump filter are copied into per-worker rings of
// preallocated slots, which the control side drains (into pcapng, for
// tartanctl capture). In the worker: no allocation, lock or system call;
// the filter is libpcap's compiled expression converted to DPDK's eBPF
// (rte_bpf_convert) and run on the mbuf (packet_filter.h). With no capture
// attached a worker pays one predictable branch per burst (Engine::set_capture).
#pragma once

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <bitset>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/observe/counter.h"
#include "engine/observe/packet_filter.h"
#include "engine/observe/stats.h"
#include "engine/status.h"

namespace tartan {

enum CaptureDirection : uint8_t { kCaptureRx = 1, kCaptureTx = 2, kCaptureDrop = 4 };

// One captured packet, as a worker wrote it; `data` holds cap_len bytes.
struct CaptureSlot {
  uint64_t tsc;  // rte_rdtsc() when the worker saw it
  uint32_t orig_len;
  uint32_t cap_len;
  uint16_t port;
  uint8_t direction;  // one CaptureDirection
  uint8_t reason;     // DropReason, for kCaptureDrop
  uint8_t data[];
};

struct CaptureSettings {
  std::bitset<RTE_MAX_ETHPORTS> ports;
  uint8_t directions = kCaptureRx | kCaptureTx;
  std::string filter;         // tcpdump syntax; "" takes every packet
  uint32_t snaplen = 2048;    // bytes kept of each packet
  uint32_t rate_pps = 10000;  // packets per second taken, over all workers
  unsigned workers = 1;
  uint32_t slots_per_worker = 1024;
};

class CaptureSession {
 public:
  // Compiles the filter (libpcap's error when it does not) and sets up the
  // rings. Before any worker sees the session.
  static Result<std::unique_ptr<CaptureSession>> create(const CaptureSettings& settings);
  ~CaptureSession();
  CaptureSession(const CaptureSession&) = delete;
  CaptureSession& operator=(const CaptureSession&) = delete;

  // Worker `lane` offers packets seen on `port`; those the session wants are
  // copied (up to snaplen) into a free slot. A full ring or the rate cap
  // skips a packet and counts it (missed()).
  void offer(unsigned lane, uint16_t port, CaptureDirection direction, rte_mbuf* const* pkts,
             uint16_t n, DropReason reason = DropReason::kCount) {
    // A drop's port is the mbuf's, which a PMD may leave unset (net_ring).
    if (!(settings_.directions & direction) || port >= RTE_MAX_ETHPORTS || !settings_.ports[port])
      return;
    Lane& l = lanes_[lane];
    for (uint16_t i = 0; i < n; ++i) {
      if (filter_ != nullptr && !filter_->matches(pkts[i])) continue;
      copy(l, port, direction, pkts[i], reason);
    }
  }

  // Control side: hands every slot the workers filled to `fn`, then frees it.
  template <class Fn>
  size_t drain(Fn&& fn) {
    size_t n = 0;
    for (Lane& l : lanes_) {
      void* slot;
      while (rte_ring_sc_dequeue(l.full, &slot) == 0) {
        fn(*static_cast<const CaptureSlot*>(slot));
        rte_ring_sp_enqueue(l.free, slot);
        ++n;
      }
    }
    return n;
  }
  // Packets that matched but were not taken (rate cap, ring full).
  uint64_t missed() const;
  const CaptureSettings& settings() const { return settings_; }

 private:
  struct alignas(RTE_CACHE_LINE_SIZE) Lane {
    rte_ring* free = nullptr;  // empty slots: control -> worker
    rte_ring* full = nullptr;  // filled slots: worker -> control
    uint64_t window_start = 0;
    uint32_t in_window = 0;
    Counter missed;
  };
  explicit CaptureSession(const CaptureSettings& s) : settings_(s), lanes_(s.workers) {}

  void copy(Lane& l, uint16_t port, CaptureDirection direction, const rte_mbuf* m,
            DropReason reason) {
    const uint64_t now = rte_rdtsc();
    if (now - l.window_start >= rte_get_tsc_hz()) l.window_start = now, l.in_window = 0;
    void* p;
    if (l.in_window >= per_lane_rate_ || rte_ring_sc_dequeue(l.free, &p) != 0) {
      l.missed.add(1);
      return;
    }
    ++l.in_window;
    auto* slot = static_cast<CaptureSlot*>(p);
    slot->tsc = now;
    slot->orig_len = rte_pktmbuf_pkt_len(m);
    slot->cap_len = std::min(slot->orig_len, settings_.snaplen);
    slot->port = port;
    slot->direction = direction;
    slot->reason = static_cast<uint8_t>(reason);
    const void* d = rte_pktmbuf_read(m, 0, slot->cap_len, slot->data);
    if (d != slot->data && d != nullptr) std::memcpy(slot->data, d, slot->cap_len);
    rte_ring_sp_enqueue(l.full, slot);
  }

  const CaptureSettings settings_;
  std::unique_ptr<PacketFilter> filter_;  // null: every packet
  uint32_t per_lane_rate_ = 0;
  std::vector<Lane> lanes_;
  std::vector<uint8_t> slots_;  // every lane's slots, back to back
};

}  // namespace tartan
