// Every Node of the cluster, kept current as client-go's reflector keeps
// an informer's cache (tools/cache/reflector.go): a LIST, then a WATCH from
// the list's resourceVersion, re-watched from the last version seen
// whenever it ends normally, re-listed when the version is gone.
//
//   LIST   GET /api/v1/nodes?limit=<list_page_size>[&continue=T], every
//          page; a 410 on a continue token (expired) lists again from the
//          first page.
//   WATCH  GET /api/v1/nodes?watch=true&resourceVersion=RV
//          &allowWatchBookmarks=true&timeoutSeconds=<[min, 2 min)>
//          ADDED/MODIFIED/DELETED go to the caller and move RV; BOOKMARK
//          moves RV only.
//   - The server ends the watch (timeoutSeconds, EOF, even mid-event):
//     watch again from RV, at once, without listing.
//   - ERROR 410 Expired (or a 410 answer), an ERROR of another kind, an
//     undecodable event, another HTTP error, or a watch that ended within
//     1 s with no event ("very short watch"): LIST again, after a back-off.
//   - Nothing received for watch_idle_timeout (a stalled watch), or the
//     connection failed before an answer: watch again from RV after a
//     back-off.
//   - 429: wait Retry-After (at least the back-off) and try again.
// Back-off: Backoff::client_go (800 ms doubling to 30 s, each wait in
// [d, 2d), reset after 2 min without a failure).
//
// Every complete LIST goes to on_list whole: the caller reconciles against
// it, so nodes deleted while nothing watched are dropped. Health is
// reported when it changes: not ok names the cause ("API server refused
// our credentials: 401 Unauthorized: ...").
//
// One thread runs it all, and the callbacks (never after stop() returns).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "control/config/kube_config.h"
#include "control/sources/backoff.h"
#include "control/sources/kube/kube_http.h"
#include "control/sources/kube/node_decoder.h"
#include "control/sources/kube/watch_stream.h"

namespace tartan {

struct NodeReflectorOptions {
  std::chrono::milliseconds retry_initial{800};
  std::chrono::milliseconds retry_max{30000};
  std::chrono::milliseconds backoff_reset{std::chrono::minutes(2)};
  std::chrono::seconds watch_timeout_min{300};
  uint32_t list_page_size = 500;
  size_t max_event_bytes = size_t{64} << 20;
  // kube-apiserver sends a BOOKMARK to every watch that allows them at
  // least once a minute (staging/src/k8s.io/apiserver/pkg/storage/cacher/
  // cacher.go, defaultBookmarkFrequency), so 2.5 minutes of silence is a
  // stalled watch, not a quiet cluster.
  std::chrono::milliseconds watch_idle_timeout{150000};
  static NodeReflectorOptions from(const KubeConfig& config);
};

// What the reflector has done, for tests, logs and `tartanctl health`.
struct NodeReflectorCounters {
  uint64_t lists = 0;          // complete LISTs delivered to on_list
  uint64_t list_pages = 0;     // LIST requests answered 200
  uint64_t relists = 0;        // LISTs after the first
  uint64_t list_restarts = 0;  // LISTs restarted because a continue token expired
  uint64_t watches = 0;        // WATCH requests answered 200
  uint64_t events = 0;         // ADDED, MODIFIED, DELETED delivered
  uint64_t bookmarks = 0;
  uint64_t expired = 0;  // watches ended by 410 Expired
  uint64_t errors = 0;   // failures of any kind (each named in last_error)
  std::string last_error;
  std::string resource_version;  // where the next watch starts
  bool healthy = false;
};

class NodeReflector {
 public:
  struct Callbacks {
    // After each complete LIST: every Node, and the version the watch goes on from.
    std::function<void(std::vector<KubeNode> nodes, const std::string& resource_version)> on_list;
    // ADDED, MODIFIED or DELETED.
    std::function<void(WatchEventType type, KubeNode node)> on_event;
    // When health changes (or, while not ok, its cause does).
    std::function<void(bool ok, const std::string& cause)> on_health;
  };

  // `http` must outlive the reflector.
  NodeReflector(KubeHttp& http, NodeDecodeOptions decode, NodeReflectorOptions options,
                Callbacks callbacks);
  ~NodeReflector();
  NodeReflector(const NodeReflector&) = delete;
  NodeReflector& operator=(const NodeReflector&) = delete;

  void start();
  // Ends the thread at once, also mid-request, mid-watch or mid-back-off.
  // Idempotent.
  void stop();

  NodeReflectorCounters counters() const;

 private:
  using Clock = std::chrono::steady_clock;
  // What to do after a watch.
  enum class Next { kWatch, kWatchAfterBackoff, kListAfterBackoff, kStop };
  struct Failure {
    std::string cause;
    std::optional<uint32_t> retry_after_s;
  };

  void run();
  // Every page; the nodes and the list's version, or why not.
  std::optional<Failure> list(std::vector<KubeNode>& nodes, std::string& resource_version);
  Next watch();
  Next after_watch(const KubeStreamEnd& end, const std::optional<KubeApiStatus>& error_event,
                   uint64_t events, Clock::duration lasted);
  // Counts and reports a failure.
  void failed(const std::string& cause);
  void set_healthy();
  // Waits the back-off (or Retry-After, when longer); false once stopping.
  bool back_off(std::optional<uint32_t> retry_after_s = std::nullopt);
  bool stopping() const;
  std::string http_cause(const std::string& what, const KubeResponse& response) const;
  template <class F>
  void update(F&& f) {
    std::lock_guard lock(counters_mu_);
    f(counters_);
  }

  KubeHttp& http_;
  const NodeDecodeOptions decode_;
  const NodeReflectorOptions options_;
  const Callbacks callbacks_;

  // The thread's own.
  Backoff backoff_;
  std::string resource_version_;
  std::optional<bool> reported_healthy_;
  std::string reported_cause_;
  bool listed_once_ = false;

  KubeCancel cancel_;
  mutable std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;

  mutable std::mutex counters_mu_;
  NodeReflectorCounters counters_;
};

}  // namespace tartan
