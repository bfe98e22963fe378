#include "engine/observe/accounting.h"

#include <rte_ring.h>

#include "engine/engine.h"

namespace tartan {

int64_t Accounting::imbalance() const {
  const uint64_t in = received + created;
  const uint64_t out =
      transmitted + dropped + consumed + held + reassembling + in_flight + discarded;
  return static_cast<int64_t>(in - out);
}

std::string Accounting::describe() const {
  std::string s = "received " + std::to_string(received) + " + created " + std::to_string(created) +
                  " != transmitted " + std::to_string(transmitted) + " (answered " +
                  std::to_string(answered) + ", to exception " + std::to_string(to_exception) +
                  ") + dropped " + std::to_string(dropped) + " + consumed " +
                  std::to_string(consumed) + " + held " + std::to_string(held) +
                  " + reassembling " + std::to_string(reassembling) + " + in flight " +
                  std::to_string(in_flight) + " + discarded " + std::to_string(discarded) +
                  " (off by " + std::to_string(imbalance()) + ")";
  for (const PortFlow& p : ports) {
    s += "; " + p.name + " rx " + std::to_string(p.rx) + " tx " + std::to_string(p.tx);
  }
  for (size_t r = 0; r < kNumDropReasons; ++r) {
    if (drops[r] != 0)
      s += "; " + std::string(drop_reason_name(static_cast<DropReason>(r))) + " " +
           std::to_string(drops[r]);
  }
  return s;
}

Accounting Engine::accounting() const {
  Accounting a;
  // From the workers' own counters, not stats(): that also counts what a
  // NIC's rte_flow rules dropped before any worker received it.
  for (const Port& p : ports_) {
    PortFlow f{p.name(), p.id(), 0, 0};
    for (const auto& w : workers_) {
      f.rx += w->counters().ports[p.id()].rx_packets.get();
      f.tx += w->counters().ports[p.id()].tx_packets.get();
    }
    a.received += f.rx;
    a.transmitted += f.tx;
    a.ports.push_back(f);
  }
  for (const auto& w : workers_) {
    const WorkerCounters& c = w->counters();
    for (size_t r = 0; r < kNumDropReasons; ++r) a.drops[r] += c.drops[r].get();
    a.answered += c.events.arp_replies.get() + c.events.icmp_errors.get();
    a.to_exception += c.events.to_exception.get();
    a.reassembling += fragments_held(c);
    a.created += c.events.reassembled.get();
    a.consumed += c.events.fragments_reassembled.get();
    // A GSO packet becomes its segments; merged segments become one packet.
    a.created += c.events.gso_segments.get() + c.events.gro_merged.get();
    a.consumed += c.events.gso_packets.get() + c.events.gro_segments.get();
    a.consumed += c.events.wg_keepalives.get();
  }
  std::lock_guard lock(mu_);
  const NeighbourCounters& nc = neighbours_->counters();
  a.drops[static_cast<size_t>(DropReason::kArpQueueFull)] += nc.dropped_queue_full;
  a.drops[static_cast<size_t>(DropReason::kArpUnresolved)] += nc.dropped_unresolved;
  for (size_t r = 0; r < kNumDropReasons; ++r) a.drops[r] += nc.nd_drops[r];
  a.drops[static_cast<size_t>(DropReason::kWgHandshakeQueueFull)] += wg_queue_full_;
  for (uint64_t d : a.drops) a.dropped += d;
  for (const NeighbourFamilyCounters* f : {&nc.arp, &nc.nd})
    a.created += f->requests_sent + f->announcements;
  a.created += probes_sent_ + wg_frames_made_;
  a.consumed += arp_consumed_ + nc.nd_consumed + probe_replies_taken_ + wg_messages_taken_;
  a.answered += nc.nd_answered;
  a.held = neighbours_->held_packets();
  a.discarded = discarded_at_stop_;
  for (const std::vector<rte_ring*>* rings : {&to_control_, &inject_, &to_slow_}) {
    for (const rte_ring* r : *rings) a.in_flight += rte_ring_count(r);
  }
  a.in_flight += rte_ring_count(probes_);
  return a;
}

}  // namespace tartan
