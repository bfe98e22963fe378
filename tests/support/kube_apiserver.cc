#include "tests/support/kube_apiserver.h"

#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <unistd.h>

#include <stdexcept>

#include "tests/support/kube/api_handler.h"
#include "tests/support/kube/listen_socket.h"
#include "tests/support/kube/tls_peer.h"
#include "tests/support/kube/watch_stream.h"

namespace tartan::testing {
namespace {

// Each chunk of a streamed body is at most this (one read of a BodySource).
constexpr size_t kStreamBlock = 64 * 1024;
// Per-connection memory of libmicrohttpd (headers and the chunk in flight).
constexpr size_t kConnectionMemory = 512 * 1024;

// A request as it arrives, from the URI callback to the end of its body.
struct Arrival {
  std::string uri;  // with the query, still escaped
  std::string body;
  bool too_large = false;
  bool headers_seen = false;
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// url.QueryUnescape: '+' is a space, %XX a byte.
std::string query_unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 &&
               hex_digit(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// url.ParseQuery, keeping the first value of a repeated key as Get does.
std::map<std::string, std::string> parse_query(const std::string& raw) {
  std::map<std::string, std::string> out;
  size_t from = 0;
  while (from <= raw.size()) {
    const size_t to = std::min(raw.find('&', from), raw.size());
    const std::string pair = raw.substr(from, to - from);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      out.emplace(query_unescape(pair.substr(0, eq)),
                  eq == std::string::npos ? "" : query_unescape(pair.substr(eq + 1)));
    }
    from = to + 1;
  }
  return out;
}

MHD_Result collect_header(void* cls, MHD_ValueKind, const char* key, const char* value) {
  std::string name = key;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  static_cast<std::map<std::string, std::string>*>(cls)->emplace(name, value ? value : "");
  return MHD_YES;
}

ssize_t read_stream(void* cls, uint64_t, char* buf, size_t max) {
  return static_cast<kube::BodySource*>(cls)->read(buf, max);
}

void free_stream(void* cls) {
  delete static_cast<kube::BodySource*>(cls);
}

[[noreturn]] void fail(const kube::Outcome& o) {
  throw std::runtime_error("API server double: " + o.body.value("message", o.body.dump()));
}

}  // namespace

struct KubeApiServer::Impl {
  struct Listener {
    std::string netns;  // "" for this namespace
    std::string address;
    int port = 0;
    MHD_Daemon* daemon = nullptr;
    // Holds the port from the first start on (kube::bind_tcp).
    int reservation = -1;
  };

  explicit Impl(KubeApiOptions o) : options(std::move(o)), state(options.history_window) {
    config.access.tokens = options.tokens;
    config.access.client_certificates = !options.client_ca_pem.empty();
    config.access.grants = options.grants;
    config.bookmark_interval = options.bookmark_interval;
    config.min_request_timeout = options.min_request_timeout;
    config.paginate_any_version = options.paginate_any_version;
  }

  bool tls() const { return !options.cert_pem.empty() && !options.key_pem.empty(); }

  // A stall's end: `at_most` from now, or never (zero) until released.
  static kube::Clock::time_point deadline_after(std::chrono::milliseconds at_most) {
    return at_most.count() > 0 ? kube::Clock::now() + at_most : kube::Clock::time_point::max();
  }

