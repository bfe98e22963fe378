#include "tests/support/kube/watch_stream.h"

#include <microhttpd.h>

#include <algorithm>
#include <cstring>

namespace tartan::testing::kube {
namespace {

// The cacher's BOOKMARK carries a new empty Node with only the version set,
// encoded like any typed Node: Go writes the struct fields that have no
// omitempty (creationTimestamp as null, daemonEndpoints' Port, nodeInfo's
// strings), so a client must take nothing from it but the version.
Json bookmark_object(uint64_t rv) {
  Json node_info = Json::object();
  for (const char* field :
       {"machineID", "systemUUID", "bootID", "kernelVersion", "osImage", "containerRuntimeVersion",
        "kubeletVersion", "kubeProxyVersion", "operatingSystem", "architecture"})
    node_info[field] = "";
  return {{"kind", "Node"},
          {"apiVersion", "v1"},
          {"metadata", {{"resourceVersion", std::to_string(rv)}, {"creationTimestamp", nullptr}}},
          {"spec", Json::object()},
          {"status",
           {{"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 0}}}}},
            {"nodeInfo", std::move(node_info)}}}};
}

// cacheWatcher.nextBookmarkTime: two seconds before the deadline at the
// latest, so a watch that times out ends close to now.
constexpr auto kBookmarkBeforeDeadline = std::chrono::seconds(2);

}  // namespace

void ServerState::publish(const NodeEvent& event) {
  for (WatchStream* w : watches) w->offer(event);
  changed.notify_all();
}

WatchStream::WatchStream(ServerState& state, WatchOptions options,
                         const std::vector<NodeEvent>& backlog)
    : state_(state), options_(std::move(options)) {
  for (const NodeEvent& e : backlog) offer(e);
  if (options_.bookmarks) schedule_bookmark(Clock::now());
  state_.watches.insert(this);
}

WatchStream::WatchStream(ServerState& state, const Json& status) : state_(state) {
  queue("ERROR", status);
  end_when_drained_ = true;
  options_.deadline = Clock::time_point::max();
  state_.watches.insert(this);
}

WatchStream::~WatchStream() {
  std::lock_guard lock(state_.mu);
  state_.watches.erase(this);
  state_.changed.notify_all();
}

void WatchStream::queue(const std::string& type, const Json& object) {
  Json event = {{"type", type}, {"object", object}};
  events_.push_back(event.dump() + "\n");
}

void WatchStream::offer(const NodeEvent& e) {
  const bool now_passes = e.type != "DELETED" && options_.selector.matches(e.object);
  const bool before_passed = !e.previous.is_null() && options_.selector.matches(e.previous);
  if (now_passes) {
    queue(before_passed ? "MODIFIED" : "ADDED", e.object);
  } else if (before_passed) {
    // Gone from the selection: DELETED with the old content at the new version.
    Json last = e.previous;
    last["metadata"]["resourceVersion"] = std::to_string(e.resource_version);
    queue("DELETED", last);
  }
}

void WatchStream::cut_next_event(bool reset) {
  cut_next_ = reset ? End::kReset : End::kClean;
}

void WatchStream::close() {
  closing_ = true;
}

void WatchStream::silence(std::optional<Clock::time_point> until) {
  silent_until_ = until;
}

void WatchStream::schedule_bookmark(Clock::time_point now) {
  Clock::time_point next = now + options_.bookmark_interval;
  if (options_.deadline != Clock::time_point::max())
    next = std::min(next, options_.deadline - kBookmarkBeforeDeadline);
  if (next < now)
    next_bookmark_.reset();
  else
    next_bookmark_ = next;
}

std::vector<std::string> WatchStream::cut_into_pieces(std::string chunk,
                                                      const WatchChunking& chunking) {
  const size_t n = std::clamp<size_t>(chunking.pieces, 1, chunk.size());
  std::vector<size_t> cuts;
  if (chunking.random_boundaries) {
    std::vector<size_t> all(chunk.size() - 1);
    for (size_t i = 0; i < all.size(); ++i) all[i] = i + 1;
    std::shuffle(all.begin(), all.end(), rng_);
    cuts.assign(all.begin(), all.begin() + static_cast<long>(n - 1));
    std::sort(cuts.begin(), cuts.end());
  } else {
    for (size_t i = 1; i < n; ++i) cuts.push_back(chunk.size() * i / n);
  }
  std::vector<std::string> out;
  size_t from = 0;
  for (size_t at : cuts) {
    out.push_back(chunk.substr(from, at - from));
    from = at;
  }
  out.push_back(chunk.substr(from));
  return out;
}

ssize_t WatchStream::read(char* buf, size_t max) {
  std::unique_lock lock(state_.mu);
  while (true) {
    if (state_.stopping) return MHD_CONTENT_READER_END_WITH_ERROR;
    const Clock::time_point now = Clock::now();
    if (state_.stalled(now)) {
      state_.wait(lock, *state_.stalled_until);
      continue;
    }
    if (silent_until_ && now < *silent_until_) {
      state_.wait(lock, *silent_until_);
      continue;
    }
    if (!pieces_.empty()) {
      if (now < next_piece_) {
        state_.wait(lock, next_piece_);
        continue;
      }
      std::string& piece = pieces_.front();
      const size_t n = std::min(max, piece.size());
      std::memcpy(buf, piece.data(), n);
      piece.erase(0, n);
      if (piece.empty()) pieces_.pop_front();
      next_piece_ = now + state_.chunking.gap;
      return static_cast<ssize_t>(n);
    }
    if (end_after_pieces_ == End::kReset) return MHD_CONTENT_READER_END_WITH_ERROR;
    if (end_after_pieces_ == End::kClean || closing_ || now >= options_.deadline)
      return MHD_CONTENT_READER_END_OF_STREAM;
    if (!events_.empty()) {
      std::string chunk;
      if (cut_next_) {
        // Half of one event: the client holds bytes that never complete.
        chunk = events_.front().substr(0, std::max<size_t>(1, events_.front().size() / 2));
        events_.pop_front();
        end_after_pieces_ = *cut_next_;
      } else {
        for (int i = 0; i < std::max(1, state_.chunking.events_per_chunk) && !events_.empty();
             ++i) {
          chunk += events_.front();
          events_.pop_front();
        }
      }
      for (auto& p : cut_into_pieces(std::move(chunk), state_.chunking))
        pieces_.push_back(std::move(p));
      continue;
    }
    if (end_when_drained_) return MHD_CONTENT_READER_END_OF_STREAM;
    if (next_bookmark_ && now >= *next_bookmark_) {
      queue("BOOKMARK", bookmark_object(state_.store.resource_version()));
      schedule_bookmark(now);
      continue;
    }
    state_.wait(lock,
                std::min(options_.deadline, next_bookmark_.value_or(Clock::time_point::max())));
  }
}

}  // namespace tartan::testing::kube
