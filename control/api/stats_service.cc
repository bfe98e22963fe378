#include "control/api/stats_service.h"

#include <chrono>
#include <map>
#include <thread>

namespace tartan {

void fill_stats(const StatsSnapshot& s, v1::StatsSnapshot* out) {
  for (const PortStats& p : s.ports) {
    auto* o = out->add_ports();
    o->set_name(p.name);
    o->set_role(p.role);
    o->set_port_id(p.port_id);
    o->set_rx_packets(p.rx_packets);
    o->set_rx_bytes(p.rx_bytes);
    o->set_tx_packets(p.tx_packets);
    o->set_tx_bytes(p.tx_bytes);
    o->set_hw_rx_missed(p.hw_rx_missed);
    o->set_hw_rx_errors(p.hw_rx_errors);
    o->set_hw_tx_errors(p.hw_tx_errors);
    o->set_link_up(p.link_up);
    o->set_link_downs(p.link_downs);
  }
  for (const WorkerStats& w : s.workers) {
    auto* o = out->add_workers();
    o->set_lcore(w.lcore);
    o->set_loops(w.loops);
    o->set_busy_loops(w.busy_loops);
    o->set_packets(w.processed);
    o->set_busy_cycles(w.busy_cycles);
  }
  for (size_t r = 0; r < kNumDropReasons; ++r) {
    auto* d = out->add_drops();
    d->set_reason(drop_reason_name(static_cast<DropReason>(r)));
    d->set_help(drop_reason_help(static_cast<DropReason>(r)));
    d->set_packets(s.drops[r]);
  }
  v1::EventStats* e = out->mutable_events();
  e->set_arp_replies(s.events.arp_replies);
  e->set_arp_requests_sent(s.events.arp_requests_sent);
  e->set_arp_learned(s.events.arp_learned);
  e->set_arp_wait(s.events.arp_wait);
  e->set_arp_released(s.events.arp_released);
  e->set_arp_held_now(s.events.arp_held_now);
  e->set_icmp_errors(s.events.icmp_errors);
  e->set_to_exception(s.events.to_exception);
  e->set_to_slow_path(s.events.to_slow_path);
  e->set_decap_offloaded(s.events.decap_offloaded);
  e->set_reassembled(s.events.reassembled);
  e->set_fragments_reassembled(s.events.fragments_reassembled);
  e->set_fragments_held_now(s.events.fragments_held_now);
  e->set_gso_packets(s.events.gso_packets);
  e->set_gso_segments(s.events.gso_segments);
  e->set_gro_merged(s.events.gro_merged);
  e->set_gro_segments(s.events.gro_segments);
  for (const PeerStats& p : s.peers) {
    auto* o = out->add_peers();
    o->set_public_ip(p.public_ip.str());
    o->set_encap_packets(p.encap_packets);
    o->set_encap_bytes(p.encap_bytes);
    o->set_decap_packets(p.decap_packets);
    o->set_decap_bytes(p.decap_bytes);
  }
  out->set_timestamp_ns(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()));
}

StatsSnapshot stats_delta(const StatsSnapshot& now, const StatsSnapshot& before) {
  StatsSnapshot d = now;
  for (size_t i = 0; i < d.ports.size() && i < before.ports.size(); ++i) {
    PortStats& p = d.ports[i];
    const PortStats& b = before.ports[i];
    p.rx_packets -= b.rx_packets, p.rx_bytes -= b.rx_bytes, p.tx_packets -= b.tx_packets,
        p.tx_bytes -= b.tx_bytes;
    p.hw_rx_missed -= b.hw_rx_missed, p.hw_rx_errors -= b.hw_rx_errors,
        p.hw_tx_errors -= b.hw_tx_errors, p.link_downs -= b.link_downs;
  }
  for (size_t i = 0; i < d.workers.size() && i < before.workers.size(); ++i) {
    WorkerStats& w = d.workers[i];
    const WorkerStats& b = before.workers[i];
    w.loops -= b.loops, w.busy_loops -= b.busy_loops, w.busy_cycles -= b.busy_cycles,
        w.processed -= b.processed;
  }
  for (size_t r = 0; r < kNumDropReasons; ++r) d.drops[r] -= before.drops[r];
  EventStats& e = d.events;
  const EventStats& b = before.events;
  e.arp_replies -= b.arp_replies, e.icmp_errors -= b.icmp_errors, e.to_exception -= b.to_exception;
  e.to_control -= b.to_control, e.arp_wait -= b.arp_wait, e.injected -= b.injected;
  e.to_slow_path -= b.to_slow_path, e.decap_offloaded -= b.decap_offloaded;
  e.reassembled -= b.reassembled, e.fragments_reassembled -= b.fragments_reassembled;
  e.gso_packets -= b.gso_packets, e.gso_segments -= b.gso_segments;
  e.gro_merged -= b.gro_merged, e.gro_segments -= b.gro_segments;
  e.arp_requests_sent -= b.arp_requests_sent, e.arp_learned -= b.arp_learned,
      e.arp_released -= b.arp_released;
  std::map<uint32_t, const PeerStats*> old_peers;
  for (const PeerStats& p : before.peers) old_peers[p.public_ip.value] = &p;
  for (PeerStats& p : d.peers) {
    auto it = old_peers.find(p.public_ip.value);
    if (it == old_peers.end()) continue;  // new since: its totals are the delta
    p.encap_packets -= it->second->encap_packets, p.encap_bytes -= it->second->encap_bytes;
    p.decap_packets -= it->second->decap_packets, p.decap_bytes -= it->second->decap_bytes;
  }
  return d;
}

grpc::Status StatsService::GetStats(grpc::ServerContext*, const v1::GetStatsRequest*,
                                    v1::StatsSnapshot* out) {
  fill_stats(engine_.stats(), out);
  return grpc::Status::OK;
}

grpc::Status StatsService::StreamStats(grpc::ServerContext* ctx, const v1::StreamStatsRequest* req,
                                       grpc::ServerWriter<v1::StatsSnapshot>* writer) {
  const uint32_t interval = req->interval_ms() == 0 ? 1000 : req->interval_ms();
  if (interval < 100 || interval > 3600000) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "interval_ms: " + std::to_string(interval) + " is outside 100..3600000");
  }
  ++open_streams_;
  struct Closed {
    std::atomic<size_t>& n;
    ~Closed() { --n; }
  } closed{open_streams_};
  StatsSnapshot previous{};
  bool first = true;
  auto next = std::chrono::steady_clock::now();
  while (!ctx->IsCancelled() && !stopping_) {
    const StatsSnapshot now = engine_.stats();
    v1::StatsSnapshot msg;
    fill_stats(first ? now : stats_delta(now, previous), &msg);
    if (!writer->Write(msg)) break;
    previous = now;
    first = false;
    next += std::chrono::milliseconds(interval);
    // Sleep in short steps so a cancelled client or a shutdown ends the stream quickly.
    while (std::chrono::steady_clock::now() < next && !ctx->IsCancelled() && !stopping_) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds(50), next - std::chrono::steady_clock::now()));
    }
  }
  return stopping_ ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "tartand is shutting down")
                   : grpc::Status::OK;
}

}  // namespace tartan
