// What the API server double stores: Nodes (cluster-scoped) and Pods
// (namespaced), one resourceVersion counter for both as etcd's revision is,
// and the history of Node changes that watches and continue tokens are
// served from. Not thread-safe: the server holds its lock around every call.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/kube/selectors.h"
#include "tests/support/kube/status.h"

namespace tartan::testing::kube {

// One change of a Node, as the watch cache keeps it: the object after the
// change (the last state, carrying the deletion's resourceVersion, for
// DELETED) and before it (null for ADDED).
struct NodeEvent {
  std::string type;  // ADDED, MODIFIED, DELETED
  uint64_t resource_version = 0;
  Json object;
  Json previous;
};

enum class PatchType { kMerge, kStrategic, kJson };

// Which part of a Node an update may change (pkg/registry/core/node/strategy.go):
// the main resource keeps the old status, /status keeps the old spec.
// kWhole, both, is the test-side API's replace.
enum class Subresource { kMain, kStatus, kWhole };

struct Write {
  Subresource part = Subresource::kMain;
  // Validated as an API request is; the test-side API writes what it is
  // given, as a controller writing to etcd directly could.
  bool checked = true;
};

struct ListRequest {
  std::string resource_version;        // "", "0" or a number
  std::string resource_version_match;  // "", "Exact", "NotOlderThan"
  int64_t limit = 0;
  std::string continue_token;
  Selector selector;
  // A LIST at resourceVersion "0" is served from kube-apiserver's watch
  // cache, which (up to 1.32) ignores `limit` and returns everything
  // (kubernetes#70735); true pages it as a LIST from etcd does.
  bool paginate_any_version = false;
};

class NodeStore {
 public:
  explicit NodeStore(size_t history_window) : window_(history_window) {}

  uint64_t resource_version() const { return rv_; }
  // Watches and continue tokens from any version >= this are served.
  uint64_t oldest_servable() const { return compacted_; }

  // Writes (a create is checked like `Write::checked`). On success the change, if any, is appended
  // to the history and returned in `event` (a write that changes nothing makes no event and keeps
  // the version, as kube-apiserver's no-op updates do).
  Outcome create(Json node, bool checked, std::optional<NodeEvent>& event);
  Outcome update(const std::string& name, Json node, const Write& write,
                 std::optional<NodeEvent>& event);
  Outcome patch(const std::string& name, PatchType type, const std::string& patch,
                const Write& write, std::optional<NodeEvent>& event);
  // `options`: a DeleteOptions body (preconditions are honoured), or null.
  Outcome remove(const std::string& name, const Json& options, std::optional<NodeEvent>& event);

  Outcome get(const std::string& name) const;
  Outcome list(const ListRequest& request) const;

  // Node events after `since`, nullopt when some are no longer kept.
  std::optional<std::vector<NodeEvent>> events_since(uint64_t since) const;
  const std::map<std::string, Json>& nodes() const { return nodes_; }

  void set_history_window(size_t events);
  // Forgets all history: only the current version can be watched from.
  void compact();

  Outcome create_pod(Json pod);
  Outcome get_pod(const std::string& namespace_name, const std::string& name) const;

 private:
  Outcome commit(const std::string& name, const Json& old, Json changed, const Write& write,
                 std::optional<NodeEvent>& event);
  void record(NodeEvent event);
  void trim_history();
  // The Nodes as they were at `rv` (>= oldest_servable()).
  std::map<std::string, Json> nodes_at(uint64_t rv) const;
  Outcome page(const std::map<std::string, Json>& nodes, uint64_t rv, const std::string& start,
               const ListRequest& request, bool paginate) const;
  // A page of the Nodes as they were at `rv` (>= oldest_servable()).
  Outcome page_at(uint64_t rv, const std::string& start, const ListRequest& request) const;

  std::map<std::string, Json> nodes_;  // by name: etcd's key order
  std::map<std::pair<std::string, std::string>, Json> pods_;
  uint64_t rv_ = 1;
  std::deque<NodeEvent> history_;
  size_t window_;
  uint64_t compacted_ = 0;
};

}  // namespace tartan::testing::kube
