// Outer IPv4 fragments of tunnel packets put back together, as the
// kernel's IP layer does before its vxlan socket sees them: the kernel
// sends VXLAN with DF clear, so any router on the underlay may fragment it.
// DPDK's rte_ip_frag does the work, one table per worker (no locks),
// bounded in memory (at most `max_packets` packets being reassembled, of at
// most RTE_LIBRTE_IP_FRAG_MAX_FRAG fragments each) and in time (what has
// not come together within `timeout_ms` is freed).
//
// The books (observe/accounting.h): every fragment is received; while it
// waits it is held (`reassembling`); a packet put together from N
// fragments consumes those N and creates one packet, whose own fate is
// counted as any packet's; fragments freed on the way are dropped, by
// reason: fragment_timeout, fragment_dropped.
#pragma once

#include <rte_ip_frag.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <memory>

#include "engine/observe/stats.h"
#include "engine/status.h"

namespace tartan {

class Reassembly {
 public:
  static Result<std::unique_ptr<Reassembly>> create(uint32_t max_packets, uint32_t timeout_ms,
                                                    int socket);
  ~Reassembly();  // frees what is still held
  Reassembly(const Reassembly&) = delete;
  Reassembly& operator=(const Reassembly&) = delete;

  // Takes the IPv4 fragment `m` (Ethernet at offset 0, its IPv4 header
  // checked by check_ipv4) at TSC time `now`. Returns the whole packet when
  // `m` completes one: one segment, its IPv4 header checksum valid. nullptr
  // when the fragment is held, or was dropped (counted in `c`).
  rte_mbuf* add(rte_mbuf* m, uint64_t now, WorkerCounters& c);
  // Frees the fragments of packets not complete within the timeout.
  void expire(uint64_t now, WorkerCounters& c);
  // Whether any fragment is held (expire() has work).
  bool holding() const { return held_ != 0; }

 private:
  Reassembly() = default;
  // Frees the death row, counting its fragments under `reason`.
  void bury(DropReason reason, WorkerCounters& c);

  rte_ip_frag_tbl* table_ = nullptr;
  rte_ip_frag_death_row death_row_{};
  uint64_t held_ = 0;  // fragments in the table
};

}  // namespace tartan
