#include "control/sources/etcd/etcd_client.h"

#include <fstream>
#include <sstream>

#include "etcd/rpc.grpc.pb.h"

namespace tartan {

// One endpoint: its channel, the stubs on it and, with etcd auth, the token
// that member issued (simple tokens are per member).
class EtcdConnection {
 public:
  EtcdConnection(EtcdEndpoint endpoint, std::shared_ptr<grpc::Channel> channel)
      : endpoint(std::move(endpoint)),
        channel(channel),
        kv(etcdserverpb::KV::NewStub(channel)),
        lease(etcdserverpb::Lease::NewStub(channel)),
        watch(etcdserverpb::Watch::NewStub(channel)),
        auth(etcdserverpb::Auth::NewStub(channel)) {}

  const EtcdEndpoint endpoint;
  const std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<etcdserverpb::KV::Stub> kv;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch;
  std::unique_ptr<etcdserverpb::Auth::Stub> auth;
  std::string token;  // guarded by EtcdClient::mu_
};

namespace {

Result<std::string> read_file(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  if (!in) return Status::invalid(key + ": cannot read '" + path + "'");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The first key after every key with this prefix (etcd's "range_end" for a
// prefix): the prefix with its last byte below 0xff incremented.
std::string prefix_end(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(prefix.back());
    if (last < 0xff) {
      ++last;
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // every key
}

// Failures that say "this member cannot be reached": the next one may be.
bool connection_failure(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE;
}

bool token_expired(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAUTHENTICATED &&
         s.error_message().find("invalid auth token") != std::string::npos;
}

ErrorCode error_code_of(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return ErrorCode::kInvalidArgument;
    case grpc::StatusCode::NOT_FOUND:
      return ErrorCode::kNotFound;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return ErrorCode::kFailedPrecondition;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return ErrorCode::kResourceExhausted;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
      return ErrorCode::kUnavailable;
    default:
      return ErrorCode::kInternal;
  }
}

EtcdKeyValue from_proto(const mvccpb::KeyValue& kv) {
  return EtcdKeyValue{kv.key(),          kv.value(),   kv.create_revision(),
                      kv.mod_revision(), kv.version(), kv.lease()};
}

}  // namespace

Result<std::unique_ptr<EtcdClient>> EtcdClient::create(const EtcdConfig& config) {
  grpc::SslCredentialsOptions tls;
  if (!config.tls_ca.empty()) {
    auto ca = read_file(config.tls_ca, "lease.etcd.tls.ca");
    if (!ca) return ca.status();
    tls.pem_root_certs = *ca;
  }
  if (!config.tls_cert.empty()) {
    auto cert = read_file(config.tls_cert, "lease.etcd.tls.cert");
    if (!cert) return cert.status();
    auto key = read_file(config.tls_key, "lease.etcd.tls.key");
    if (!key) return key.status();
    tls.pem_cert_chain = *cert;
    tls.pem_private_key = *key;
  }
  grpc::ChannelArguments args;
  // A restarted etcd is found again within retry_max_ms, not gRPC's 2 min.
  // (gRPC's "min reconnect backoff" is really the connect timeout: it stays
  // at the request timeout, or a slow handshake would never complete.)
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, static_cast<int>(config.retry_initial_ms));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(config.request_timeout_ms));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(config.retry_max_ms));
  // A member that vanished without closing the connection (power off,
  // partition) ends the watch within 15 s. etcd allows pings every 5 s, and
  // only while a stream is open.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Listing every subnet of a large cluster is one response.
  args.SetMaxReceiveMessageSize(256 << 20);
  std::vector<std::unique_ptr<EtcdConnection>> conns;
  for (size_t i = 0; i < config.endpoints.size(); ++i) {
    auto ep = parse_etcd_endpoint(config.endpoints[i]);
    if (!ep) {
      return Status::invalid("lease.etcd.endpoints[" + std::to_string(i) +
                             "]: " + ep.status().message());
    }
    auto creds = ep->tls ? grpc::SslCredentials(tls) : grpc::InsecureChannelCredentials();
    auto channel = grpc::CreateCustomChannel(ep->target, creds, args);
    conns.push_back(std::make_unique<EtcdConnection>(*ep, channel));
  }
  if (conns.empty()) return Status::invalid("lease.etcd.endpoints: none given");
  std::unique_ptr<EtcdClient> client(new EtcdClient(config, std::move(conns)));
  client->password_ = config.password;
  if (!config.password_file.empty()) {
    auto pw = read_file(config.password_file, "lease.etcd.password_file");
    if (!pw) return pw.status();
    client->password_ = *pw;
    while (!client->password_.empty() &&
           (client->password_.back() == '\n' || client->password_.back() == '\r')) {
      client->password_.pop_back();
    }
  }
  return client;
}

