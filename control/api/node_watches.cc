#include "control/api/node_watches.h"

#include <deque>
#include <string>
#include <vector>

#include "control/api/api_convert.h"

namespace tartan {
namespace {

using Clock = std::chrono::steady_clock;

// Events taken from the mirror at a time, per watch.
constexpr size_t kBatch = 64;
// How often watches are checked for stalled clients when nothing happens.
constexpr auto kTick = std::chrono::milliseconds(100);

v1::NodeEvent::Type event_type(NodeEvent::Type t) {
  switch (t) {
    case NodeEvent::Type::kAdded:
      return v1::NodeEvent::ADDED;
    case NodeEvent::Type::kModified:
      return v1::NodeEvent::MODIFIED;
    case NodeEvent::Type::kDeleted:
      return v1::NodeEvent::DELETED;
  }
  return v1::NodeEvent::ADDED;
}

}  // namespace

class NodeWatches::Watch final : public grpc::ServerWriteReactor<v1::NodeEvent> {
 public:
  Watch(NodeWatches& owner, grpc::CallbackServerContext* ctx, uint64_t from)
      : owner_(owner), ctx_(ctx), version_(from) {}

  // pump() and finish() run under owner_.mu_.

  // Sends the next message when none is in flight; ends a watch whose
  // client fell too far behind or stopped taking messages.
  void pump(Clock::time_point now) {
    if (finished_) {
      // A client that never reads never takes the status either: after
      // another timeout, cancel the call so gRPC frees it.
      if (!cancelled_ && now - finished_at_ > owner_.limits_.write_timeout) {
        ctx_->TryCancel();
        cancelled_ = true;
      }
      return;
    }
    if (ctx_->IsCancelled()) {
      finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"), now);
      return;
    }
    if (in_flight_) {
      if (owner_.mirror_.events_after(version_, 0).resync) {
        finish(too_far_behind(), now);
      } else if (now - write_started_ > owner_.limits_.write_timeout) {
        finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            "the client took no message for " +
                                std::to_string(owner_.limits_.write_timeout.count()) +
                                " ms (control.stream_write_timeout_ms): watch again (it starts "
                                "with a RESYNC)"),
               now);
      }
      return;
    }
    if (!next_message(now)) return;
    in_flight_ = true;
    write_started_ = now;
    StartWrite(&message_);
  }

  // Every call is finished exactly once, even a cancelled one.
  void finish(const grpc::Status& status, Clock::time_point now) {
    if (finished_) return;
    finished_ = true;
    finished_at_ = now;
    Finish(status);
  }

  void OnWriteDone(bool ok) override {
    {
      std::lock_guard lock(owner_.mu_);
      in_flight_ = false;
      if (!ok) finish(grpc::Status(grpc::StatusCode::CANCELLED, "the stream broke"), Clock::now());
    }
    owner_.kick();
  }

  // May run inside TryCancel, under owner_.mu_: the pump finishes the call.
  void OnCancel() override { owner_.kick(); }

  void OnDone() override {
    {
      std::lock_guard lock(owner_.mu_);
      owner_.watches_.erase(this);
    }
    delete this;
  }

 private:
  grpc::Status too_far_behind() const {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "this watch fell more than " + std::to_string(owner_.limits_.history) +
                            " node changes behind (control.watch_history): its client reads too "
                            "slowly; watch again (it starts with a RESYNC)");
  }

  // Fills message_ with what the client gets next; false when there is
  // nothing to send (or the watch was just ended).
  bool next_message(Clock::time_point now) {
    message_.Clear();
    if (in_snapshot_) {
      if (snapshot_next_ < snapshot_.size()) {
        const NodeRecord& r = snapshot_[snapshot_next_++];
        message_.set_type(v1::NodeEvent::ADDED);
        node_to_proto(r, message_.mutable_node());
        message_.set_resource_version(std::to_string(r.resource_version));
        return true;
      }
      message_.set_type(v1::NodeEvent::BOOKMARK);
      message_.set_resource_version(std::to_string(version_));
      in_snapshot_ = false;
      std::vector<NodeRecord>().swap(snapshot_);
      return true;
    }
    if (pending_.empty()) {
      // A watch without a version starts with every node, as one too old.
      NodeMirror::WatchBatch batch = !started_ && version_ == 0
                                         ? NodeMirror::WatchBatch{.resync = true, .events = {}}
                                         : owner_.mirror_.events_after(version_, kBatch);
      if (batch.resync) {
        // Only where the client asked to start may be too old: later, the
        // cursor leaves the log only when the client does not keep up.
        if (started_) {
          finish(too_far_behind(), now);
          return false;
        }
        auto [nodes, at] = owner_.mirror_.list("", SIZE_MAX);
        snapshot_ = std::move(nodes);
        snapshot_next_ = 0;
        version_ = at;
        in_snapshot_ = true;
        started_ = true;
        message_.set_type(v1::NodeEvent::RESYNC);
        return true;
      }
      started_ = true;
      if (batch.events.empty()) return false;
      pending_.assign(batch.events.begin(), batch.events.end());
      version_ = pending_.back().resource_version;
    }
    const NodeEvent& ev = pending_.front();
    message_.set_type(event_type(ev.type));
    node_to_proto(*ev.node, message_.mutable_node());
    message_.set_resource_version(std::to_string(ev.resource_version));
    pending_.pop_front();
    return true;
  }

  NodeWatches& owner_;
  grpc::CallbackServerContext* const ctx_;
  uint64_t version_;      // the last version taken from the mirror
  bool started_ = false;  // the first batch (or resync) was taken
  bool in_snapshot_ = false;
  std::vector<NodeRecord> snapshot_;  // a resync's nodes, sent one by one
  size_t snapshot_next_ = 0;
  std::deque<NodeEvent> pending_;  // taken from the mirror, not yet sent
  v1::NodeEvent message_;          // the message in flight
  bool in_flight_ = false;
  Clock::time_point write_started_;
  bool finished_ = false;
  Clock::time_point finished_at_;
  bool cancelled_ = false;
};

