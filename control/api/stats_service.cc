#include "control/api/stats_service.h"

#include <chrono>
#include <map>
#include <span>
#include <thread>

#include "control/wireguard/handshake_counter_fields.h"
#include "engine/observe/busiest_peers.h"
#include "engine/observe/stats_fields.h"

namespace tartan {

namespace {

// Sets the proto fields the tables name (stats_fields.h) from `record`.
template <class Record>
void set_fields(std::span<const StatField<Record>> fields, const Record& record,
                google::protobuf::Message* out) {
  const google::protobuf::Descriptor* d = out->GetDescriptor();
  const google::protobuf::Reflection* r = out->GetReflection();
  for (const StatField<Record>& f : fields) {
    r->SetUInt64(out, d->FindFieldByName(f.name), record.*f.field);
  }
}

// `now` minus `before` for each counter of the table; gauges stay as they are.
template <class Record>
void subtract(std::span<const StatField<Record>> fields, Record& now, const Record& before) {
  for (const StatField<Record>& f : fields) {
    if (f.kind == StatKind::kCounter) now.*f.field -= before.*f.field;
  }
}

}  // namespace

void fill_stats(const StatsSnapshot& s, uint32_t max_peers, v1::StatsSnapshot* out) {
  for (const PortStats& p : s.ports) {
    auto* o = out->add_ports();
    o->set_name(p.name);
    o->set_role(p.role);
    o->set_port_id(p.port_id);
    set_fields(port_stat_fields(), p, o);
    o->set_link_up(p.link_up);
  }
  for (const WorkerStats& w : s.workers) {
    auto* o = out->add_workers();
    o->set_lcore(w.lcore);
    set_fields(worker_stat_fields(), w, o);
  }
  for (size_t r = 0; r < kNumDropReasons; ++r) {
    auto* d = out->add_drops();
    d->set_reason(drop_reason_name(static_cast<DropReason>(r)));
    d->set_help(drop_reason_help(static_cast<DropReason>(r)));
    d->set_packets(s.drops[r]);
  }
  set_fields(event_stat_fields(), s.events, out->mutable_events());
  const BusiestPeers peers = busiest_peers(s.peers, max_peers == 0 ? s.peers.size() : max_peers);
  for (const PeerStats* p : peers.shown) {
    auto* o = out->add_peers();
    o->set_public_ip(p->address());
    set_fields(peer_stat_fields(), *p, o);
  }
  if (peers.rest_count > 0) {
    out->set_other_peer_count(static_cast<uint32_t>(peers.rest_count));
    set_fields(peer_stat_fields(), peers.rest, out->mutable_other_peers());
  }
  out->set_timestamp_ns(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()));
}

void fill_wireguard_stats(const WireguardHandshakeCounters& c, v1::WireguardStats* out) {
  set_fields(handshake_counter_fields(), c, out);
  for (size_t r = 0; r < c.rejected.size(); ++r) {
    auto* o = out->add_rejected();
    o->set_reason(std::string(wireguard::reject_name(static_cast<wireguard::Reject>(r))));
    o->set_messages(c.rejected[r]);
  }
}

StatsSnapshot stats_delta(const StatsSnapshot& now, const StatsSnapshot& before) {
  StatsSnapshot d = now;
  for (size_t i = 0; i < d.ports.size() && i < before.ports.size(); ++i) {
    subtract(port_stat_fields(), d.ports[i], before.ports[i]);
  }
  for (size_t i = 0; i < d.workers.size() && i < before.workers.size(); ++i) {
    subtract(worker_stat_fields(), d.workers[i], before.workers[i]);
  }
  for (size_t r = 0; r < kNumDropReasons; ++r) d.drops[r] -= before.drops[r];
  subtract(event_stat_fields(), d.events, before.events);
  std::map<std::string, const PeerStats*> old_peers;
  for (const PeerStats& p : before.peers) old_peers[p.address()] = &p;
  for (PeerStats& p : d.peers) {
    auto it = old_peers.find(p.address());
    if (it == old_peers.end()) continue;  // new since: its totals are the delta
    subtract(peer_stat_fields(), p, *it->second);
  }
  return d;
}

grpc::Status StatsService::GetStats(grpc::ServerContext*, const v1::GetStatsRequest* req,
                                    v1::StatsSnapshot* out) {
  fill_stats(engine_.stats(), req->max_peers(), out);
  if (wireguard_ != nullptr) fill_wireguard_stats(wireguard_->counters(), out->mutable_wireguard());
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
  WireguardHandshakeCounters previous_handshakes{};
  bool first = true;
  auto next = std::chrono::steady_clock::now();
  while (!ctx->IsCancelled() && !stopping_) {
    const StatsSnapshot now = engine_.stats();
    v1::StatsSnapshot msg;
    fill_stats(first ? now : stats_delta(now, previous), req->max_peers(), &msg);
    if (wireguard_ != nullptr) {
      const WireguardHandshakeCounters handshakes = wireguard_->counters();
      fill_wireguard_stats(handshake_counters_delta(handshakes, previous_handshakes),
                           msg.mutable_wireguard());
      previous_handshakes = handshakes;
    }
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
