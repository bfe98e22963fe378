#include "control/sources/etcd/etcd_lease_source.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

#include "control/host/subnet_file.h"
#include "control/sources/backoff.h"
#include "control/sources/etcd/etcd_lease_json.h"
#include "engine/log.h"

namespace tartan {
namespace {

constexpr int kCreateRetries = 10;  // flannel's raceRetries

// Who we are in etcd: our LeaseAttrs' PublicIP and PublicIPv6.
LeaseHolder our_holder(const Config& config) {
  const auto ipv6 = own_public_ipv6(config);
  return {own_public_ip(config).value_or(Ipv4Addr{}),
          ipv6 ? std::optional(ipv6->public_ip) : std::nullopt};
}

// What same_holder compares: PublicIP, or PublicIPv6 with IPv4 off.
std::string holder_name(const NetworkConfig& net, const LeaseHolder& us) {
  return net.enable_ipv4 ? "public IP " + us.public_ip.str()
                         : "PublicIPv6 " + us.public_ipv6.value_or(Ipv6Addr{}).str();
}

std::string hex(int64_t id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(id));
  return buf;
}

}  // namespace

EtcdLeaseSource::EtcdLeaseSource(std::unique_ptr<EtcdClient> client, const Config& config,
                                 NodeMirror& mirror, LocalLease& lease, Readiness& readiness,
                                 const MacAddr& vtep_mac, Hooks hooks)
    : client_(std::move(client)),
      config_(config),
      etcd_(config.lease.etcd),
      mirror_(mirror),
      lease_(lease),
      readiness_(readiness),
      hooks_(std::move(hooks)),
      subnets_prefix_(config.lease.etcd.prefix + "/subnets/"),
      us_(our_holder(config)),
      us_named_(holder_name(config.network, us_)),
      value_(own_lease_attrs(config, vtep_mac)),
      rng_(std::random_device{}()) {
  // The prefix was checked when the config was loaded.
  keys_ = annotation_keys(config.node.annotation_prefix).value();
}

EtcdLeaseSource::~EtcdLeaseSource() {
  stop();
}

std::string EtcdLeaseSource::key_of(const PodCidrs& subnets) const {
  return subnets_prefix_ + subnet_key_name(subnets);
}

Result<PodCidrs> EtcdLeaseSource::subnets_of(const std::string& key) const {
  if (key.rfind(subnets_prefix_, 0) != 0) return Status::invalid("not under " + subnets_prefix_);
  return parse_subnet_key_name(std::string_view(key).substr(subnets_prefix_.size()));
}

void EtcdLeaseSource::ignore_bad_key(const std::string& key, const Status& why) {
  TARTAN_LOG(WARNING, kControl, "etcd: ignoring bad subnet key %s: %s", key.c_str(),
             why.message().c_str());
}

EtcdSourceStatus EtcdLeaseSource::status() const {
  std::lock_guard lock(status_mu_);
  return status_;
}

Status EtcdLeaseSource::start() {
  readiness_.set("etcd", false, "connecting to " + client_->endpoint());
  // The subnets of the last run, of the families the network enables now
  // (an IPv4 subnet stays ours when IPv6 is turned off).
  previous_ = read_previous_subnets(config_.subnet_file);
  if (!config_.network.enable_ipv4) previous_.v4.reset();
  if (!config_.network.enable_ipv6) previous_.v6.reset();
  const auto deadline = Clock::now() + std::chrono::seconds(etcd_.startup_timeout_s);
  Backoff backoff{std::chrono::milliseconds(etcd_.retry_initial_ms),
                  std::chrono::milliseconds(etcd_.retry_max_ms)};
  while (true) {
    const Status s = sync();
    if (s.ok()) break;
    // Only an unreachable etcd is worth waiting for; "out of subnets" and
    // the like are for the operator.
    if (s.code() != ErrorCode::kUnavailable || Clock::now() >= deadline) return s;
    fail(s);
    std::this_thread::sleep_for(backoff.next());
  }
  thread_ = std::thread([this] { run(); });
  return {};
}