  void start(Listener& l) {
    const auto bind = [&](bool listening) {
      return l.netns.empty() ? kube::bind_tcp(l.address, l.port, listening)
                             : kube::bind_tcp_in_netns(l.netns, l.address, l.port, listening);
    };
    const int fd = bind(true);
    l.port = kube::bound_port(fd);
    if (l.reservation < 0) l.reservation = bind(false);
    // Where /api tells clients the server is: the first listener.
    if (config.server_address.empty())
      config.server_address = l.address + ":" + std::to_string(l.port);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    if (tls()) flags |= MHD_USE_TLS;
    std::vector<MHD_OptionItem> opts = {
        {MHD_OPTION_LISTEN_SOCKET, fd, nullptr},
        {MHD_OPTION_URI_LOG_CALLBACK, reinterpret_cast<intptr_t>(&on_uri), this},
        {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&on_completed), this},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(kConnectionMemory), nullptr},
    };
    if (tls()) {
      opts.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(options.key_pem.c_str())});
      opts.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(options.cert_pem.c_str())});
      if (!options.client_ca_pem.empty())
        opts.push_back(
            {MHD_OPTION_HTTPS_MEM_TRUST, 0, const_cast<char*>(options.client_ca_pem.c_str())});
    }
    opts.push_back({MHD_OPTION_END, 0, nullptr});
    l.daemon = MHD_start_daemon(flags, 0, nullptr, nullptr, &on_request, this, MHD_OPTION_ARRAY,
                                opts.data(), MHD_OPTION_END);
    if (l.daemon == nullptr) {
      close(fd);
      throw std::runtime_error("API server double: libmicrohttpd did not start on " + l.address +
                               ":" + std::to_string(l.port) +
                               (tls() ? " (is the certificate and key PEM valid?)" : ""));
    }
  }

  void stop_all() {
    {
      std::lock_guard lock(state.mu);
      state.stopping = true;
      state.changed.notify_all();
    }
    for (Listener& l : listeners) {
      if (l.daemon != nullptr) MHD_stop_daemon(l.daemon);
      l.daemon = nullptr;
    }
  }

  static void* on_uri(void*, const char* uri, MHD_Connection*) {
    auto* a = new Arrival;
    a->uri = uri;
    return a;
  }

  static void on_completed(void*, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) {
    delete static_cast<Arrival*>(*con_cls);
    *con_cls = nullptr;
  }

  static MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url,
                               const char* method, const char*, const char* upload_data,
                               size_t* upload_data_size, void** con_cls) {
    auto* self = static_cast<Impl*>(cls);
    auto* arrival = static_cast<Arrival*>(*con_cls);
    if (!arrival->headers_seen) {
      arrival->headers_seen = true;
      return MHD_YES;
    }
    if (*upload_data_size != 0) {
      if (arrival->body.size() + *upload_data_size > kube::kMaxRequestBody)
        arrival->too_large = true;
      else
        arrival->body.append(upload_data, *upload_data_size);
      *upload_data_size = 0;
      return MHD_YES;
    }
    kube::Request request;
    request.method = method;
    request.path = url;
    const size_t q = arrival->uri.find('?');
    if (q != std::string::npos) request.raw_query = arrival->uri.substr(q + 1);
    request.query = parse_query(request.raw_query);
    MHD_get_connection_values(connection, MHD_HEADER_KIND, &collect_header, &request.headers);
    request.body = std::move(arrival->body);
    request.body_too_large = arrival->too_large;
    if (self->tls()) {
      const MHD_ConnectionInfo* info =
          MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
      if (info != nullptr)
        request.peer = kube::tls_peer_of(static_cast<gnutls_session_t>(info->tls_session));
    }
    std::optional<kube::Reply> reply = self->serve(request);
    if (!reply) return MHD_NO;  // stopping: drop the connection
    MHD_Response* response =
        reply->stream
            ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, kStreamBlock, &read_stream,
                                                reply->stream.get(), &free_stream)
            : MHD_create_response_from_buffer(reply->body.size(), reply->body.data(),
                                              MHD_RESPMEM_MUST_COPY);
    if (response == nullptr) return MHD_NO;
    reply->stream.release();  // libmicrohttpd frees it (free_stream)
    MHD_add_response_header(response, "Content-Type", reply->content_type.c_str());
    for (const auto& [name, value] : reply->headers)
      MHD_add_response_header(response, name.c_str(), value.c_str());
    const MHD_Result queued =
        MHD_queue_response(connection, static_cast<unsigned>(reply->code), response);
    MHD_destroy_response(response);
    return queued;
  }

  // nullopt when the server stops while the request waits.
  std::optional<kube::Reply> serve(const kube::Request& request) {
    {
      std::unique_lock lock(state.mu);
      while (!state.stopping && state.stalled(kube::Clock::now()))
        state.wait(lock, *state.stalled_until);
      if (state.stopping) return std::nullopt;
    }
    std::string user;
    kube::Reply reply;
    const std::optional<kube::Fault> fault = faults.take(request);
    if (fault && fault->kind == kube::Fault::kStatus) {
      reply = kube::status_reply(*fault);
    } else {
      reply = kube::handle_request(state, config, request, user);
      if (fault) {
        kube::spoil(*fault, reply, [this](kube::BodySource& watch) {
          std::lock_guard lock(state.mu);
          static_cast<kube::WatchStream&>(watch).cut_next_event(false);
        });
      }
    }
    KubeLoggedRequest logged{request.method,
                             request.path,
                             request.raw_query,
                             request.header("content-type"),
                             request.headers,
                             request.body,
                             user,
                             reply.code};
    std::lock_guard lock(log_mu);
    log.push_back(std::move(logged));
    return reply;
  }

  // A test-side write, published like a request's.
  template <class Apply>
  kube::Json write(Apply&& apply) {
    std::lock_guard lock(state.mu);
    std::optional<kube::NodeEvent> event;
    kube::Outcome o = apply(event);
    if (event) state.publish(*event);
    if (!o.ok()) fail(o);
    return o.body;
  }

  KubeApiOptions options;
  kube::HandlerConfig config;
  kube::ServerState state;
  kube::FaultQueue faults;
  mutable std::mutex log_mu;
  std::vector<KubeLoggedRequest> log;
  std::vector<Listener> listeners;
};

