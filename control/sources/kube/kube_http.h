// HTTP to the Kubernetes API server over libcurl (TLS by OpenSSL): plain
// requests (GET, PATCH ...) and streaming GETs for watches, with the
// credentials of kube_credentials.h. Each transfer runs on the calling
// thread in a curl multi handle of its own, so a KubeCancel (or shutdown())
// ends it at once from any other thread (curl_multi_wakeup); handles are
// pooled, so a thread's next request reuses its connection.
//
// Thread-safe: any number of threads may call request() and stream() at
// the same time (tartan uses two: the watch and the lease's requests).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/config/kube_config.h"
#include "control/sources/kube/kube_credentials.h"
#include "control/sources/kube/kube_status.h"
#include "engine/status.h"

namespace tartan {

struct KubeHttpOptions {
  std::chrono::milliseconds request_timeout{10000};  // a whole request(); connecting, for stream()
  size_t max_response_bytes = size_t{64} << 20;      // a larger body is aborted, never held
  static KubeHttpOptions from(const KubeConfig& config);
};

struct KubeResponse {
  long status = 0;
  std::string body;
  std::optional<uint32_t> retry_after_s;  // Retry-After in seconds (client-go reads only those)
  bool ok() const { return status >= 200 && status < 300; }
  // "403 Forbidden: nodes is forbidden: User ..." (kube_status.h).
  std::string error() const { return describe_http_error(status, body); }
};

// Ends the transfers given it, now and later, from any thread.
class KubeCancel {
 public:
  void cancel();
  bool canceled() const;

 private:
  friend class KubeHttp;
  bool attach(void* multi);  // false when already canceled
  void detach(void* multi);

  mutable std::mutex mu_;
  bool canceled_ = false;
  std::vector<void*> multis_;  // CURLM* of the transfers to wake
};

// How a stream() ended.
struct KubeStreamEnd {
  enum class How {
    kEnded,           // the server ended the response (any status)
    kConnectionLost,  // before or after the headers (refused, reset, cut mid-body)
    kStalled,         // nothing received for the idle timeout
    kRejected,        // on_bytes returned an error, or the error body was too large
    kCanceled,
  };
  How how = How::kEnded;
  long status = 0;                        // 0: no response headers came
  std::string body;                       // the body, when the status is not 2xx
  std::optional<uint32_t> retry_after_s;  // as in KubeResponse
  Status error;                           // why, unless kEnded
  KubeResponse response() const { return {status, body, retry_after_s}; }
};

struct KubeStreamHandler {
  std::function<void(long status)> on_response;      // once the headers are in; optional
  std::function<Status(std::string_view)> on_bytes;  // an error ends the stream (kRejected)
};

class KubeHttp {
 public:
  static Result<std::unique_ptr<KubeHttp>> create(KubeCredentials credentials,
                                                  KubeHttpOptions options);
  ~KubeHttp();
  KubeHttp(const KubeHttp&) = delete;
  KubeHttp& operator=(const KubeHttp&) = delete;

  // One request; `path` starts with '/' and carries its query, already
  // escaped (escape()). An HTTP error status is a response, not an error:
  // errors are a connection that failed (kUnavailable), a body over
  // max_response_bytes (kResourceExhausted) and cancellation (kAborted).
  Result<KubeResponse> request(std::string_view method, const std::string& path,
                               const std::string& body = {}, const std::string& content_type = {},
                               KubeCancel* cancel = nullptr);

  // A GET whose 2xx body goes to handler.on_bytes as it arrives (no size
  // limit: the caller bounds what it keeps); another status's body is
  // collected, up to max_response_bytes. `idle_timeout` counts from the
  // request and from each byte received. The handler runs on this thread.
  KubeStreamEnd stream(const std::string& path, std::chrono::milliseconds idle_timeout,
                       const KubeStreamHandler& handler, KubeCancel* cancel = nullptr);

  // Ends every transfer in flight; later ones fail at once. Idempotent.
  void shutdown();

  // A query value, percent-escaped (continue tokens are opaque bytes).
  static std::string escape(std::string_view value);

  const KubeCredentials& credentials() const { return credentials_; }
  // Connections opened so far: a client that reuses them opens few.
  uint64_t connections_opened() const { return connections_.load(); }

 private:
  struct Handle;
  struct Transfer;
  KubeHttp(KubeCredentials credentials, KubeHttpOptions options, std::string base_url,
           std::string connect_to);
  Result<std::unique_ptr<Handle>> acquire();
  void release(std::unique_ptr<Handle> handle);
  // What every transfer sets: URL, headers (the current token), callbacks.
  void start(Handle& h, Transfer& t, std::string_view method, const std::string& path,
             const std::string& content_type);
  // Runs a started transfer to its end on this thread.
  void perform(Handle& h, Transfer& t, KubeCancel* cancel);
  void finish(Handle& h, Transfer& t);
  std::string too_large(const Transfer& t) const;

  const KubeCredentials credentials_;
  const KubeHttpOptions options_;
  const std::string base_url_;    // the server, or tls-server-name in its place
  const std::string connect_to_;  // CURLOPT_CONNECT_TO for tls-server-name
  KubeCancel shutdown_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Handle>> pool_;
  std::atomic<uint64_t> connections_{0};
};

}  // namespace tartan
