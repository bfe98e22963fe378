#include "control/sources/kube/node_reflector.h"

#include <random>

#include "engine/log.h"

namespace tartan {
namespace {

constexpr const char* kNodes = "/api/v1/nodes";
// client-go's handleWatch: a watch that ends sooner than this having
// delivered nothing is an error ("very short watch").
constexpr auto kShortWatch = std::chrono::seconds(1);
// Continue tokens that expire again and again mean a list that cannot
// finish: give up and back off.
constexpr int kListRestarts = 3;

bool expired(const KubeApiStatus& s) {
  return s.code == 410 || s.reason == "Expired" || s.reason == "Gone";
}

}  // namespace

NodeReflectorOptions NodeReflectorOptions::from(const KubeConfig& config) {
  NodeReflectorOptions o;
  o.retry_initial = std::chrono::milliseconds(config.retry_initial_ms);
  o.retry_max = std::chrono::milliseconds(config.retry_max_ms);
  o.watch_timeout_min = std::chrono::seconds(config.watch_timeout_min_s);
  o.list_page_size = config.list_page_size;
  o.max_event_bytes = size_t{config.max_response_mb} << 20;
  return o;
}

NodeReflector::NodeReflector(KubeHttp& http, NodeDecodeOptions decode, NodeReflectorOptions options,
                             Callbacks callbacks)
    : http_(http),
      decode_(std::move(decode)),
      options_(options),
      callbacks_(std::move(callbacks)),
      backoff_(
          Backoff::client_go(options.retry_initial, options.retry_max, options.backoff_reset)) {}

NodeReflector::~NodeReflector() {
  stop();
}

void NodeReflector::start() {
  thread_ = std::thread([this] { run(); });
}

void NodeReflector::stop() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  cancel_.cancel();
  if (thread_.joinable()) thread_.join();
}

bool NodeReflector::stopping() const {
  std::lock_guard lock(stop_mu_);
  return stopping_;
}

NodeReflectorCounters NodeReflector::counters() const {
  std::lock_guard lock(counters_mu_);
  return counters_;
}

bool NodeReflector::back_off(std::optional<uint32_t> retry_after_s) {
  auto wait = backoff_.next();
  if (retry_after_s)
    wait = std::max<std::chrono::milliseconds>(wait, std::chrono::seconds(*retry_after_s));
  std::unique_lock lock(stop_mu_);
  stop_cv_.wait_for(lock, wait, [&] { return stopping_; });
  return !stopping_;
}

void NodeReflector::failed(const std::string& cause) {
  TARTAN_LOG(WARNING, kControl, "kube: %s", cause.c_str());
  update([&](NodeReflectorCounters& c) {
    ++c.errors;
    c.last_error = cause;
    c.healthy = false;
  });
  if (reported_healthy_ == false && reported_cause_ == cause) return;
  reported_healthy_ = false;
  reported_cause_ = cause;
  if (callbacks_.on_health) callbacks_.on_health(false, cause);
}

void NodeReflector::set_healthy() {
  update([](NodeReflectorCounters& c) { c.healthy = true; });
  if (reported_healthy_ == true) return;
  if (reported_healthy_ == false)
    TARTAN_LOG(NOTICE, kControl, "kube: API server reachable again (was: %s)",
               reported_cause_.c_str());
  reported_healthy_ = true;
  reported_cause_.clear();
  if (callbacks_.on_health) callbacks_.on_health(true, "");
}

std::string NodeReflector::http_cause(const std::string& what, const KubeResponse& r) const {
  if (r.status == 401 || r.status == 403)
    return "API server refused our credentials (" + http_.credentials().origin + "): " + what +
           ": " + r.error();
  return what + ": " + r.error();
}

void NodeReflector::run() {
  bool need_list = true;
  while (!stopping()) {
    if (need_list) {
      std::vector<KubeNode> nodes;
      std::string rv;
      if (auto f = list(nodes, rv)) {
        if (stopping()) return;
        failed(f->cause);
        if (!back_off(f->retry_after_s)) return;
        continue;
      }
      if (stopping()) return;
      resource_version_ = rv;
      update([&](NodeReflectorCounters& c) {
        ++c.lists;
        if (listed_once_) ++c.relists;
        c.resource_version = rv;
      });
      listed_once_ = true;
      need_list = false;
      set_healthy();
      if (callbacks_.on_list) callbacks_.on_list(std::move(nodes), rv);
    }
    switch (watch()) {
      case Next::kWatch:
        break;
      case Next::kWatchAfterBackoff:
        if (!back_off()) return;
        break;
      case Next::kListAfterBackoff:
        // client-go's Run waits its back-off between ListAndWatch rounds.
        need_list = true;
        if (!back_off()) return;
        break;
      case Next::kStop:
        return;
    }
  }
}