void EtcdLeaseSource::stop() {
  {
    std::lock_guard lock(inbox_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  inbox_cv_.notify_all();
  client_->shutdown();  // a call in flight returns now
  if (thread_.joinable()) thread_.join();
  drop_watch();
  readiness_.set("etcd", false, "stopped");
}

bool EtcdLeaseSource::wait_until(Clock::time_point deadline, bool wake_on_inbox) {
  std::unique_lock lock(inbox_mu_);
  inbox_cv_.wait_until(lock, deadline,
                       [&] { return stopping_ || (wake_on_inbox && !inbox_.empty()); });
  return !stopping_;
}

void EtcdLeaseSource::run() {
  Backoff backoff{std::chrono::milliseconds(etcd_.retry_initial_ms),
                  std::chrono::milliseconds(etcd_.retry_max_ms)};
  while (true) {
    {
      std::lock_guard lock(inbox_mu_);
      if (stopping_) break;
    }
    if (!synced_) {
      if (Status s = sync(); !s.ok()) {
        fail(s);
        if (!wait_until(Clock::now() + backoff.next(), false)) break;
        continue;
      }
      backoff.reset();
    }
    if (!watch_) open_watch();

    const auto deadline = own_ ? own_->renew_at : Clock::now() + std::chrono::hours(1);
    if (!wait_until(deadline, true)) break;
    std::deque<Inbox> items;
    {
      std::lock_guard lock(inbox_mu_);
      items.swap(inbox_);
    }
    bool watch_lost = false;
    for (const Inbox& item : items) {
      if (item.generation != watch_generation_ || !watch_) continue;  // an older stream's
      if (item.response) {
        handle(item);
        if (item.response->created) backoff.reset();
      } else {
        fail(item.end);
        watch_lost = true;
      }
      if (watch_lost || !watch_) break;
    }
    if (synced_ && own_ && Clock::now() >= own_->renew_at) {
      if (Status s = renew(); !s.ok()) {
        fail(s);
        own_->renew_at = Clock::now() + backoff.next();  // the lease has the margin to spare
      }
    }
    if (watch_lost) {
      // Resumed from next_revision_ after the back-off: nothing is missed.
      drop_watch();
      if (!wait_until(Clock::now() + backoff.next(), false)) break;
    }
  }
  drop_watch();
}

void EtcdLeaseSource::open_watch() {
  const uint64_t generation = ++watch_generation_;
  auto push = [this](Inbox item) {
    {
      std::lock_guard lock(inbox_mu_);
      inbox_.push_back(std::move(item));
    }
    inbox_cv_.notify_all();
  };
  watch_ = client_->watch_prefix(
      subnets_prefix_, next_revision_,
      [push, generation](EtcdWatchResponse r) {
        push(Inbox{generation, std::move(r), {}});
      },
      [push, generation](Status s) {
        push(Inbox{generation, std::nullopt, std::move(s)});
      });
  update_status([&](EtcdSourceStatus& st) {
    ++st.watches;
    st.next_revision = next_revision_;
  });
}

void EtcdLeaseSource::drop_watch() {
  watch_.reset();  // cancels the stream and joins its reader
}

void EtcdLeaseSource::handle(const Inbox& item) {
  const EtcdWatchResponse& r = *item.response;
  if (r.created) {
    // A store that is behind what we saw, or another cluster, was reset or
    // restored: revisions mean nothing any more.
    if ((cluster_id_ != 0 && r.cluster_id != 0 && r.cluster_id != cluster_id_) ||
        r.revision + 1 < next_revision_) {
      TARTAN_LOG(WARNING, kControl,
                 "etcd: the store at %s is at revision %lld (cluster %llx), behind revision "
                 "%lld we saw (cluster %llx): re-listing",
                 client_->endpoint().c_str(), static_cast<long long>(r.revision),
                 static_cast<unsigned long long>(r.cluster_id),
                 static_cast<long long>(next_revision_ - 1),
                 static_cast<unsigned long long>(cluster_id_));
      synced_ = false;
      drop_watch();
      return;
    }
    set_connected("watching " + subnets_prefix_ + " from revision " +
                  std::to_string(next_revision_));
  }
  if (r.canceled) {
    if (r.compact_revision > 0) {
      TARTAN_LOG(NOTICE, kControl,
                 "etcd: revision %lld is compacted (up to %lld): re-listing %s and reconciling",
                 static_cast<long long>(next_revision_), static_cast<long long>(r.compact_revision),
                 subnets_prefix_.c_str());
      update_status([](EtcdSourceStatus& st) { ++st.compactions; });
      synced_ = false;
      drop_watch();
      return;
    }
    fail(Status(ErrorCode::kUnavailable, "etcd watch canceled: " + r.cancel_reason));
    drop_watch();
    return;
  }
  for (const EtcdWatchEvent& e : r.events) {
    apply_event(e);
    next_revision_ = std::max(next_revision_, e.kv.mod_revision + 1);
    if (!synced_) {
      // Our key went: the re-list that takes a new one also covers what
      // else this response carried.
      drop_watch();
      return;
    }
  }
  if (!r.events.empty()) programmed(mirror_.footprint().nodes + 1, r.revision);
  update_status([&](EtcdSourceStatus& st) {
    st.events += r.events.size();
    st.next_revision = next_revision_;
  });
}

void EtcdLeaseSource::apply_event(const EtcdWatchEvent& e) {
  const Result<PodCidrs> subnets = subnets_of(e.kv.key);
  if (!subnets) {
    ignore_bad_key(e.kv.key, subnets.status());
    return;
  }
  if (own_ && e.kv.key == own_->key) {
    if (e.deleted)
      lose_own("was deleted");
    else if (e.kv.value != value_)
      lose_own("was overwritten with " + e.kv.value);
    return;
  }
  const std::string name = lease_node_name(*subnets);
  const std::string cause = "etcd lease " + e.kv.key + (e.deleted ? " expired or deleted" : " put");
  if (e.deleted) {
    if (auto r = mirror_.remove(name, std::nullopt, cause);
        !r && r.status().code() != ErrorCode::kNotFound) {
      TARTAN_LOG(WARNING, kControl, "etcd: %s: %s", e.kv.key.c_str(), r.status().message().c_str());
    }
    return;
  }
  const LeaseNode node = node_of({e.kv, *subnets, decode_lease_attrs(e.kv.value)});
  if (node.unreadable && keep_last_good(name, *node.unroutable)) return;
  if (node.unroutable)
    TARTAN_LOG(WARNING, kControl, "etcd: %s; not routed", node.unroutable->c_str());
  if (auto r = mirror_.keep(node.spec, cause, node.unroutable); !r) {
    TARTAN_LOG(WARNING, kControl, "etcd: %s: %s; not routed", e.kv.key.c_str(),
               r.status().message().c_str());
  }
}

EtcdLeaseSource::LeaseNode EtcdLeaseSource::node_of(const ListedLease& lease) const {
  const auto& attrs = lease.attrs;
  if (attrs && !same_holder(config_.network, {attrs->public_ip, attrs->public_ipv6}, us_))
    return {lease_to_node(lease.subnets, *attrs, keys_), {}};
  // Kept without annotations: only the podCIDRs the key names are known.
  NodeSpec bare = lease_to_node(lease.subnets, std::nullopt, keys_);
  const std::string at = lease.kv.key + " (revision " + std::to_string(lease.kv.mod_revision) + ")";
  if (attrs) return {bare, at + " carries our own " + us_named_ + " (a stale lease of this node)"};
  return {bare, at + ": value cannot be read: " + attrs.status().message(), true};
}

bool EtcdLeaseSource::keep_last_good(const std::string& name, const std::string& why) {
  const std::optional<NodeRecord> held = mirror_.get(name);
  if (!held || !held->status.routed_any()) return false;
  const std::string note = why + "; keeping the route of its last good value, as flanneld does";
  TARTAN_LOG(WARNING, kControl, "etcd: %s", note.c_str());
  if (auto r = mirror_.note(name, note, "etcd lease unreadable"); !r)
    TARTAN_LOG(WARNING, kControl, "etcd: %s: %s", name.c_str(), r.status().message().c_str());
  return true;
}

void EtcdLeaseSource::programmed(size_t leases, int64_t revision) {
  readiness_.set("tables_programmed", true,
                 std::to_string(leases) + " lease" + (leases == 1 ? "" : "s") +
                     " in etcd at revision " + std::to_string(revision));
}

Status EtcdLeaseSource::sync() {
  for (int attempt = 1;; ++attempt) {
    auto range = client_->get_prefix(subnets_prefix_);
    if (!range) return range.status();
    Listed listed;
    for (EtcdKeyValue& kv : range->kvs) {
      auto subnets = subnets_of(kv.key);
      if (!subnets) {
        ignore_bad_key(kv.key, subnets.status());
        continue;
      }
      auto attrs = decode_lease_attrs(kv.value);
      listed.push_back({std::move(kv), *subnets, std::move(attrs)});
    }
    if (cluster_id_ != 0 && range->cluster_id != cluster_id_) {
      TARTAN_LOG(WARNING, kControl, "etcd: cluster id changed from %llx to %llx",
                 static_cast<unsigned long long>(cluster_id_),
                 static_cast<unsigned long long>(range->cluster_id));
    }
    cluster_id_ = range->cluster_id;
    auto held = settle_own(listed);
    if (!held) return held.status();
    if (!*held) {
      if (attempt == kCreateRetries) {
        return Status(ErrorCode::kAborted, "etcd: lost the race for a subnet " +
                                               std::to_string(kCreateRetries) + " times in a row");
      }
      continue;  // another node took that subnet first: list again
    }
    if (Status s = reconcile(listed); !s.ok()) return s;
    next_revision_ = range->revision + 1;
    synced_ = true;
    drop_watch();  // reopened from the list's revision
    programmed(listed.size(), range->revision);
    set_connected("listed " + subnets_prefix_ + " at revision " + std::to_string(range->revision));
    update_status([&](EtcdSourceStatus& st) {
      ++st.syncs;
      st.next_revision = next_revision_;
    });
    return {};
  }
}

Result<bool> EtcdLeaseSource::settle_own(const Listed& listed) {
  if (own_) {
    const auto it = std::find_if(listed.begin(), listed.end(),
                                 [&](const ListedLease& l) { return l.kv.key == own_->key; });
    if (it != listed.end() && it->kv.value == value_) return true;
    lose_own(it == listed.end() ? "is gone from etcd" : "now holds " + it->kv.value);
  }
  return take_subnet(listed);
}

Result<bool> EtcdLeaseSource::take_subnet(const Listed& listed) {
  std::vector<LeaseInEtcd> leases;
  leases.reserve(listed.size());
  for (const ListedLease& l : listed) {
    leases.push_back({l.kv.key, l.subnets,
                      l.attrs ? std::optional(LeaseHolder{l.attrs->public_ip, l.attrs->public_ipv6})
                              : std::nullopt});
  }
  auto choice = choose_subnet(config_.network, leases, us_, previous_, rng_);
  if (!choice) return choice.status();
  for (const std::string& stale : choice->stale_keys) {
    // Leases with our public IP (PublicIPv6) that no longer fit are ours
    // from an earlier config; flanneld deletes them too.
    TARTAN_LOG(NOTICE, kControl,
               "etcd: deleting %s: our %s, but not compatible with the current config",
               stale.c_str(), us_named_.c_str());
    if (Status s = client_->remove(stale); !s.ok()) return s;
  }
  const std::string key = key_of(choice->subnets);
  const auto granted_at = Clock::now();
  auto grant = client_->grant(etcd_.lease_ttl_s);
  if (!grant) return grant.status();
  Status written;
  if (choice->kind == SubnetChoice::Kind::kOurs) {
    // flanneld's updateSubnet: a fresh lease and a plain put (our value
    // may have changed, e.g. a new VtepMAC).
    const auto old = std::find_if(listed.begin(), listed.end(),
                                  [&](const ListedLease& l) { return l.kv.key == key; });
    written = client_->put(key, value_, grant->id);
    if (written.ok() && old != listed.end() && old->kv.lease != 0)
      (void)client_->revoke(old->kv.lease);
  } else {
    if (hooks_.before_create) hooks_.before_create(key);
    auto created = client_->create(key, value_, grant->id);
    if (created && !*created) {
      (void)client_->revoke(grant->id);
      TARTAN_LOG(NOTICE, kControl, "etcd: %s was taken by another node first; choosing again",
                 key.c_str());
      update_status([](EtcdSourceStatus& st) { ++st.conflicts; });
      return false;
    }
    if (!created) written = created.status();
  }
  if (!written.ok()) {
    (void)client_->revoke(grant->id);
    return written;
  }
  // The Txn proves only that our exact key was new: a node that chose the
  // same subnet of one family and another of the other wrote a different
  // key (flanneld has the same gap). The key created first keeps it; the
  // other node gives its up. If the list fails, our key stays: the next
  // attempt finds it as ours and checks again.
  auto before = taken_before(key, choice->subnets);
  if (!before) return before.status();
  if (*before) {
    (void)client_->revoke(grant->id);  // our key goes with its lease
    TARTAN_LOG(NOTICE, kControl,
               "etcd: %s overlaps %s, which was created first: giving %s up; choosing again",
               key.c_str(), before->value().c_str(), choice->subnets.str().c_str());
    update_status([](EtcdSourceStatus& st) { ++st.conflicts; });
    return false;
  }
  static constexpr const char* kHow[] = {"found our lease", "reusing the previous subnets",
                                         "allocated"};
  TARTAN_LOG(NOTICE, kControl, "etcd: %s %s for our %s (key %s, etcd lease %s, TTL %lld s)",
             kHow[static_cast<int>(choice->kind)], choice->subnets.str().c_str(), us_named_.c_str(),
             key.c_str(), hex(grant->id).c_str(), static_cast<long long>(grant->ttl_s));
  const auto ttl = std::chrono::seconds(grant->ttl_s);
  const auto margin = std::min(std::chrono::seconds(etcd_.renew_margin_s), ttl / 2);
  own_ = OwnLease{choice->subnets, key, grant->id, granted_at + ttl - margin};
  previous_ = choice->subnets;
  update_status([&](EtcdSourceStatus& st) {
    ++st.acquisitions;
    st.subnets = choice->subnets;
    st.lease_id = grant->id;
  });
  return true;
}

Result<std::optional<std::string>> EtcdLeaseSource::taken_before(const std::string& key,
                                                                 const PodCidrs& subnets) {
  auto range = client_->get_prefix(subnets_prefix_);
  if (!range) return range.status();
  const auto& kvs = range->kvs;
  const auto ours =
      std::find_if(kvs.begin(), kvs.end(), [&](const EtcdKeyValue& kv) { return kv.key == key; });
  // Gone already: the watch, from before it was written, says so.
  if (ours == kvs.end()) return std::optional<std::string>{};
  const auto created = [](const EtcdKeyValue& kv) { return std::tie(kv.create_revision, kv.key); };
  for (const EtcdKeyValue& kv : kvs) {
    if (created(kv) >= created(*ours)) continue;
    // A bad key blocks nothing (sync warns about it).
    const auto theirs = subnets_of(kv.key);
    if (theirs && theirs->overlaps(subnets)) return std::optional(kv.key);
  }
  return std::optional<std::string>{};
}

Status EtcdLeaseSource::reconcile(const Listed& listed) {
  std::vector<NodeSpec> nodes;
  nodes.reserve(listed.size());
  std::map<std::string, std::string> unroutable;
  std::vector<std::pair<std::string, std::string>> last_good;  // name, why
  for (const ListedLease& lease : listed) {
    if (lease.kv.key == own_->key) continue;
    LeaseNode node = node_of(lease);
    if (node.unreadable) {
      if (auto held = mirror_.get(node.spec.name); held && held->status.routed_any()) {
        nodes.push_back(held->spec);
        last_good.emplace_back(node.spec.name, *node.unroutable);
        continue;
      }
    }
    if (node.unroutable) {
      TARTAN_LOG(WARNING, kControl, "etcd: %s; not routed", node.unroutable->c_str());
      unroutable[node.spec.name] = *node.unroutable;
    }
    nodes.push_back(std::move(node.spec));
  }
  // Our podCIDR moves only when it was lost; give the old one up first so
  // the node that holds it now can be routed.
  const auto local = lease_.get();
  const bool moved = !local || local->cidrs() != own_->subnets;
  if (local && moved) lease_.clear("etcd: moving to " + own_->subnets.str());
  if (Status s = mirror_.replace_all(nodes, "etcd leases listed", unroutable); !s.ok())
    TARTAN_LOG(WARNING, kControl, "etcd: %s", s.message().c_str());
  for (const auto& [name, why] : last_good) keep_last_good(name, why);
  if (moved) return lease_.set(own_->subnets, LeaseSource::kEtcd);
  return {};
}

void EtcdLeaseSource::lose_own(const std::string& why) {
  TARTAN_LOG(ERR, kControl,
             "etcd: OUR LEASE IS GONE: %s %s. Pods on this node (%s) are unreachable until a new "
             "lease is taken; taking one now",
             own_->key.c_str(), why.c_str(), own_->subnets.str().c_str());
  (void)client_->revoke(own_->lease_id);  // whatever still rides on it is not ours
  previous_ = own_->subnets;
  lease_.clear("etcd: our key " + own_->key + " " + why + "; taking a new lease");
  own_.reset();
  synced_ = false;
  update_status([](EtcdSourceStatus& st) {
    ++st.own_lost;
    st.subnets = {};
    st.lease_id = 0;
  });
}

Status EtcdLeaseSource::renew() {
  const auto granted_at = Clock::now();
  auto grant = client_->grant(etcd_.lease_ttl_s);
  if (!grant) return grant.status();
  auto replaced = client_->replace(own_->key, value_, value_, grant->id);
  if (!replaced || !*replaced) {
    (void)client_->revoke(grant->id);
    if (!replaced) return replaced.status();
    lose_own("was gone or changed when renewing");
    return {};
  }
  (void)client_->revoke(own_->lease_id);  // nothing rides on it any more
  const auto ttl = std::chrono::seconds(grant->ttl_s);
  const auto margin = std::min(std::chrono::seconds(etcd_.renew_margin_s), ttl / 2);
  own_->lease_id = grant->id;
  own_->renew_at = granted_at + ttl - margin;
  TARTAN_LOG(INFO, kControl, "etcd: renewed %s (etcd lease %s, TTL %lld s)", own_->key.c_str(),
             hex(grant->id).c_str(), static_cast<long long>(grant->ttl_s));
  update_status([&](EtcdSourceStatus& st) {
    ++st.renewals;
    st.lease_id = grant->id;
  });
  // A failed renewal marked etcd unreachable; with the watch up, this one
  // says it is back (nothing else would until the watch breaks).
  if (watch_) set_connected("renewed " + own_->key);
  return {};
}

void EtcdLeaseSource::fail(const Status& s) {
  {
    std::lock_guard lock(inbox_mu_);
    if (stopping_) return;  // calls cut short by stop() are no failure
  }
  TARTAN_LOG(WARNING, kControl, "etcd: %s (the data plane keeps its tables; retrying)",
             s.message().c_str());
  readiness_.set("etcd", false, s.message());
  update_status([&](EtcdSourceStatus& st) {
    ++st.failures;
    st.connected = false;
    st.last_error = s.message();
  });
}

void EtcdLeaseSource::set_connected(const std::string& message) {
  const std::string endpoint = client_->endpoint();
  readiness_.set("etcd", true, endpoint + ": " + message);
  bool was_down = false;
  update_status([&](EtcdSourceStatus& st) {
    was_down = !st.connected && st.failures > 0;
    st.connected = true;
    st.endpoint = endpoint;
  });
  if (was_down)
    TARTAN_LOG(INFO, kControl, "etcd: %s reachable again (%s)", endpoint.c_str(), message.c_str());
}

}  // namespace tartan
