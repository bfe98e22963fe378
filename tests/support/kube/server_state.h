// State the API server double's connection threads share: the store, the
// open watches and the knobs tests turn while they run, under one lock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>

#include "tests/support/kube/node_store.h"

namespace tartan::testing::kube {

using Clock = std::chrono::steady_clock;

// How watch events leave: each chunk is one write of the HTTP chunked
// body, so clients see events split and merged at these boundaries.
struct WatchChunking {
  // Up to this many events that are waiting go out together in one chunk.
  int events_per_chunk = 1;
  // Each chunk is cut into this many pieces (fewer if it is shorter), each
  // sent as a chunk of its own: at equal sizes, or at random boundaries.
  int pieces = 1;
  bool random_boundaries = false;
  // Pause between pieces, so each reaches the client in a read of its own.
  std::chrono::milliseconds gap{0};
};

class WatchStream;

struct ServerState {
  explicit ServerState(size_t history_window) : store(history_window) {}

  std::mutex mu;
  // Signalled on every change of anything below.
  std::condition_variable changed;
  NodeStore store;
  std::set<WatchStream*> watches;
  WatchChunking chunking;
  // Set while stalled: until then (time_point::max() until released) open
  // watches send nothing and new requests wait.
  std::optional<Clock::time_point> stalled_until;
  // The daemons are stopping: every wait ends.
  bool stopping = false;

  bool stalled(Clock::time_point now) const { return stalled_until && now < *stalled_until; }
  // Waits for a change or `until` (time_point::max(): no deadline).
  void wait(std::unique_lock<std::mutex>& lock, Clock::time_point until) {
    if (until == Clock::time_point::max())
      changed.wait(lock);
    else
      changed.wait_until(lock, until);
  }
  // Appends a Node change to every open watch. Caller holds `mu`.
  void publish(const NodeEvent& event);
};

}  // namespace tartan::testing::kube
