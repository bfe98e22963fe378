#include "control/cluster/node_update_queue.h"

#include "control/cluster/node_mirror.h"

namespace tartan {

void NodeUpdateQueue::push(const std::string& name, std::optional<NodeSpec> state) {
  {
    std::lock_guard lock(mu_);
    auto [it, fresh] = latest_.insert_or_assign(name, std::move(state));
    if (fresh) order_.push_back(it->first);
  }
  wake_.notify_one();
}

void NodeUpdateQueue::upsert(NodeSpec node) {
  const std::string name = node.name;
  push(name, std::move(node));
}

void NodeUpdateQueue::remove(const std::string& name) {
  push(name, std::nullopt);
}

void NodeUpdateQueue::snapshot(std::vector<NodeSpec> nodes) {
  {
    std::lock_guard lock(mu_);
    snapshot_ = std::move(nodes);
    latest_.clear();
    order_.clear();
  }
  wake_.notify_one();
}

void NodeUpdateQueue::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  wake_.notify_all();
}

NodeUpdateQueue::Batch NodeUpdateQueue::take(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  wake_.wait_for(lock, timeout, [&] { return closed_ || snapshot_ || !order_.empty(); });
  Batch b;
  b.closed = closed_;
  b.snapshot = std::move(snapshot_);
  snapshot_.reset();
  b.changes.reserve(order_.size());
  for (const std::string& name : order_) b.changes.emplace_back(name, std::move(latest_.at(name)));
  latest_.clear();
  order_.clear();
  return b;
}

std::string apply_batch(NodeMirror& mirror, const NodeUpdateQueue::Batch& batch) {
  std::string failures;
  const auto failed = [&](const std::string& what) {
    failures += (failures.empty() ? "" : "\n") + what;
  };
  if (batch.snapshot) {
    if (Status s = mirror.replace_all(*batch.snapshot, "Kubernetes Nodes listed"); !s.ok())
      failed(s.message());
  }
  for (const auto& [name, state] : batch.changes) {
    if (state) {
      if (auto r = mirror.keep(*state, "Kubernetes Node changed"); !r)
        failed("node '" + name + "': " + r.status().message());
    } else if (auto r = mirror.remove(name, std::nullopt, "Kubernetes Node deleted");
               !r && r.status().code() != ErrorCode::kNotFound) {
      failed(r.status().message());
    }
  }
  return failures;
}

}  // namespace tartan
