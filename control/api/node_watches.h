// The WatchNodes streams, all driven by one thread rather than a thread per
// client. A watch keeps a cursor into the mirror's event log and holds at
// most a small batch of events plus the one message in flight, so a client
// that stops reading costs the server a bounded amount: HTTP/2 flow control
// holds the message in flight, and the watch is ended with
// RESOURCE_EXHAUSTED once its cursor falls out of the log (more than
// control.watch_history changes behind) or its client has taken no message
// for control.stream_write_timeout_ms. The status comes after the messages
// already sent, so a slow client learns why it was dropped.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <thread>

#include "control/cluster/node_mirror.h"
#include "tartan/v1/node.grpc.pb.h"

namespace tartan {

struct WatchLimits {
  uint32_t history = 16384;  // the mirror's event log length (control.watch_history)
  std::chrono::milliseconds write_timeout{30000};  // control.stream_write_timeout_ms
};

class NodeWatches {
 public:
  NodeWatches(NodeMirror& mirror, const WatchLimits& limits);
  ~NodeWatches();
  NodeWatches(const NodeWatches&) = delete;
  NodeWatches& operator=(const NodeWatches&) = delete;

  // The reactor of a new WatchNodes call; gRPC owns it until its OnDone.
  grpc::ServerWriteReactor<v1::NodeEvent>* open(grpc::CallbackServerContext* ctx,
                                                const v1::WatchNodesRequest& request);
  // Ends every watch with UNAVAILABLE, and each new one (on shutdown).
  void stop();
  // Watches gRPC has not finished with yet.
  size_t open_count() const;

 private:
  class Watch;
  void run();
  void kick();

  NodeMirror& mirror_;
  const WatchLimits limits_;
  mutable std::mutex mu_;     // watches_, stopping_ and every watch's state
  std::set<Watch*> watches_;  // each removes itself in OnDone
  bool stopping_ = false;
  std::mutex wake_mu_;  // never held while calling the mirror or gRPC
  std::condition_variable wake_;
  bool kicked_ = false;
  bool quit_ = false;
  std::thread thread_;
};

}  // namespace tartan
