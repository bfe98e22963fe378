// Node changes on their way from a source into the mirror, coalesced per
// node: the producer (a watch) never blocks and never drops, and the
// consumer applies only the last state of each node however many changes
// came in between. flannel's bounded event channel is what deadlocked its
// sync in large clusters (flannel#2252); here memory is bounded by the
// number of nodes instead.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "control/cluster/node_spec.h"

namespace tartan {

class NodeMirror;

class NodeUpdateQueue {
 public:
  void upsert(NodeSpec node);
  void remove(const std::string& name);
  // A complete listing (after a LIST): supersedes everything queued before
  // it; the consumer reconciles the mirror to exactly these nodes.
  void snapshot(std::vector<NodeSpec> nodes);
  // Wakes the consumer for good.
  void close();

  struct Batch {
    std::optional<std::vector<NodeSpec>> snapshot;  // applied first, if any
    // Then each node's last state (nullopt: deleted), in the order of the
    // node's first change since the previous batch.
    std::vector<std::pair<std::string, std::optional<NodeSpec>>> changes;
    bool closed = false;
    bool empty() const { return !snapshot && changes.empty(); }
  };
  // Waits up to `timeout` for something and takes everything queued.
  Batch take(std::chrono::milliseconds timeout);

 private:
  void push(const std::string& name, std::optional<NodeSpec> state);

  std::mutex mu_;
  std::condition_variable wake_;
  std::optional<std::vector<NodeSpec>> snapshot_;
  std::map<std::string, std::optional<NodeSpec>> latest_;
  std::vector<std::string> order_;
  bool closed_ = false;
};

// Applies a batch to the mirror as a store of record (NodeMirror::keep).
// Returns what went wrong, one line per node ("" when nothing did).
std::string apply_batch(NodeMirror& mirror, const NodeUpdateQueue::Batch& batch);

}  // namespace tartan
