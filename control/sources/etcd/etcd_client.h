// A small etcd v3 client over gRPC (etcd's own protocol, from the .proto
// files Debian ships): the KV, Lease, Watch and Auth calls flannel's etcd
// subnet manager makes. Endpoints are tried in order, a connection failure
// moves to the next; with a username every call carries an auth token,
// fetched again when etcd says it expired. Every call has a deadline.
//
// Thread-safe; shutdown() cancels whatever is in flight, from any thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "control/config/etcd_config.h"
#include "control/sources/etcd/etcd_endpoint.h"
#include "engine/status.h"

namespace tartan {

struct EtcdKeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

struct EtcdRange {
  std::vector<EtcdKeyValue> kvs;
  int64_t revision = 0;  // the store's revision the read saw
  uint64_t cluster_id = 0;
};

struct EtcdLeaseGrant {
  int64_t id = 0;
  int64_t ttl_s = 0;
};

struct EtcdWatchEvent {
  bool deleted = false;  // else a put
  EtcdKeyValue kv;
};

struct EtcdWatchResponse {
  bool created = false;
  bool canceled = false;
  int64_t compact_revision = 0;  // > 0: the start revision is compacted away
  std::string cancel_reason;
  int64_t revision = 0;  // header revision
  uint64_t cluster_id = 0;
  std::vector<EtcdWatchEvent> events;
};

class EtcdWatch;
class EtcdConnection;

class EtcdClient {
 public:
  // Checks the endpoints and reads the TLS files and password file; does
  // not connect yet.
  static Result<std::unique_ptr<EtcdClient>> create(const EtcdConfig& config);
  ~EtcdClient();

  Result<EtcdRange> get(const std::string& key);
  Result<EtcdRange> get_prefix(const std::string& prefix);
  Result<EtcdLeaseGrant> grant(int64_t ttl_s);
  Status revoke(int64_t lease_id);
  // Puts only if the key does not exist (a Txn on Version == 0, as
  // flanneld creates subnet keys); false when it does.
  Result<bool> create(const std::string& key, const std::string& value, int64_t lease_id);
  // Puts only if the key holds `expected`; false when it does not (or is gone).
  Result<bool> replace(const std::string& key, const std::string& expected,
                       const std::string& value, int64_t lease_id);
  Status put(const std::string& key, const std::string& value, int64_t lease_id);
  Status remove(const std::string& key);

  // Watches every key under `prefix` from `start_revision` on. Responses
  // go to `on_response` and the stream's end (its status) to `on_end`, both
  // on the watch's own reader thread. Requires a leader, as flanneld does.
  std::unique_ptr<EtcdWatch> watch_prefix(const std::string& prefix, int64_t start_revision,
                                          std::function<void(EtcdWatchResponse)> on_response,
                                          std::function<void(Status)> on_end);

  // The endpoint calls currently go to.
  std::string endpoint() const;
  // Cancels every call and watch in flight; later calls fail at once.
  void shutdown();

 private:
  EtcdClient(const EtcdConfig& config, std::vector<std::unique_ptr<EtcdConnection>> conns);
  using Call = std::function<grpc::Status(EtcdConnection&, grpc::ClientContext&)>;
  Status invoke(const std::string& what, const Call& call);
  // Whether the endpoint is connected, waiting up to the request timeout
  // (or until shutdown, or `canceled`).
  bool connected(EtcdConnection& conn, const std::atomic<bool>* canceled = nullptr);
  Status authenticate(EtcdConnection& conn);
  std::unique_ptr<grpc::ClientContext> context(EtcdConnection& conn, bool deadline);
  bool track(grpc::ClientContext* ctx);
  void untrack(grpc::ClientContext* ctx);

  const EtcdConfig config_;
  std::string password_;
  std::vector<std::unique_ptr<EtcdConnection>> conns_;
  mutable std::mutex mu_;
  size_t current_ = 0;
  bool shutdown_ = false;
  std::set<grpc::ClientContext*> active_;

  friend class EtcdWatch;
};

// An open watch stream, read on its own thread. Destroying it cancels the
// stream and joins the thread; on_end is not called after cancel().
class EtcdWatch {
 public:
  ~EtcdWatch();
  EtcdWatch(const EtcdWatch&) = delete;
  EtcdWatch& operator=(const EtcdWatch&) = delete;
  void cancel();

 private:
  friend class EtcdClient;
  EtcdWatch() = default;
  void run();

  EtcdClient* client_ = nullptr;
  std::unique_ptr<grpc::ClientContext> ctx_;
  std::string key_, range_end_;
  int64_t start_revision_ = 0;
  std::function<void(EtcdWatchResponse)> on_response_;
  std::function<void(Status)> on_end_;
  std::atomic<bool> canceled_{false};
  std::thread reader_;
  std::string endpoint_;
};

}  // namespace tartan
