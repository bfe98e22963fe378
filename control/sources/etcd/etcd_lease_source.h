// lease.source etcd: flanneld's etcd subnet manager, shared with flanneld
// nodes on the same prefix. It takes this node's subnets (one per family the
// network enables, in one key) under `<prefix>/subnets/` (flannel's key,
// value and allocation rules), renews them before their etcd lease expires,
// and mirrors every other node's lease, with the families it has, into the
// node mirror: a full list, then a watch from the list's revision.
//
// One thread does all of it (etcd calls, mirror and local lease changes), so
// nothing it decides races with anything else it decides; the watch stream
// is read on its own thread and handed over. When etcd cannot be reached,
// the tables stay as they are (the data plane keeps forwarding), readiness
// condition "etcd" says why, and the thread retries with capped exponential
// back-off; a watch that comes back resumes from the last revision seen, and
// one whose revision was compacted (or a store that went back in time)
// re-lists and reconciles.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "control/cluster/flannel_annotations.h"
#include "control/cluster/local_lease.h"
#include "control/cluster/node_mirror.h"
#include "control/cluster/readiness.h"
#include "control/config/config.h"
#include "control/sources/etcd/etcd_allocator.h"
#include "control/sources/etcd/etcd_client.h"
#include "control/sources/etcd/etcd_lease_json.h"
#include "engine/status.h"

namespace tartan {

// What the source has done, for tests, benchmarks and logs.
struct EtcdSourceStatus {
  bool connected = false;
  std::string endpoint;
  PodCidrs subnets;           // ours, while we hold them
  int64_t lease_id = 0;       // the etcd lease our key rides on
  int64_t next_revision = 0;  // where the watch (re)starts
  uint64_t syncs = 0;         // full lists reconciled into the mirror
  uint64_t watches = 0;       // watch streams opened
  uint64_t events = 0;        // watch events applied
  uint64_t compactions = 0;   // watches whose revision was compacted away
  uint64_t acquisitions = 0;  // subnets taken (first time or again)
  uint64_t renewals = 0;
  uint64_t conflicts = 0;  // subnets lost to a node that took them first
  uint64_t own_lost = 0;   // our key deleted or overwritten from outside
  uint64_t failures = 0;   // etcd calls or streams that failed
  std::string last_error;
};

class EtcdLeaseSource {
 public:
  // Test hooks: called on the source's thread.
  struct Hooks {
    std::function<void(const std::string& key)> before_create;  // between choice and Txn
  };

  EtcdLeaseSource(std::unique_ptr<EtcdClient> client, const Config& config, NodeMirror& mirror,
                  LocalLease& lease, Readiness& readiness, const MacAddr& vtep_mac,
                  Hooks hooks = {});
  ~EtcdLeaseSource();
  EtcdLeaseSource(const EtcdLeaseSource&) = delete;
  EtcdLeaseSource& operator=(const EtcdLeaseSource&) = delete;

  // Lists the subnets, takes ours and fills the mirror, waiting up to
  // lease.etcd.startup_timeout_s for etcd; then keeps all of it current on
  // the source's thread. Fails (and starts nothing) when no subnet is free.
  Status start();
  // Stops the thread and the watch; the tables stay. Idempotent.
  void stop();

  EtcdSourceStatus status() const;
  // The value our key holds (flanneld's LeaseAttrs JSON).
  const std::string& lease_value() const { return value_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct OwnLease {
    PodCidrs subnets;
    std::string key;
    int64_t lease_id = 0;
    Clock::time_point renew_at;
  };
  struct Inbox {
    uint64_t generation = 0;
    std::optional<EtcdWatchResponse> response;  // else the stream ended with `end`
    Status end;
  };
  // A key under the prefix that names subnets, its value decoded once.
  struct ListedLease {
    EtcdKeyValue kv;
    PodCidrs subnets;
    Result<FlannelLeaseAttrs> attrs;
  };
  using Listed = std::vector<ListedLease>;

  void run();
  Status sync();
  Result<bool> settle_own(const Listed& listed);
  Result<bool> take_subnet(const Listed& listed);
  // The key, listed after ours was written, that overlaps `subnets` in
  // either family and was created before `key` (ties: the lower key);
  // nullopt when there is none.
  Result<std::optional<std::string>> taken_before(const std::string& key, const PodCidrs& subnets);
  Status reconcile(const Listed& listed);
  void handle(const Inbox& item);
  void apply_event(const EtcdWatchEvent& event);
  void lose_own(const std::string& why);
  Status renew();
  void open_watch();
  void drop_watch();
  void fail(const Status& s);
  void set_connected(const std::string& message);
  // Waits until `deadline`, or until the watch delivers something when
  // `wake_on_inbox`; false once stopping.
  bool wait_until(Clock::time_point deadline, bool wake_on_inbox);
  std::string key_of(const PodCidrs& subnets) const;
  Result<PodCidrs> subnets_of(const std::string& key) const;
  // flanneld's "Ignoring bad subnet node", naming the key and why.
  static void ignore_bad_key(const std::string& key, const Status& why);
  // Another node's lease as the mirror keeps it: routable, or not, with
  // the reason (its value cannot be read, or it is a stale lease of ours).
  struct LeaseNode {
    NodeSpec spec;
    std::optional<std::string> unroutable;
    bool unreadable = false;  // the value is not flannel's LeaseAttrs
  };
  LeaseNode node_of(const ListedLease& lease) const;
  // flanneld ignores a lease value it cannot read, so the route of the
  // last good one stays: when `name` is routed, says so on it (log line,
  // reason in `nodes list`) and returns true.
  bool keep_last_good(const std::string& name, const std::string& why);
  // readiness "tables_programmed": the mirror holds etcd as of `revision`.
  void programmed(size_t leases, int64_t revision);
  template <class F>
  void update_status(F&& f) {
    std::lock_guard lock(status_mu_);
    f(status_);
  }

  std::unique_ptr<EtcdClient> client_;
  const Config& config_;
  const EtcdConfig& etcd_;
  NodeMirror& mirror_;
  LocalLease& lease_;
  Readiness& readiness_;
  const Hooks hooks_;
  AnnotationKeys keys_;
  const std::string subnets_prefix_;  // "<prefix>/subnets/"
  const LeaseHolder us_;
  // How flanneld nodes find our lease: "public IP 192.0.2.1", or with IPv4
  // off "PublicIPv6 2001:db8::1".
  const std::string us_named_;
  const std::string value_;  // our LeaseAttrs JSON
  std::mt19937_64 rng_;

  // The source's thread only (and start(), before it runs).
  std::optional<OwnLease> own_;
  PodCidrs previous_;  // the subnets to ask for again
  bool synced_ = false;
  int64_t next_revision_ = 0;
  uint64_t cluster_id_ = 0;
  std::unique_ptr<EtcdWatch> watch_;
  uint64_t watch_generation_ = 0;

  std::mutex inbox_mu_;
  std::condition_variable inbox_cv_;
  std::deque<Inbox> inbox_;
  bool stopping_ = false;
  std::thread thread_;

  mutable std::mutex status_mu_;
  EtcdSourceStatus status_;
};

}  // namespace tartan
