#include "control/sources/kube/kube_http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <mutex>

namespace tartan {
namespace {

using Clock = std::chrono::steady_clock;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool header_is(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) !=
        std::tolower(static_cast<unsigned char>(name[i])))
      return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

struct ServerUrl {
  std::string scheme, host, port, path;  // host as written (IPv6 in brackets)
};

// The parts of lease.kube's server URL that tls-server-name needs.
Result<ServerUrl> split_url(const std::string& url) {
  ServerUrl u;
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return Status::invalid("'" + url + "' is not a URL");
  u.scheme = url.substr(0, scheme_end);
  const size_t host_start = scheme_end + 3;
  const size_t path_start = std::min(url.find('/', host_start), url.size());
  std::string authority = url.substr(host_start, path_start - host_start);
  u.path = url.substr(path_start);
  const size_t bracket = authority.rfind(']');
  const size_t colon = authority.rfind(':');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    u.host = authority.substr(0, colon);
    u.port = authority.substr(colon + 1);
  } else {
    u.host = authority;
    u.port = u.scheme == "https" ? "443" : "80";
  }
  if (u.host.empty()) return Status::invalid("'" + url + "' has no host");
  return u;
}

}  // namespace

// One curl easy handle in a multi handle of its own: the multi holds the
// connection cache, so keeping the pair keeps the connection.
struct KubeHttp::Handle {
  CURL* easy = nullptr;
  CURLM* multi = nullptr;
  char error[CURL_ERROR_SIZE] = {};
  ~Handle() {
    if (multi != nullptr) curl_multi_cleanup(multi);
    if (easy != nullptr) curl_easy_cleanup(easy);
  }
};

// One request's state, seen by the callbacks on the calling thread.
struct KubeHttp::Transfer {
  explicit Transfer(CURL* e) : easy(e) {}
  ~Transfer() {
    curl_slist_free_all(headers);
    curl_slist_free_all(connect_to);
  }
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  CURL* easy;
  curl_slist* headers = nullptr;
  curl_slist* connect_to = nullptr;
  std::string what;                            // "GET https://...", for messages
  std::string curl_error;                      // when result is not CURLE_OK
  const KubeStreamHandler* handler = nullptr;  // stream()
  size_t limit = 0;
  std::chrono::milliseconds idle_timeout{0};  // 0: none
  Clock::time_point last_activity = Clock::now();

  std::string body;
  std::optional<uint32_t> retry_after_s;
  bool too_big = false;
  Status rejected;  // on_bytes's error
  CURLcode result = CURLE_OK;
  bool canceled = false;
  bool stalled = false;

  long status() const {
    long code = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    return code;
  }

  static size_t on_write(char* data, size_t size, size_t n, void* self) {
    auto& t = *static_cast<Transfer*>(self);
    const size_t bytes = size * n;
    t.last_activity = Clock::now();
    const long code = t.status();
    if (t.handler != nullptr && code >= 200 && code < 300) {
      t.rejected = t.handler->on_bytes(std::string_view(data, bytes));
      return t.rejected.ok() ? bytes : 0;
    }
    if (t.body.size() + bytes > t.limit) {
      t.too_big = true;
      return 0;  // CURLE_WRITE_ERROR: nothing more is read
    }
    t.body.append(data, bytes);
    return bytes;
  }

  static size_t on_header(char* data, size_t size, size_t n, void* self) {
    auto& t = *static_cast<Transfer*>(self);
    const std::string_view line(data, size * n);
    t.last_activity = Clock::now();
    if (line.rfind("HTTP/", 0) == 0) {
      t.retry_after_s.reset();  // a new response (after a 100 Continue)
    } else if (line == "\r\n" || line == "\n") {
      const long code = t.status();
      if (code >= 200 && t.handler != nullptr && t.handler->on_response)
        t.handler->on_response(code);
    } else if (header_is(line, "Retry-After")) {
      const std::string_view v = trim(line.substr(line.find(':') + 1));
      uint32_t seconds = 0;
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
      if (ec == std::errc() && end == v.data() + v.size()) t.retry_after_s = seconds;
    }
    return size * n;
  }
};

KubeHttpOptions KubeHttpOptions::from(const KubeConfig& config) {
  KubeHttpOptions o;
  o.request_timeout = std::chrono::milliseconds(config.request_timeout_ms);
  o.max_response_bytes = size_t{config.max_response_mb} << 20;
  return o;
}

void KubeCancel::cancel() {
  std::lock_guard lock(mu_);
  canceled_ = true;
  for (void* m : multis_) curl_multi_wakeup(static_cast<CURLM*>(m));
}

bool KubeCancel::canceled() const {
  std::lock_guard lock(mu_);
  return canceled_;
}

bool KubeCancel::attach(void* multi) {
  std::lock_guard lock(mu_);
  if (canceled_) return false;
  multis_.push_back(multi);
  return true;
}