EtcdClient::EtcdClient(const EtcdConfig& config, std::vector<std::unique_ptr<EtcdConnection>> conns)
    : config_(config), conns_(std::move(conns)) {}

EtcdClient::~EtcdClient() {
  shutdown();
}

std::string EtcdClient::endpoint() const {
  std::lock_guard lock(mu_);
  return conns_[current_]->endpoint.url;
}

void EtcdClient::shutdown() {
  std::lock_guard lock(mu_);
  shutdown_ = true;
  for (grpc::ClientContext* ctx : active_) ctx->TryCancel();
}

bool EtcdClient::track(grpc::ClientContext* ctx) {
  std::lock_guard lock(mu_);
  if (shutdown_) return false;
  active_.insert(ctx);
  return true;
}

void EtcdClient::untrack(grpc::ClientContext* ctx) {
  std::lock_guard lock(mu_);
  active_.erase(ctx);
}

std::unique_ptr<grpc::ClientContext> EtcdClient::context(EtcdConnection& conn, bool deadline) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (deadline) {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(config_.request_timeout_ms));
  }
  std::lock_guard lock(mu_);
  if (!conn.token.empty()) ctx->AddMetadata("token", conn.token);
  return ctx;
}

bool EtcdClient::connected(EtcdConnection& conn, const std::atomic<bool>* canceled) {
  // Waiting here is what drives a reconnection: fail-fast calls on a
  // channel in TRANSIENT_FAILURE return at once, and nothing else in a
  // client-only process polls the channel's connection attempt (gRPC's
  // backup poller looks every 5 s). Sliced, so shutdown() is seen.
  // One attempt is enough to know: a refused connection is not waited out.
  const auto deadline =
      std::chrono::system_clock::now() + std::chrono::milliseconds(config_.request_timeout_ms);
  bool attempted = false;
  grpc_connectivity_state state = conn.channel->GetState(true);
  while (state != GRPC_CHANNEL_READY) {
    attempted = attempted || state == GRPC_CHANNEL_CONNECTING;
    if (attempted && state == GRPC_CHANNEL_TRANSIENT_FAILURE) return false;
    {
      std::lock_guard lock(mu_);
      if (shutdown_ || (canceled != nullptr && *canceled)) return false;
    }
    const auto now = std::chrono::system_clock::now();
    if (now >= deadline) return false;
    conn.channel->WaitForStateChange(state,
                                     std::min(deadline, now + std::chrono::milliseconds(100)));
    state = conn.channel->GetState(true);
  }
  return true;
}

Status EtcdClient::authenticate(EtcdConnection& conn) {
  etcdserverpb::AuthenticateRequest req;
  req.set_name(config_.username);
  req.set_password(password_);
  etcdserverpb::AuthenticateResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(config_.request_timeout_ms));
  if (!track(&ctx)) return Status(ErrorCode::kUnavailable, "etcd client is shutting down");
  const grpc::Status s = conn.auth->Authenticate(&ctx, req, &resp);
  untrack(&ctx);
  if (!s.ok()) {
    return Status(error_code_of(s.error_code()), "etcd authentication as '" + config_.username +
                                                     "' at " + conn.endpoint.url + ": " +
                                                     s.error_message());
  }
  std::lock_guard lock(mu_);
  conn.token = resp.token();
  return {};
}

Status EtcdClient::invoke(const std::string& what, const Call& call) {
  size_t index;
  {
    std::lock_guard lock(mu_);
    index = current_;
  }
  std::string failures;
  for (size_t attempt = 0; attempt < conns_.size(); ++attempt) {
    EtcdConnection& conn = *conns_[(index + attempt) % conns_.size()];
    grpc::Status s;
    // Not connected in time: the fail-fast call below says why.
    (void)connected(conn);
    for (int auth_try = 0; auth_try < 2; ++auth_try) {
      bool need_token = false;
      {
        std::lock_guard lock(mu_);
        need_token = !config_.username.empty() && (conn.token.empty() || auth_try > 0);
      }
      if (need_token) {
        if (Status a = authenticate(conn); !a.ok()) {
          if (a.code() != ErrorCode::kUnavailable) return a;
          s = grpc::Status(grpc::StatusCode::UNAVAILABLE, a.message());
          break;
        }
      }
      auto ctx = context(conn, true);
      if (!track(ctx.get())) return Status(ErrorCode::kUnavailable, "etcd client is shutting down");
      s = call(conn, *ctx);
      untrack(ctx.get());
      if (!token_expired(s)) break;
    }
    if (s.ok()) {
      std::lock_guard lock(mu_);
      current_ = (index + attempt) % conns_.size();
      return {};
    }
    if (!connection_failure(s)) {
      return Status(error_code_of(s.error_code()),
                    "etcd " + what + " at " + conn.endpoint.url + ": " + s.error_message());
    }
    failures += (failures.empty() ? "" : "; ") + conn.endpoint.url + ": " + s.error_message();
  }
  {
    std::lock_guard lock(mu_);
    current_ = (index + 1) % conns_.size();  // start the next call elsewhere
  }
  return Status(ErrorCode::kUnavailable,
                "etcd " + what + ": no endpoint answered (" + failures + ")");
}

