#include "engine/observe/trace.h"

#include <rte_errno.h>

#include <algorithm>
#include <cstring>

namespace tartan {

Result<std::unique_ptr<TraceSession>> TraceSession::create(const TraceSettings& settings) {
  std::unique_ptr<TraceSession> s(new TraceSession(settings));
  if (!settings.filter.empty()) {
    auto filter = PacketFilter::compile(settings.filter);
    if (!filter) return filter.status();
    s->filter_ = std::move(filter).value();
  }
  // Every lane can hold the whole count: a worker never finds its lane
  // short of records while the control side is behind.
  const uint32_t per_lane = std::max<uint32_t>(1, settings.count);
  s->records_.resize(size_t{per_lane} * settings.workers);
  // rte_ring names are global: each session's are its own.
  static std::atomic<unsigned> sessions{0};
  const unsigned id = sessions++;
  const unsigned ring_size = rte_align32pow2(per_lane + 1);
  for (unsigned w = 0; w < settings.workers; ++w) {
    Lane& l = s->lanes_[w];
    const std::string name = "trc" + std::to_string(id) + "_" + std::to_string(w);
    l.free = rte_ring_create((name + "f").c_str(), ring_size, SOCKET_ID_ANY,
                             RING_F_SP_ENQ | RING_F_SC_DEQ);
    l.full = rte_ring_create((name + "u").c_str(), ring_size, SOCKET_ID_ANY,
                             RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (l.free == nullptr || l.full == nullptr)
      return Status::internal("trace ring: " + std::string(rte_strerror(rte_errno)));
    for (uint32_t i = 0; i < per_lane; ++i)
      rte_ring_sp_enqueue(l.free, &s->records_[size_t{w} * per_lane + i]);
  }
  return s;
}

TraceSession::~TraceSession() {
  for (Lane& l : lanes_) {
    rte_ring_free(l.free);
    rte_ring_free(l.full);
  }
}

void TraceSession::start_slow(unsigned lane, uint16_t port, uint16_t queue, rte_mbuf* const* pkts,
                              uint16_t n) {
  Lane& l = lanes_[lane];
  const uint64_t now = rte_rdtsc();
  for (uint16_t i = 0; i < n && l.num_open < l.open.size(); ++i) {
    rte_mbuf* m = pkts[i];
    if (filter_ != nullptr && !filter_->matches(m)) continue;
    // Workers share the count: each packet claims one of it.
    if (taken_.fetch_add(1, std::memory_order_relaxed) >= settings_.count) return;
    void* p;
    if (rte_ring_sc_dequeue(l.free, &p) != 0) return;  // cannot happen: a record per count
    auto* r = static_cast<TraceRecord*>(p);
    r->tsc = now;
    r->orig_len = rte_pktmbuf_pkt_len(m);
    r->head_len = static_cast<uint16_t>(std::min<uint32_t>(r->orig_len, kTraceHeadBytes));
    r->rx_port = port;
    r->rx_queue = queue;
    r->worker = static_cast<uint16_t>(lane);
    r->num_events = 0;
    r->events_lost = 0;
    r->finished = false;
    const void* d = rte_pktmbuf_read(m, 0, r->head_len, r->head);
    if (d != r->head && d != nullptr) std::memcpy(r->head, d, r->head_len);
    l.open[l.num_open++] = {m, r};
  }
}

void TraceSession::finish_slow(Lane& l, const rte_mbuf* m, const TraceEvent& e) {
  for (uint16_t i = 0; i < l.num_open; ++i) {
    if (l.open[i].m != m) continue;
    TraceRecord* r = l.open[i].r;
    add(*r, e);
    r->finished = true;
    rte_ring_sp_enqueue(l.full, r);
    l.open[i] = l.open[--l.num_open];
    return;
  }
}

void TraceSession::end_burst(unsigned lane) {
  Lane& l = lanes_[lane];
  for (uint16_t i = 0; i < l.num_open; ++i) rte_ring_sp_enqueue(l.full, l.open[i].r);
  l.num_open = 0;
}

}  // namespace tartan