void KubeCancel::detach(void* multi) {
  std::lock_guard lock(mu_);
  multis_.erase(std::remove(multis_.begin(), multis_.end(), multi), multis_.end());
}

Result<std::unique_ptr<KubeHttp>> KubeHttp::create(KubeCredentials credentials,
                                                   KubeHttpOptions options) {
  global_init();
  auto url = split_url(credentials.server);
  if (!url) return Status::invalid(credentials.origin + ": " + url.status().message());
  std::string base = credentials.server;
  std::string connect_to;
  // libcurl has no option for the name a certificate is checked against:
  // the URL names the server by tls-server-name (SNI and verification use
  // it) and CURLOPT_CONNECT_TO sends the connection to the real host.
  if (!credentials.tls_server_name.empty()) {
    base = url->scheme + "://" + credentials.tls_server_name + ":" + url->port + url->path;
    connect_to = credentials.tls_server_name + ":" + url->port + ":" + url->host + ":" + url->port;
  }
  return std::unique_ptr<KubeHttp>(
      new KubeHttp(std::move(credentials), options, std::move(base), std::move(connect_to)));
}

KubeHttp::KubeHttp(KubeCredentials credentials, KubeHttpOptions options, std::string base_url,
                   std::string connect_to)
    : credentials_(std::move(credentials)),
      options_(options),
      base_url_(std::move(base_url)),
      connect_to_(std::move(connect_to)) {}

KubeHttp::~KubeHttp() {
  shutdown();
}

void KubeHttp::shutdown() {
  shutdown_.cancel();
}

std::string KubeHttp::escape(std::string_view value) {
  global_init();
  char* escaped = curl_easy_escape(nullptr, value.data(), static_cast<int>(value.size()));
  std::string out = escaped != nullptr ? escaped : "";
  curl_free(escaped);
  return out;
}

Result<std::unique_ptr<KubeHttp::Handle>> KubeHttp::acquire() {
  {
    std::lock_guard lock(pool_mu_);
    if (!pool_.empty()) {
      auto h = std::move(pool_.back());
      pool_.pop_back();
      return h;
    }
  }
  auto h = std::make_unique<Handle>();
  h->easy = curl_easy_init();
  h->multi = curl_multi_init();
  if (h->easy == nullptr || h->multi == nullptr) return Status::internal("curl: out of memory");
  CURL* e = h->easy;
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->error);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_USERAGENT, "tartand");
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // whatever libcurl decodes (gzip ...)
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.request_timeout.count()));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::on_write);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  const auto blob = [&](CURLoption option, const std::string& pem) {
    curl_blob b{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(e, option, &b);
  };
  const KubeCredentials& c = credentials_;
  if (!c.ca_pem.empty()) blob(CURLOPT_CAINFO_BLOB, c.ca_pem);
  if (!c.client_cert_pem.empty()) {
    blob(CURLOPT_SSLCERT_BLOB, c.client_cert_pem);
    curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    blob(CURLOPT_SSLKEY_BLOB, c.client_key_pem);
    curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
  }
  if (c.insecure_skip_tls_verify) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  return h;
}

void KubeHttp::release(std::unique_ptr<Handle> handle) {
  std::lock_guard lock(pool_mu_);
  pool_.push_back(std::move(handle));
}

void KubeHttp::perform(Handle& h, Transfer& t, KubeCancel* cancel) {
  CURLM* multi = h.multi;
  // Detaching what was never attached is harmless.
  const auto detach = [&] {
    if (cancel != nullptr) cancel->detach(multi);
    shutdown_.detach(multi);
  };
  if (!shutdown_.attach(multi) || (cancel != nullptr && !cancel->attach(multi))) {
    detach();
    t.canceled = true;
    return;
  }
  t.last_activity = Clock::now();
  if (const CURLMcode mc = curl_multi_add_handle(multi, h.easy); mc != CURLM_OK) {
    detach();
    t.result = CURLE_FAILED_INIT;
    snprintf(h.error, sizeof h.error, "%s", curl_multi_strerror(mc));
    return;
  }
  while (true) {
    int running = 0;
    if (const CURLMcode mc = curl_multi_perform(multi, &running); mc != CURLM_OK) {
      t.result = CURLE_RECV_ERROR;
      snprintf(h.error, sizeof h.error, "%s", curl_multi_strerror(mc));
      break;
    }
    if (running == 0) {
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
        if (m->msg == CURLMSG_DONE) t.result = m->data.result;
      }
      break;
    }
    if (shutdown_.canceled() || (cancel != nullptr && cancel->canceled())) {
      t.canceled = true;
      break;
    }
    int wait_ms = 1000;
    if (t.idle_timeout.count() > 0) {
      const auto left = t.idle_timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                             Clock::now() - t.last_activity);
      if (left.count() <= 0) {
        t.stalled = true;
        break;
      }
      wait_ms = static_cast<int>(std::min<int64_t>(wait_ms, left.count()));
    }
    curl_multi_poll(multi, nullptr, 0, wait_ms, nullptr);
  }
  curl_multi_remove_handle(multi, h.easy);
  detach();
}