Result<EtcdRange> EtcdClient::get(const std::string& key) {
  etcdserverpb::RangeRequest req;
  req.set_key(key);
  etcdserverpb::RangeResponse resp;
  Status s = invoke("get " + key, [&](EtcdConnection& c, grpc::ClientContext& ctx) {
    return c.kv->Range(&ctx, req, &resp);
  });
  if (!s.ok()) return s;
  EtcdRange r;
  for (const auto& kv : resp.kvs()) r.kvs.push_back(from_proto(kv));
  r.revision = resp.header().revision();
  r.cluster_id = resp.header().cluster_id();
  return r;
}

Result<EtcdRange> EtcdClient::get_prefix(const std::string& prefix) {
  etcdserverpb::RangeRequest req;
  req.set_key(prefix);
  req.set_range_end(prefix_end(prefix));
  etcdserverpb::RangeResponse resp;
  Status s = invoke("list " + prefix, [&](EtcdConnection& c, grpc::ClientContext& ctx) {
    return c.kv->Range(&ctx, req, &resp);
  });
  if (!s.ok()) return s;
  EtcdRange r;
  r.kvs.reserve(static_cast<size_t>(resp.kvs_size()));
  for (const auto& kv : resp.kvs()) r.kvs.push_back(from_proto(kv));
  r.revision = resp.header().revision();
  r.cluster_id = resp.header().cluster_id();
  return r;
}

Result<EtcdLeaseGrant> EtcdClient::grant(int64_t ttl_s) {
  etcdserverpb::LeaseGrantRequest req;
  req.set_ttl(ttl_s);
  etcdserverpb::LeaseGrantResponse resp;
  Status s = invoke("lease grant", [&](EtcdConnection& c, grpc::ClientContext& ctx) {
    return c.lease->LeaseGrant(&ctx, req, &resp);
  });
  if (!s.ok()) return s;
  if (!resp.error().empty()) return Status::internal("etcd lease grant: " + resp.error());
  return EtcdLeaseGrant{resp.id(), resp.ttl()};
}

Status EtcdClient::revoke(int64_t lease_id) {
  etcdserverpb::LeaseRevokeRequest req;
  req.set_id(lease_id);
  etcdserverpb::LeaseRevokeResponse resp;
  return invoke("lease revoke", [&](EtcdConnection& c, grpc::ClientContext& ctx) {
    return c.lease->LeaseRevoke(&ctx, req, &resp);
  });
}

namespace {

etcdserverpb::TxnRequest guarded_put(const std::string& key, const std::string& value,
                                     int64_t lease_id) {
  etcdserverpb::TxnRequest req;
  etcdserverpb::Compare* cmp = req.add_compare();
  cmp->set_key(key);
  cmp->set_result(etcdserverpb::Compare_CompareResult_EQUAL);
  etcdserverpb::PutRequest* put = req.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  put->set_lease(lease_id);
  return req;
}

}  // namespace

Result<bool> EtcdClient::create(const std::string& key, const std::string& value,
                                int64_t lease_id) {
  etcdserverpb::TxnRequest req = guarded_put(key, value, lease_id);
  req.mutable_compare(0)->set_target(etcdserverpb::Compare_CompareTarget_VERSION);
  req.mutable_compare(0)->set_version(0);
  etcdserverpb::TxnResponse resp;
  Status s = invoke("create " + key, [&](EtcdConnection& c, grpc::ClientContext& ctx) {
    return c.kv->Txn(&ctx, req, &resp);
  });
  if (!s.ok()) return s;
  return resp.succeeded();
}

Result<bool> EtcdClient::replace(const std::string& key, const std::string& expected,
                                 const std::string& value, int64_t lease_id) {
  etcdserverpb::TxnRequest req = guarded_put(key, value, lease_id);
  req.mutable_compare(0)->set_target(etcdserverpb::Compare_CompareTarget_VALUE);
  req.mutable_compare(0)->set_value(expected);
  etcdserverpb::TxnResponse resp;
  Status s = invoke("update " + key, [&](EtcdConnection& c, grpc::ClientContext& ctx) {
    return c.kv->Txn(&ctx, req, &resp);
  });
  if (!s.ok()) return s;
  return resp.succeeded();
}

