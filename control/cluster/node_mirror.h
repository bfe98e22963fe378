// The node mirror: every Node tartan knows, from any source (gRPC push,
// etcd, Kubernetes), with the route its flannel annotations give. A change
// is validated, applied to the engine as one delta, and only then recorded;
// watchers see it as an event with a resource version.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "control/cluster/flannel_annotations.h"
#include "control/cluster/node_spec.h"
#include "control/cluster/pod_cidrs.h"
#include "control/cluster/prefix_index.h"
#include "control/cluster/wireguard_mode.h"
#include "engine/engine.h"
#include "engine/status.h"

namespace tartan {

struct NodeStatusView {
  bool routed = false;  // the IPv4 route
  // Why not routed (with IPv4 off: no reason); on a routed node, what its
  // source says is wrong with it (NodeMirror::note), e.g. a newer record
  // that could not be read.
  std::string reason;
  std::optional<Ipv4Prefix> route;  // the routed podCIDR
  std::optional<Ipv4Addr> public_ip;
  std::optional<MacAddr> vtep_mac;
  std::optional<WireguardKey> public_key;  // wireguard's PublicKey: the node's peer
  uint16_t wireguard_port = 0;  // wireguard's Port, where its peer listens; 0: not said (ours)
  std::string backend;
  // Dual stack: the IPv6 route, derived and programmed on its own (a
  // change of either family's annotations is applied by itself). With
  // IPv6 off: not routed and no reason.
  bool routed_v6 = false;
  std::string reason_v6;  // why not routed for IPv6
  std::optional<Ipv6Prefix> route_v6;
  std::optional<Ipv6Addr> public_ipv6;
  std::optional<MacAddr> vtep_mac_v6;
  uint16_t wireguard_port_v6 = 0;             // backend-v6-data's Port
  std::optional<WireguardKey> public_key_v6;  // backend-v6-data's: the flannel-wg-v6 peer
  // wireguard in flannel's one-device modes: whether the node's one peer,
  // which both families' routes go to, is at its public IPv6 (else its
  // public IPv4); nullopt in Mode separate, in a single-stack cluster and
  // for other backends.
  std::optional<bool> one_peer_over_ipv6;
  bool routed_any() const { return routed || routed_v6; }
};

// A node's wireguard peers as flanneld sets them up: in Mode separate one
// on each family's device its routes use (flannel-wg, flannel-wg-v6); in
// the one-device modes one on flannel-wg, at the address of the family
// both families' routes go over.
struct NodeWireguardPeer {
  IpAddr public_ip;
  WireguardKey public_key;
  uint16_t port = 0;       // its Port; 0: not said (ours)
  bool v6_device = false;  // flannel-wg-v6's
};
std::vector<NodeWireguardPeer> wireguard_peers_of(const NodeStatusView& s);

struct NodeRecord {
  NodeSpec spec;
  uint64_t resource_version = 0;
  NodeStatusView status;
  std::optional<Ipv4Prefix> pod_cidr;     // the IPv4 podCIDR of spec, parsed
  std::optional<Ipv6Prefix> pod_cidr_v6;  // the IPv6 one (with IPv6 on)
  // node_bytes(spec), counted once: the mirror and its event log add and
  // take it off for every record and event.
  size_t bytes = 0;
};

// A record never changes once in the mirror (a change is a new record):
// the mirror, its event log and callers share it instead of copying it.
using NodeRecordRef = std::shared_ptr<const NodeRecord>;

struct NodeEvent {
  enum class Type { kAdded, kModified, kDeleted };
  Type type = Type::kAdded;
  NodeRecordRef node;
  uint64_t resource_version = 0;
};

struct MirrorSettings {
  AnnotationKeys keys;
  std::string own_node_name;  // nodes of this name are us: mirrored, never routed
  Ipv4Prefix network;         // podCIDRs must lie inside it
  bool enable_ipv4 = true;    // network.EnableIPv4: IPv4 routes
  // network.IPv6Network when EnableIPv6: IPv6 routes, podCIDRs inside it.
  std::optional<Ipv6Prefix> ipv6_network;
  BackendType backend = BackendType::kVxlan;
  uint32_t vni = 1;
  WireguardModeSettings wireguard;  // the wireguard backend's Mode
  size_t event_log_size = 16384;    // events kept for watchers; older ones mean a resync
  // ... and at most this many bytes of them (a node is kept whole in each
  // of its events): older ones go first.
  size_t event_log_bytes = 64u << 20;
};

// Kubernetes object names: lowercase DNS-1123 subdomains. The API and the
// config's node.name both check names with this.
bool valid_node_name(const std::string& name);

// Kubernetes' own bound on one object's annotations (apimachinery's
// TotalAnnotationSizeLimitB): what one node may cost the mirror.
inline constexpr size_t kMaxAnnotationBytes = 256 * 1024;

// What a node would have cost in memory if kept (its strings and the
// containers' own bookkeeping, roughly): the unit of the mirror's bounds.
size_t node_bytes(const NodeSpec& node);

class NodeMirror {
 public:
  NodeMirror(const MirrorSettings& settings, Engine& engine)
      : settings_(settings), engine_(engine) {}