std::optional<NodeReflector::Failure> NodeReflector::list(std::vector<KubeNode>& nodes,
                                                          std::string& resource_version) {
  // No resourceVersion: a consistent read, which the server pages. With
  // resourceVersion=0 the watch cache ignores limit (client-go's
  // reflector.go says so), and one response with every kubelet-managed
  // Node (10-20 KB each) of a 5,000-node cluster is 50-100 MB.
  const std::string first =
      std::string(kNodes) + "?limit=" + std::to_string(options_.list_page_size);
  std::string token;
  int restarts = 0;
  nodes.clear();
  while (true) {
    const std::string path = token.empty() ? first : first + "&continue=" + KubeHttp::escape(token);
    auto r = http_.request("GET", path, {}, {}, &cancel_);
    if (!r) {
      if (r.status().code() == ErrorCode::kUnavailable)
        return Failure{"cannot reach the API server: " + r.status().message(), std::nullopt};
      return Failure{r.status().message(), std::nullopt};
    }
    if (r->status == 410 && !token.empty() && restarts < kListRestarts) {
      // The continue token's snapshot is compacted away: list again from
      // the first page. client-go's pager (tools/pager/pager.go,
      // FullListIfExpired) lists again without a limit instead; paging
      // keeps every response under max_response_mb.
      TARTAN_LOG(NOTICE, kControl, "kube: LIST %s: continue token expired, listing again", kNodes);
      ++restarts;
      update([](NodeReflectorCounters& c) { ++c.list_restarts; });
      token.clear();
      nodes.clear();
      continue;
    }
    if (!r->ok()) return Failure{http_cause("LIST " + std::string(kNodes), *r), r->retry_after_s};
    auto page = decode_node_list(r->body, decode_);
    if (!page) return Failure{"LIST " + path + ": " + page.status().message(), std::nullopt};
    update([](NodeReflectorCounters& c) { ++c.list_pages; });
    for (KubeNode& n : page->items) nodes.push_back(std::move(n));
    if (page->continue_token.empty()) {
      resource_version = page->resource_version;
      return std::nullopt;
    }
    token = page->continue_token;
  }
}

NodeReflector::Next NodeReflector::watch() {
  static thread_local std::mt19937 rng(std::random_device{}());
  const auto min_s = options_.watch_timeout_min.count();
  std::uniform_int_distribution<int64_t> timeout(min_s, 2 * min_s - 1);
  const std::string path =
      std::string(kNodes) + "?watch=true&resourceVersion=" + KubeHttp::escape(resource_version_) +
      "&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(timeout(rng));

  JsonStreamSplitter splitter(options_.max_event_bytes);
  std::optional<KubeApiStatus> error_event;
  uint64_t events = 0;  // every event, bookmarks included, as client-go counts
  const auto on_value = [&](std::string_view text) -> Status {
    auto e = decode_watch_event(text, decode_);
    if (!e) return e.status();
    ++events;
    switch (e->type) {
      case WatchEventType::kError:
        error_event = e->error;
        return Status(ErrorCode::kAborted, "ERROR event");  // ends the stream
      case WatchEventType::kBookmark:
        resource_version_ = e->node.resource_version;
        update([&](NodeReflectorCounters& c) {
          ++c.bookmarks;
          c.resource_version = resource_version_;
        });
        return {};
      default:
        resource_version_ = e->node.resource_version;
        update([&](NodeReflectorCounters& c) {
          ++c.events;
          c.resource_version = resource_version_;
        });
        if (callbacks_.on_event) callbacks_.on_event(e->type, std::move(e->node));
        return {};
    }
  };
  KubeStreamHandler handler;
  handler.on_response = [&](long status) {
    if (status != 200) return;
    update([](NodeReflectorCounters& c) { ++c.watches; });
    set_healthy();
  };
  handler.on_bytes = [&](std::string_view bytes) { return splitter.feed(bytes, on_value); };
  const auto started = Clock::now();
  const KubeStreamEnd end = http_.stream(path, options_.watch_idle_timeout, handler, &cancel_);
  using How = KubeStreamEnd::How;
  if (splitter.pending() > 0 && (end.how == How::kEnded || end.how == How::kConnectionLost)) {
    TARTAN_LOG(INFO, kControl, "kube: WATCH ended %zu bytes into an event (from %s)",
               splitter.pending(), resource_version_.c_str());
  }
  return after_watch(end, error_event, events, Clock::now() - started);
}

NodeReflector::Next NodeReflector::after_watch(const KubeStreamEnd& end,
                                               const std::optional<KubeApiStatus>& error_event,
                                               uint64_t events, Clock::duration lasted) {
  using How = KubeStreamEnd::How;
  const std::string what = "WATCH " + std::string(kNodes) + " from " + resource_version_;
  switch (end.how) {
    case How::kCanceled:
      return Next::kStop;
    case How::kStalled:
      failed(end.error.message());
      return Next::kWatchAfterBackoff;
    case How::kRejected:
      if (error_event) {
        if (expired(*error_event)) {
          TARTAN_LOG(NOTICE, kControl, "kube: %s: %d %s (%s): listing again", what.c_str(),
                     error_event->code, error_event->reason.c_str(), error_event->message.c_str());
          update([](NodeReflectorCounters& c) { ++c.expired; });
        } else {
          failed(what + ": ERROR event: " + std::to_string(error_event->code) + " " +
                 error_event->reason + ": " + error_event->message);
        }
      } else {
        failed(what + ": " + end.error.message());  // garbage, or an event too large
      }
      return Next::kListAfterBackoff;
    case How::kConnectionLost:
      if (end.status == 0) {
        failed("cannot reach the API server: " + end.error.message());
        return Next::kWatchAfterBackoff;
      }
      break;  // cut after the answer began: as if it ended (client-go: unexpected EOF)
    case How::kEnded:
      break;
  }
  if (end.status == 200) {
    if (lasted < kShortWatch && events == 0) {
      failed(what + ": very short watch: the server ended it within 1 s with no event");
      return Next::kListAfterBackoff;
    }
    return Next::kWatch;
  }
  const KubeResponse r = end.response();
  if (r.status == 410) {
    TARTAN_LOG(NOTICE, kControl, "kube: %s: %s: listing again", what.c_str(), r.error().c_str());
    update([](NodeReflectorCounters& c) { ++c.expired; });
    return Next::kListAfterBackoff;
  }
  failed(http_cause(what, r));
  if (r.status == 429) {
    // Retry-After, or the back-off when longer; the version is still good.
    if (!back_off(r.retry_after_s)) return Next::kStop;
    return Next::kWatch;
  }
  return Next::kListAfterBackoff;
}

}  // namespace tartan