Status EtcdClient::put(const std::string& key, const std::string& value, int64_t lease_id) {
  etcdserverpb::PutRequest req;
  req.set_key(key);
  req.set_value(value);
  req.set_lease(lease_id);
  etcdserverpb::PutResponse resp;
  return invoke("put " + key, [&](EtcdConnection& c, grpc::ClientContext& ctx) {
    return c.kv->Put(&ctx, req, &resp);
  });
}

Status EtcdClient::remove(const std::string& key) {
  etcdserverpb::DeleteRangeRequest req;
  req.set_key(key);
  etcdserverpb::DeleteRangeResponse resp;
  return invoke("delete " + key, [&](EtcdConnection& c, grpc::ClientContext& ctx) {
    return c.kv->DeleteRange(&ctx, req, &resp);
  });
}

std::unique_ptr<EtcdWatch> EtcdClient::watch_prefix(
    const std::string& prefix, int64_t start_revision,
    std::function<void(EtcdWatchResponse)> on_response, std::function<void(Status)> on_end) {
  std::unique_ptr<EtcdWatch> w(new EtcdWatch());
  w->client_ = this;
  w->key_ = prefix;
  w->range_end_ = prefix_end(prefix);
  w->start_revision_ = start_revision;
  w->on_response_ = std::move(on_response);
  w->on_end_ = std::move(on_end);
  w->reader_ = std::thread([raw = w.get()] { raw->run(); });
  return w;
}

void EtcdWatch::run() {
  EtcdClient& client = *client_;
  EtcdConnection* conn;
  {
    std::lock_guard lock(client.mu_);
    conn = client.conns_[client.current_].get();
  }
  endpoint_ = conn->endpoint.url;
  // Not connected in time: the fail-fast stream below says why.
  (void)client.connected(*conn, &canceled_);
  if (!client.config_.username.empty()) {
    bool have_token;
    {
      std::lock_guard lock(client.mu_);
      have_token = !conn->token.empty();
    }
    if (!have_token) {
      if (Status s = client.authenticate(*conn); !s.ok()) {
        if (!canceled_) on_end_(s);
        return;
      }
    }
  }
  auto ctx = client.context(*conn, false);
  // A member cut off from the cluster must not keep us on a stale watch.
  ctx->AddMetadata("hasleader", "true");
  bool shut = false;
  {
    // cancel() takes the same lock: it either comes first and is seen here,
    // or finds ctx_ to cancel.
    std::lock_guard lock(client.mu_);
    if (canceled_) return;
    shut = client.shutdown_;
    if (!shut) {
      ctx_ = std::move(ctx);
      client.active_.insert(ctx_.get());
    }
  }
  if (shut) {
    on_end_(Status(ErrorCode::kUnavailable, "etcd client is shutting down"));
    return;
  }
  auto stream = conn->watch->Watch(ctx_.get());
  etcdserverpb::WatchRequest req;
  etcdserverpb::WatchCreateRequest* create = req.mutable_create_request();
  create->set_key(key_);
  create->set_range_end(range_end_);
  create->set_start_revision(start_revision_);
  stream->Write(req);
  etcdserverpb::WatchResponse resp;
  while (stream->Read(&resp)) {
    EtcdWatchResponse r;
    r.created = resp.created();
    r.canceled = resp.canceled();
    r.compact_revision = resp.compact_revision();
    r.cancel_reason = resp.cancel_reason();
    r.revision = resp.header().revision();
    r.cluster_id = resp.header().cluster_id();
    r.events.reserve(static_cast<size_t>(resp.events_size()));
    for (const auto& e : resp.events())
      r.events.push_back({e.type() == mvccpb::Event_EventType_DELETE, from_proto(e.kv())});
    if (canceled_) break;
    const bool last = r.canceled;
    on_response_(std::move(r));
    if (last) break;
  }
  ctx_->TryCancel();
  const grpc::Status s = stream->Finish();
  client.untrack(ctx_.get());
  {
    std::lock_guard lock(client.mu_);
    if (token_expired(s)) conn->token.clear();  // the next watch authenticates again
    if (connection_failure(s) && client.conns_[client.current_].get() == conn) {
      client.current_ = (client.current_ + 1) % client.conns_.size();  // the next watch fails over
    }
  }
  if (canceled_) return;
  if (s.ok() || s.error_code() == grpc::StatusCode::CANCELLED) {
    on_end_(Status(ErrorCode::kUnavailable, "etcd watch at " + endpoint_ + " ended"));
  } else {
    on_end_(Status(error_code_of(s.error_code()),
                   "etcd watch at " + endpoint_ + ": " + s.error_message()));
  }
}

void EtcdWatch::cancel() {
  canceled_ = true;
  std::lock_guard lock(client_->mu_);
  if (ctx_) ctx_->TryCancel();
}

EtcdWatch::~EtcdWatch() {
  cancel();
  if (reader_.joinable()) reader_.join();
}

}  // namespace tartan
