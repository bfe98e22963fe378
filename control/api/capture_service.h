// Capture.Capture: a capture session on the engine's workers
// (engine/observe/capture.h) streamed to the client as pcapng. One capture
// at a time (the workers offer to one session); bounds checked at the edge.
#pragma once

#include <atomic>
#include <mutex>

#include "engine/engine.h"
#include "tartan/v1/capture.grpc.pb.h"

namespace tartan {

class CaptureService final : public v1::Capture::Service {
 public:
  explicit CaptureService(Engine& engine) : engine_(engine) {}
  grpc::Status Capture(grpc::ServerContext* ctx, const v1::CaptureRequest* req,
                       grpc::ServerWriter<v1::CaptureChunk>* writer) override;
  // Ends a capture under way (tartand is stopping).
  void stop_streams() { stopping_ = true; }

 private:
  Engine& engine_;
  std::mutex running_;  // held by the capture under way
  std::atomic<bool> stopping_{false};
};

}  // namespace tartan