  // Every change is logged with `cause`, what made it ("etcd lease ...
  // put", "applied through the API"): one info line per node (podCIDR,
  // route), or, for a change of more than 16 nodes, one info line with the
  // counts and each node's line at debug level.
  //
  // Create or update. `expected_version`: the node must exist at it. A node
  // that is not valid (bad annotations, podCIDR outside the network or
  // overlapping another node's, annotations over kMaxAnnotationBytes) is
  // refused, naming the field.
  Result<NodeRecord> apply(const NodeSpec& node,
                           std::optional<uint64_t> expected_version = std::nullopt,
                           const std::string& cause = "applied");
  // For sources that mirror a store of record (etcd, the Kubernetes API):
  // the node exists there whatever we think of it, so one that is not
  // valid is kept, not routed, with the reason (and without its
  // annotations when they are over the bound). Only a bad name or an
  // engine failure is an error.
  // `unroutable`: the source's own reason the node cannot be routed (its
  // record in the store cannot be read); the node is kept, not routed,
  // saying so.
  Result<NodeRecord> keep(const NodeSpec& node, const std::string& cause = "kept",
                          const std::optional<std::string>& unroutable = std::nullopt);
  // A routed node keeps its spec and routes, and `nodes list` shows `note`
  // as the reason of each family it is routed for, until the node changes
  // again (a new version, logged with `cause`). NOT_FOUND for an unknown
  // node.
  Result<NodeRecord> note(const std::string& name, const std::string& note,
                          const std::string& cause);
  // Returns the version of the deletion.
  Result<uint64_t> remove(const std::string& name,
                          std::optional<uint64_t> expected_version = std::nullopt,
                          const std::string& cause = "removed");
  // Many changes at once, all or nothing: the removals first, then the
  // upserts in order, each checked as remove() and apply() check one
  // (against the mirror as the changes before it leave it; a name may
  // appear once), and their routes programmed as ONE engine delta. Returns
  // the records as applied, upserts then removals (a removal's record is
  // the node as it was, at the version of its deletion). On error nothing
  // changed, and `failed`, when given, is the index of the change to blame
  // in that same order (SIZE_MAX when no one change is). The mirror keeps
  // the upserts' specs (moved, not copied).
  struct Upsert {
    NodeSpec node;
    std::optional<uint64_t> expected_version;
  };
  struct Removal {
    std::string name;
    std::optional<uint64_t> expected_version;
  };
  struct Applied {
    std::vector<NodeRecordRef> records;
    uint64_t resource_version = 0;  // the mirror's, right after the change
  };
  Result<Applied> apply_all(std::vector<Upsert> upserts, const std::vector<Removal>& removals,
                            const std::string& cause, size_t* failed = nullptr);
  // Replaces every node with `nodes` (for sources that re-list): what is not
  // in `nodes` is removed, the rest kept as keep() keeps them, with the
  // reasons in `unroutable` (by node name), in one engine delta. When the
  // engine refuses that delta, the nodes are applied one at a time, so that
  // only the ones it refuses stay unrouted, saying why. Engine failures are named.
  Status replace_all(const std::vector<NodeSpec>& nodes, const std::string& cause = "re-listed",
                     const std::map<std::string, std::string>& unroutable = {});

  std::optional<NodeRecord> get(const std::string& name) const;
  // Nodes after `after_name` in name order, at most `limit`; and the
  // current version.
  std::pair<std::vector<NodeRecord>, uint64_t> list(const std::string& after_name,
                                                    size_t limit) const;
  uint64_t resource_version() const;
  // When the mirror last changed or was last re-listed (replace_all), in
  // Unix seconds; 0 before either: how stale the cluster view may be.
  double last_update_seconds() const;
  // Bytes held by the nodes and by the event log (node_bytes of each).
  struct Footprint {
    size_t nodes = 0, node_bytes = 0, events = 0, event_bytes = 0;
  };
  Footprint footprint() const;

  // The first `max_events` events after `version`. `resync` is set when
  // the log no longer holds them all (or `version` is in the future): the
  // caller must start over from list().
  struct WatchBatch {
    bool resync = false;
    std::vector<NodeEvent> events;
  };
  WatchBatch events_after(uint64_t version, size_t max_events = SIZE_MAX) const;
  // Called once after each change that recorded events (one call of
  // apply_all or replace_all is one change), under the mirror's lock: it
  // must not call back into the mirror (watchers use it to wake up).
  void set_event_hook(std::function<void()> hook);