void KubeHttp::start(Handle& h, Transfer& t, std::string_view method, const std::string& path,
                     const std::string& content_type) {
  CURL* e = h.easy;
  const std::string url = base_url_ + path;
  t.what = std::string(method) + " " + url;
  t.limit = options_.max_response_bytes;
  const auto add = [&](const std::string& header) {
    t.headers = curl_slist_append(t.headers, header.c_str());
  };
  add("Accept: application/json");
  add("Expect:");  // no 100-continue round trip before a large body
  if (!content_type.empty()) add("Content-Type: " + content_type);
  if (credentials_.token) add("Authorization: Bearer " + credentials_.token->current());
  if (!connect_to_.empty()) t.connect_to = curl_slist_append(nullptr, connect_to_.c_str());
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_CONNECT_TO, t.connect_to);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);  // also forgets the last request's body
  const std::string m(method);               // libcurl copies it
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m == "GET" ? nullptr : m.c_str());
  h.error[0] = '\0';
}

void KubeHttp::finish(Handle& h, Transfer& t) {
  // The lists die with the transfer; the handle must not point at them.
  curl_easy_setopt(h.easy, CURLOPT_CONNECT_TO, nullptr);
  curl_easy_setopt(h.easy, CURLOPT_HTTPHEADER, nullptr);
  long connects = 0;
  curl_easy_getinfo(h.easy, CURLINFO_NUM_CONNECTS, &connects);
  connections_ += static_cast<uint64_t>(connects);
  t.curl_error = h.error[0] != '\0' ? h.error : curl_easy_strerror(t.result);
}

std::string KubeHttp::too_large(const Transfer& t) const {
  return t.what + ": the response is larger than " + size_text(options_.max_response_bytes) +
         " (lease.kube.max_response_mb)";
}

Result<KubeResponse> KubeHttp::request(std::string_view method, const std::string& path,
                                       const std::string& body, const std::string& content_type,
                                       KubeCancel* cancel) {
  auto handle = acquire();
  if (!handle) return handle.status();
  Handle& h = **handle;
  Transfer t(h.easy);
  start(h, t, method, path, content_type);
  curl_easy_setopt(h.easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
  // A Content-Length above the limit fails before any byte of the body.
  curl_easy_setopt(h.easy, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(options_.max_response_bytes));
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    curl_easy_setopt(h.easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(h.easy, CURLOPT_POSTFIELDS, body.data());
  }
  perform(h, t, cancel);
  finish(h, t);
  const long status = t.status();
  release(std::move(*handle));

  if (t.canceled) return Status(ErrorCode::kAborted, t.what + ": canceled");
  if (t.too_big || t.result == CURLE_FILESIZE_EXCEEDED)
    return Status(ErrorCode::kResourceExhausted, too_large(t));
  if (t.result != CURLE_OK) return Status(ErrorCode::kUnavailable, t.what + ": " + t.curl_error);
  return KubeResponse{status, std::move(t.body), t.retry_after_s};
}

KubeStreamEnd KubeHttp::stream(const std::string& path, std::chrono::milliseconds idle_timeout,
                               const KubeStreamHandler& handler, KubeCancel* cancel) {
  using How = KubeStreamEnd::How;
  KubeStreamEnd end;
  auto handle = acquire();
  if (!handle) {
    end.how = How::kConnectionLost;
    end.error = handle.status();
    return end;
  }
  Handle& h = **handle;
  Transfer t(h.easy);
  start(h, t, "GET", path, "");
  t.handler = &handler;
  t.idle_timeout = idle_timeout;
  curl_easy_setopt(h.easy, CURLOPT_TIMEOUT_MS, 0L);  // the idle timeout and the server bound it
  curl_easy_setopt(h.easy, CURLOPT_MAXFILESIZE_LARGE, curl_off_t{0});
  perform(h, t, cancel);
  finish(h, t);
  end.status = t.status();
  end.retry_after_s = t.retry_after_s;
  if (end.status < 200 || end.status >= 300) end.body = std::move(t.body);
  release(std::move(*handle));

  if (t.canceled) {
    end.how = How::kCanceled;
    end.error = Status(ErrorCode::kAborted, t.what + ": canceled");
  } else if (t.stalled) {
    end.how = How::kStalled;
    end.error = Status(ErrorCode::kUnavailable, t.what + ": stalled: nothing received for " +
                                                    std::to_string(idle_timeout.count()) + " ms");
  } else if (!t.rejected.ok()) {
    end.how = How::kRejected;
    end.error = t.rejected;
  } else if (t.too_big) {
    end.how = How::kRejected;
    end.error = Status(ErrorCode::kResourceExhausted, too_large(t));
  } else if (t.result != CURLE_OK) {
    end.how = How::kConnectionLost;
    end.error = Status(ErrorCode::kUnavailable, t.what + ": " + t.curl_error);
  }
  return end;
}

}  // namespace tartan
