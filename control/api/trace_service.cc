#include "control/api/trace_service.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "control/api/api_convert.h"
#include "control/api/packet_stream.h"

namespace tartan {

TraceNames TraceService::names() const {
  TraceNames n;
  n.ports.resize(RTE_MAX_ETHPORTS);
  for (const Port& p : engine_.ports()) n.ports[p.id()] = p.name();
  for (const RouteView& r : engine_.routes())
    n.next_hops[r.next_hop_id].push_back({r.prefix, mirror_.node_of(r.prefix).value_or("")});
  for (const Route6View& r : engine_.routes6()) {
    n.next_hops6[r.next_hop_id].push_back(
        {r.prefix, mirror_.node_of(r.prefix).value_or(""), r.public_ip});
  }
  const DataplaneConfig& dp = engine_.config().dataplane;
  n.tunnel_port = dp.backend == BackendType::kHostGw ? 0 : dp.udp_port;
  n.vxlan = dp.backend == BackendType::kVxlan;
  return n;
}

grpc::Status TraceService::Trace(grpc::ServerContext* ctx, const v1::TraceRequest* req,
                                 grpc::ServerWriter<v1::TracedPacket>* writer) {
  TraceSettings settings;
  uint32_t duration_s = 0;
  for (grpc::Status s : {bounded("count", req->count(), 10, 1, 1000, settings.count),
                         bounded("duration_s", req->duration_s(), 60, 1, 3600, duration_s)}) {
    if (!s.ok()) return s;
  }
  const std::vector<Port>& ports = engine_.ports();
  if (grpc::Status s = select_ports(req->ports(), ports, settings.ports); !s.ok()) return s;
  settings.filter = req->filter();
  settings.workers = static_cast<unsigned>(engine_.workers().size());

  std::unique_lock one(running_, std::try_to_lock);
  if (!one.owns_lock())
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "a trace is already running");
  auto session = TraceSession::create(settings);
  if (!session) return to_grpc(session.status());
  TraceNames names = this->names();
  // Worker timestamps are TSC ticks: counted from now, in Unix nanoseconds.
  const TscToUnix clock;
  engine_.set_trace(session->get());
  // Headers go out now: a client sees the trace has started before any packet.
  writer->SendInitialMetadata();

  uint64_t written = 0;
  bool client_gone = false;
  v1::TracedPacket packet;
  const auto write_record = [&](const TraceRecord& r) {
    if (client_gone) return;
    if (names_stale(r, names)) names = this->names();
    packet.Clear();
    render_trace(r, names, &packet);
    packet.set_index(++written);
    packet.set_timestamp_ns(clock.ns(r.tsc));
    if (!writer->Write(packet)) client_gone = true;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(duration_s);
  while (written < settings.count && !client_gone && !ctx->IsCancelled() && !stopping_ &&
         std::chrono::steady_clock::now() < deadline) {
    if ((*session)->drain(write_record) == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  engine_.set_trace(nullptr);
  (*session)->drain(write_record);  // what was finished before the workers let go
  if (client_gone || ctx->IsCancelled()) return grpc::Status::OK;
  return stopping_ ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "tartand is shutting down")
                   : grpc::Status::OK;
}

}  // namespace tartan
