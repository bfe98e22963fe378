// Trace.Trace: a trace session on the engine's workers
// (engine/observe/trace.h) streamed to the client one packet at a time, its
// next hops named after the routes and nodes they serve (node mirror). One
// trace at a time; bounds checked at the edge.
#pragma once

#include <atomic>
#include <mutex>

#include "control/api/trace_render.h"
#include "control/cluster/node_mirror.h"
#include "engine/engine.h"
#include "tartan/v1/trace.grpc.pb.h"

namespace tartan {

class TraceService final : public v1::Trace::Service {
 public:
  TraceService(Engine& engine, const NodeMirror& mirror) : engine_(engine), mirror_(mirror) {}
  grpc::Status Trace(grpc::ServerContext* ctx, const v1::TraceRequest* req,
                     grpc::ServerWriter<v1::TracedPacket>* writer) override;
  // Ends a trace under way (tartand is stopping).
  void stop_streams() { stopping_ = true; }

 private:
  TraceNames names() const;

  Engine& engine_;
  const NodeMirror& mirror_;
  std::mutex running_;  // held by the trace under way
  std::atomic<bool> stopping_{false};
};

}  // namespace tartan
