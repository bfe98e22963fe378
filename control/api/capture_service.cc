#include "control/api/capture_service.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "control/api/api_convert.h"
#include "control/api/packet_stream.h"
#include "control/api/pcapng_writer.h"

namespace tartan {
namespace {

grpc::Status invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

}  // namespace

grpc::Status CaptureService::Capture(grpc::ServerContext* ctx, const v1::CaptureRequest* req,
                                     grpc::ServerWriter<v1::CaptureChunk>* writer) {
  CaptureSettings settings;
  uint32_t count = 0, duration_s = 0;
  for (grpc::Status s :
       {bounded("count", req->count(), 1000, 1, 1000000, count),
        bounded("duration_s", req->duration_s(), 60, 1, 3600, duration_s),
        bounded("snaplen", req->snaplen(), 2048, 64, 16384, settings.snaplen),
        bounded("rate_pps", req->rate_pps(), 10000, 1, 100000, settings.rate_pps)}) {
    if (!s.ok()) return s;
  }
  const std::string& direction = req->direction();
  if (direction == "rx") {
    settings.directions = kCaptureRx;
  } else if (direction == "tx") {
    settings.directions = kCaptureTx;
  } else if (direction == "drop") {
    settings.directions = kCaptureDrop;
  } else if (direction != "both" && !direction.empty()) {
    return invalid("direction: expected rx, tx, both or drop, found '" + direction + "'");
  }
  const std::vector<Port>& ports = engine_.ports();
  std::vector<std::string> names;
  std::vector<uint32_t> interface_of(RTE_MAX_ETHPORTS, 0);
  if (grpc::Status s = select_ports(req->ports(), ports, settings.ports); !s.ok()) return s;
  for (const Port& p : ports) {
    if (!settings.ports.test(p.id())) continue;
    interface_of[p.id()] = static_cast<uint32_t>(names.size());
    names.push_back(p.name());
  }
  settings.filter = req->filter();
  settings.workers = static_cast<unsigned>(engine_.workers().size());

  std::unique_lock one(running_, std::try_to_lock);
  if (!one.owns_lock())
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "a capture is already running");
  auto session = CaptureSession::create(settings);
  if (!session) return to_grpc(session.status());
  // Worker timestamps are TSC ticks: counted from now, in Unix nanoseconds.
  const TscToUnix clock;
  // Attached before the header goes out: a client that sees the header
  // knows every packet after it is taken.
  engine_.set_capture(session->get());
  v1::CaptureChunk chunk;
  chunk.set_pcapng(pcapng_header(names, settings.snaplen));
  if (!writer->Write(chunk)) {
    engine_.set_capture(nullptr);
    return grpc::Status::OK;
  }

  uint64_t written = 0;
  std::string out;
  const auto write_slot = [&](const CaptureSlot& s) {
    if (written >= count) return;
    const uint64_t ns = clock.ns(s.tsc);
    const bool dropped = s.direction == kCaptureDrop;
    append_pcapng_packet(
        out, interface_of[s.port], ns, s.data, s.cap_len, s.orig_len,
        s.direction == kCaptureTx ? PcapngDirection::kOutbound
        : dropped                 ? PcapngDirection::kUnknown
                                  : PcapngDirection::kInbound,
        dropped ? std::string("drop: ") + drop_reason_name(static_cast<DropReason>(s.reason)) : "");
    ++written;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(duration_s);
  bool client_gone = false;
  while (written < count && !ctx->IsCancelled() && !stopping_ &&
         std::chrono::steady_clock::now() < deadline) {
    if ((*session)->drain(write_slot) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    chunk.Clear();
    chunk.set_pcapng(std::move(out));
    out.clear();
    if (!writer->Write(chunk)) {
      client_gone = true;
      break;
    }
  }
  engine_.set_capture(nullptr);
  (*session)->drain(write_slot);  // what came in before the workers let go
  if (client_gone) return grpc::Status::OK;
  chunk.Clear();
  chunk.set_pcapng(std::move(out));
  chunk.set_packets(written);
  chunk.set_missed((*session)->missed());
  writer->Write(chunk);
  return stopping_ ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "tartand is shutting down")
                   : grpc::Status::OK;
}

}  // namespace tartan