std::vector<KubeGrant> flannel_cluster_role() {
  return {{"get", "pods"},
          {"get", "nodes"},
          {"list", "nodes"},
          {"watch", "nodes"},
          {"patch", "nodes/status"}};
}

KubeObject node_manifest(const std::string& name, const std::string& pod_cidr,
                         const std::map<std::string, std::string>& annotations,
                         const std::map<std::string, std::string>& labels) {
  KubeObject node = {{"kind", "Node"}, {"apiVersion", "v1"}, {"metadata", {{"name", name}}}};
  if (!labels.empty()) node["metadata"]["labels"] = labels;
  if (!annotations.empty()) node["metadata"]["annotations"] = annotations;
  node["spec"] = KubeObject::object();
  if (!pod_cidr.empty()) {
    node["spec"]["podCIDR"] = pod_cidr;
    node["spec"]["podCIDRs"] = {pod_cidr};
  }
  return node;
}

KubeApiServer::KubeApiServer(KubeApiOptions options) : impl_(std::make_unique<Impl>(options)) {
  if (impl_->tls() && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
    throw std::runtime_error("API server double: this libmicrohttpd has no TLS");
  impl_->listeners.push_back({"", options.address, options.port, nullptr});
  impl_->start(impl_->listeners.back());
}

KubeApiServer::~KubeApiServer() {
  impl_->stop_all();
  for (const auto& l : impl_->listeners)
    if (l.reservation >= 0) close(l.reservation);
}

std::string KubeApiServer::url() const {
  return (impl_->tls() ? "https://" : "http://") + impl_->options.address + ":" +
         std::to_string(port());
}

int KubeApiServer::port() const {
  return impl_->listeners.front().port;
}

int KubeApiServer::listen_in_netns(const std::string& netns, const std::string& address, int port) {
  impl_->listeners.push_back({netns, address, port, nullptr});
  impl_->start(impl_->listeners.back());
  return impl_->listeners.back().port;
}

void KubeApiServer::stop_serving() {
  impl_->stop_all();
}

void KubeApiServer::resume_serving() {
  {
    std::lock_guard lock(impl_->state.mu);
    impl_->state.stopping = false;
  }
  for (auto& l : impl_->listeners) {
    if (l.daemon == nullptr) impl_->start(l);
  }
}

KubeObject KubeApiServer::create_node(KubeObject node) {
  return impl_->write([&](auto& e) { return impl_->state.store.create(node, false, e); });
}

KubeObject KubeApiServer::replace_node(KubeObject node) {
  const std::string name = node["metadata"].value("name", "");
  return impl_->write([&](auto& e) {
    return impl_->state.store.update(name, node, {kube::Subresource::kWhole, false}, e);
  });
}

KubeObject KubeApiServer::patch_node(const std::string& name, KubePatchType type,
                                     const std::string& patch, bool status_subresource) {
  const kube::Write write{
      status_subresource ? kube::Subresource::kStatus : kube::Subresource::kMain, false};
  return impl_->write(
      [&](auto& e) { return impl_->state.store.patch(name, type, patch, write, e); });
}

void KubeApiServer::delete_node(const std::string& name) {
  impl_->write([&](auto& e) { return impl_->state.store.remove(name, nullptr, e); });
}

KubeObject KubeApiServer::create_pod(KubeObject pod) {
  return impl_->write([&](auto&) { return impl_->state.store.create_pod(pod); });
}

std::optional<KubeObject> KubeApiServer::node(const std::string& name) const {
  std::lock_guard lock(impl_->state.mu);
  const kube::Outcome o = impl_->state.store.get(name);
  if (!o.ok()) return std::nullopt;
  return o.body;
}

std::string KubeApiServer::resource_version() const {
  std::lock_guard lock(impl_->state.mu);
  return std::to_string(impl_->state.store.resource_version());
}

int KubeApiServer::open_watches() const {
  std::lock_guard lock(impl_->state.mu);
  return static_cast<int>(impl_->state.watches.size());
}

void KubeApiServer::set_history_window(size_t events) {
  std::lock_guard lock(impl_->state.mu);
  impl_->state.store.set_history_window(events);
}

void KubeApiServer::compact() {
  std::lock_guard lock(impl_->state.mu);
  impl_->state.store.compact();
}

void KubeApiServer::set_watch_chunking(const KubeWatchChunking& chunking) {
  std::lock_guard lock(impl_->state.mu);
  impl_->state.chunking = chunking;
  impl_->state.changed.notify_all();
}

void KubeApiServer::fail_next(int count, int code, const KubeRequestMatch& match,
                              int retry_after_s) {
  impl_->faults.add({kube::Fault::kStatus, match, count, code, retry_after_s, 0});
}

void KubeApiServer::respond_with_garbage(const KubeRequestMatch& match) {
  impl_->faults.add({kube::Fault::kGarbage, match});
}

void KubeApiServer::respond_truncated(const KubeRequestMatch& match) {
  impl_->faults.add({kube::Fault::kTruncated, match});
}

void KubeApiServer::respond_huge(const KubeRequestMatch& match, size_t bytes) {
  impl_->faults.add({kube::Fault::kHuge, match, 1, 200, 0, bytes});
}

void KubeApiServer::drop_watches_mid_event() {
  std::lock_guard lock(impl_->state.mu);
  for (kube::WatchStream* w : impl_->state.watches) w->cut_next_event(true);
  impl_->state.changed.notify_all();
}

void KubeApiServer::close_watches() {
  std::lock_guard lock(impl_->state.mu);
  for (kube::WatchStream* w : impl_->state.watches) w->close();
  impl_->state.changed.notify_all();
}

void KubeApiServer::stall(std::chrono::milliseconds at_most) {
  std::lock_guard lock(impl_->state.mu);
  impl_->state.stalled_until = impl_->deadline_after(at_most);
  impl_->state.changed.notify_all();
}

void KubeApiServer::stall_open_watches(std::chrono::milliseconds at_most) {
  std::lock_guard lock(impl_->state.mu);
  for (kube::WatchStream* w : impl_->state.watches) w->silence(impl_->deadline_after(at_most));
  impl_->state.changed.notify_all();
}

void KubeApiServer::release() {
  std::lock_guard lock(impl_->state.mu);
  impl_->state.stalled_until.reset();
  for (kube::WatchStream* w : impl_->state.watches) w->silence(std::nullopt);
  impl_->state.changed.notify_all();
}

std::vector<KubeLoggedRequest> KubeApiServer::requests() const {
  std::lock_guard lock(impl_->log_mu);
  return impl_->log;
}

void KubeApiServer::clear_requests() {
  std::lock_guard lock(impl_->log_mu);
  impl_->log.clear();
}

}  // namespace tartan::testing