NodeWatches::NodeWatches(NodeMirror& mirror, const WatchLimits& limits)
    : mirror_(mirror), limits_(limits) {
  mirror_.set_event_hook([this] { kick(); });
  thread_ = std::thread([this] { run(); });
}

NodeWatches::~NodeWatches() {
  stop();
  mirror_.set_event_hook({});
}

grpc::ServerWriteReactor<v1::NodeEvent>* NodeWatches::open(grpc::CallbackServerContext* ctx,
                                                           const v1::WatchNodesRequest& request) {
  auto from = parse_resource_version(request.resource_version(), "resource_version");
  auto* watch = new Watch(*this, ctx, from ? from->value_or(0) : 0);
  {
    std::lock_guard lock(mu_);
    watches_.insert(watch);
    if (!from) {
      watch->finish(to_grpc(from.status()), Clock::now());
    } else if (stopping_) {
      watch->finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "tartand is shutting down"),
                    Clock::now());
    }
  }
  kick();
  return watch;
}

void NodeWatches::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (Watch* w : watches_) {
      w->finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "tartand is shutting down"),
                Clock::now());
    }
  }
  {
    std::lock_guard lock(wake_mu_);
    quit_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t NodeWatches::open_count() const {
  std::lock_guard lock(mu_);
  return watches_.size();
}

void NodeWatches::kick() {
  {
    std::lock_guard lock(wake_mu_);
    kicked_ = true;
  }
  wake_.notify_one();
}

void NodeWatches::run() {
  std::unique_lock wake(wake_mu_);
  while (!quit_) {
    kicked_ = false;
    wake.unlock();
    {
      std::lock_guard lock(mu_);
      const auto now = Clock::now();
      for (Watch* w : watches_) w->pump(now);
    }
    wake.lock();
    wake_.wait_for(wake, kTick, [this] { return kicked_ || quit_; });
  }
}

}  // namespace tartan
