// One open WATCH of Nodes: the JSON event stream kube-apiserver writes
// (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/watch.go), each event
// {"type":...,"object":...} and a newline, filtered by the watch's selector
// as the cacher does (pkg/storage/cacher/cache_watcher.go
// convertToWatchEvent), BOOKMARKs when asked for, and the end of the stream
// at timeoutSeconds. The server's connection thread pulls the bytes with
// read(), which blocks until there is something to send.
#pragma once

#include <sys/types.h>

#include <deque>
#include <random>
#include <string>
#include <vector>

#include "tests/support/kube/exchange.h"
#include "tests/support/kube/server_state.h"

namespace tartan::testing::kube {

struct WatchOptions {
  Selector selector;
  bool bookmarks = false;
  Clock::time_point deadline;
  std::chrono::milliseconds bookmark_interval{60'000};
};

class WatchStream : public BodySource {
 public:
  // Registers with `state` (its lock held by the caller). `backlog`: the
  // events the watch starts with (synthetic ADDED, or history since its
  // resourceVersion), then every change published after.
  WatchStream(ServerState& state, WatchOptions options, const std::vector<NodeEvent>& backlog);
  // A stream of one ERROR event carrying `status`, then its end (a watch
  // from too old a resourceVersion: HTTP 200 and this event).
  WatchStream(ServerState& state, const Json& status);
  ~WatchStream() override;
  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;

  // Caller holds the lock.
  void offer(const NodeEvent& event);
  // The next event is cut after about half of its bytes; the connection is
  // then reset (`reset`) or the stream ends cleanly (a truncated response).
  void cut_next_event(bool reset);
  // Ends the stream cleanly once the event in flight is out.
  void close();
  // Sends nothing until then (time_point::max(): until silenced with
  // nullopt), as a watch hung somewhere on the way would.
  void silence(std::optional<Clock::time_point> until);

  // Bytes for the next chunk (at most `max`), or MHD's end-of-stream
  // (-1) / end-with-error (-2) codes. Takes the lock; blocks.
  ssize_t read(char* buf, size_t max) override;

 private:
  enum class End { kNone, kClean, kReset };
  void queue(const std::string& type, const Json& object);
  void schedule_bookmark(Clock::time_point now);
  std::vector<std::string> cut_into_pieces(std::string chunk, const WatchChunking& chunking);

  ServerState& state_;
  WatchOptions options_;
  std::deque<std::string> events_;  // serialised, waiting
  std::deque<std::string> pieces_;  // of the chunk in flight
  Clock::time_point next_piece_{};
  std::optional<Clock::time_point> next_bookmark_;
  // What happens after the current pieces: the cut (once armed) or close.
  std::optional<End> cut_next_;
  End end_after_pieces_ = End::kNone;
  bool closing_ = false;
  std::optional<Clock::time_point> silent_until_;
  bool end_when_drained_ = false;
  std::mt19937 rng_{12345};
};

}  // namespace tartan::testing::kube
