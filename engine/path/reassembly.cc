#include "engine/path/reassembly.h"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ip.h>

#include <string>

#include "engine/backends/headers.h"

namespace tartan {
namespace {

// Entries per hash bucket; with as many buckets as packets allowed, a
// packet finds room unless the table is really full.
constexpr uint32_t kBucketEntries = 4;

}  // namespace

Result<std::unique_ptr<Reassembly>> Reassembly::create(uint32_t max_packets, uint32_t timeout_ms,
                                                       int socket) {
  std::unique_ptr<Reassembly> r(new Reassembly());
  const uint64_t max_cycles = rte_get_tsc_hz() / 1000 * timeout_ms;
  r->table_ =
      rte_ip_frag_table_create(max_packets, kBucketEntries, max_packets, max_cycles, socket);
  if (r->table_ == nullptr) {
    return Status(ErrorCode::kResourceExhausted, "cannot create a reassembly table for " +
                                                     std::to_string(max_packets) +
                                                     " packets: " + rte_strerror(rte_errno));
  }
  return r;
}

Reassembly::~Reassembly() {
  rte_ip_frag_free_death_row(&death_row_, 0);
  rte_ip_frag_table_destroy(table_);
}

rte_mbuf* Reassembly::add(rte_mbuf* m, uint64_t now, WorkerCounters& c) {
  // A packet that timed out is dropped as such, not as refused below.
  expire(now, c);
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, kEthLen);
  m->l2_len = kEthLen;
  m->l3_len = ipv4_header_len(ip);
  c.events.fragments.add(1);
  ++held_;
  rte_mbuf* whole = rte_ipv4_frag_reassemble_packet(table_, &death_row_, m, now, ip);
  held_ -= death_row_.cnt;
  bury(DropReason::kFragmentDropped, c);
  if (whole == nullptr) return nullptr;
  // Each fragment (received in one segment) is a segment of the packet.
  const uint16_t fragments = whole->nb_segs;
  held_ -= fragments;
  // The rest of the path reads headers and sums in one segment.
  if (rte_pktmbuf_linearize(whole) != 0) {
    c.drop(DropReason::kFragmentDropped, fragments);
    rte_pktmbuf_free(whole);
    return nullptr;
  }
  c.events.reassembled.add(1);
  c.events.fragments_reassembled.add(fragments);
  ip = rte_pktmbuf_mtod_offset(whole, rte_ipv4_hdr*, kEthLen);
  ip->hdr_checksum = 0;  // rte_ip_frag leaves it zero
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  return whole;
}

void Reassembly::expire(uint64_t now, WorkerCounters& c) {
  rte_ip_frag_table_del_expired_entries(table_, &death_row_, now);
  held_ -= death_row_.cnt;
  bury(DropReason::kFragmentTimeout, c);
}

void Reassembly::bury(DropReason reason, WorkerCounters& c) {
  if (death_row_.cnt == 0) return;
  c.drop(reason, death_row_.cnt);
  rte_ip_frag_free_death_row(&death_row_, 0);
}

}  // namespace tartan