  // Our own podCIDRs, checked against every node's. The IPv4 one goes to
  // the engine; the IPv6 one is only checked and kept until the engine
  // takes a local IPv6 subnet (issue 14's engine side).
  Status set_local_subnets(const PodCidrs& subnets);
  // Which node a routed podCIDR belongs to.
  std::optional<std::string> node_of(const Ipv4Prefix& prefix) const;
  std::optional<std::string> node_of(const Ipv6Prefix& prefix) const;
  // Nodes routed for either family.
  std::vector<NodeRecord> routed() const;

  // Called with each delta once the engine has it, under the mirror's
  // lock: keep it short. The host's routes into the overlay tap follow the
  // engine's this way, for both families.
  using RouteHook = std::function<void(const TableDelta& applied)>;
  void set_route_hook(RouteHook hook);

 private:
  enum class Invalid { kRefuse, kKeepUnrouted };
  // One change of a batch: an upsert of `node`, or (node null) the removal
  // of `name`.
  struct Change {
    const NodeSpec* node = nullptr;
    std::string name;
    std::optional<uint64_t> expected_version;
    const std::string* unroutable = nullptr;  // the source's reason (keep())
    NodeSpec* take = nullptr;                 // `node` itself, when the mirror may move from it
  };
  // A change checked and ready to commit.
  struct Staged {
    NodeRecordRef before;               // in nodes_; null for a new node
    std::shared_ptr<NodeRecord> after;  // null: removed; made in place, kept as is
    bool unchanged = false;             // nothing to do: `before` stays
  };
  // Index entries a batch replaced while it was checked, oldest first.
  struct IndexUndo {
    PrefixIndex<Ipv4Prefix>::Undo v4;
    PrefixIndex<Ipv6Prefix>::Undo v6;
  };

  NodeStatusView derive(const NodeSpec& spec, const FlannelNodeInfo& info) const;
  struct Family;
  // Why one family of a node cannot be routed (nullopt: it can).
  std::optional<std::string> unrouted(const NodeSpec& spec, const FlannelNodeInfo& info,
                                      const Family& family) const;
  RouteSpec route_of(const NodeStatusView& status) const;
  Route6Spec route6_of(const NodeStatusView& status) const;
  // Adds what moving a node from `before` to `after` takes to `delta`.
  void route_change(const NodeRecord* before, const NodeStatusView& after, TableDelta& delta) const;
  // Applies `delta` to the engine and tells the route hook.
  Status program(TableDelta& delta);
  // How one change records its events.
  struct Batch {
    const std::string& cause;
    uint32_t log_level;      // of each node's line
    uint64_t first_version;  // the mirror's version before the change
    // The first this many events are not kept: the log would drop them
    // again before the change ends (it holds settings_.event_log_size).
    size_t events_not_kept;
  };
  void log_change(NodeEvent::Type type, const NodeRecord& node, const std::string& cause,
                  uint32_t level) const;
  void log_summary(const std::vector<Staged>& staged, size_t events,
                   const std::string& cause) const;
  // Appends an event at version_ to the log.
  void record(NodeEvent::Type type, NodeRecordRef node);
  // The one path every change takes (see apply_all). `out`: the records as
  // applied, in the order of `changes`.
  Status apply_locked(const std::vector<Change>& changes, Invalid invalid, const std::string& cause,
                      std::vector<NodeRecordRef>* out, size_t* failed);
  Result<Staged> stage(const Change& change, Invalid invalid, const std::string& cause,
                       IndexUndo& undo);
  // Why `node` cannot be mirrored as it is (nullopt: it can).
  std::optional<Status> invalidity(const NodeSpec& node, const Result<FlannelNodeInfo>& info) const;
  // Adds (or takes out) a record's podCIDRs in the indexes.
  void index_cidrs(const NodeRecord& rec, bool add, IndexUndo& undo);
  void undo_index(const IndexUndo& undo);
  // Commits a checked change's nodes as one batch: versions, logs, the
  // event log, watchers woken once.
  void publish(std::vector<Staged>& staged, const std::string& cause,
               std::vector<NodeRecordRef>* out);
  void commit(Staged& staged, const Batch& batch, std::vector<NodeRecordRef>* out);
  Result<NodeRecord> apply_one(Change change, Invalid invalid, const std::string& cause);

  const MirrorSettings settings_;
  Engine& engine_;
  mutable std::mutex mu_;
  std::map<std::string, NodeRecordRef> nodes_;
  PrefixIndex<Ipv4Prefix> cidr_index_;
  PrefixIndex<Ipv6Prefix> cidr6_index_;
  std::map<Ipv4Prefix, std::string> routed_;   // route prefix -> node
  std::map<Ipv6Prefix, std::string> routed6_;  // IPv6 route prefix -> node
  std::optional<Ipv4Prefix> local_subnet_;
  std::optional<Ipv6Prefix> local_subnet_v6_;
  uint64_t version_ = 0;
  double last_update_seconds_ = 0;
  std::deque<NodeEvent> log_;
  size_t log_bytes_ = 0;
  size_t node_bytes_ = 0;
  std::function<void()> event_hook_;
  RouteHook route_hook_;
};

}  // namespace tartan
