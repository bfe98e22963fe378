#include "tests/support/kube/api_handler.h"

#include <algorithm>
#include <cctype>
#include <random>

#include "tests/support/kube/discovery.h"
#include "tests/support/kube/watch_stream.h"

namespace tartan::testing::kube {
namespace {

// The cacher waits this long for a resourceVersion it has not reached yet
// before answering "Too large resource version" (cacher.go blockTimeout).
constexpr auto kTooLargeWait = std::chrono::seconds(3);

Reply json_reply(const Outcome& o) {
  Reply r;
  r.code = o.code;
  r.body = o.body.dump();
  return r;
}

// What Go's mux answers for a path nothing serves.
Reply page_not_found() {
  Reply r;
  r.code = 404;
  r.content_type = "text/plain; charset=utf-8";
  r.body = "404 page not found\n";
  return r;
}

std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> out;
  size_t from = 0;
  while (from <= path.size()) {
    const size_t to = std::min(path.find('/', from), path.size());
    if (to > from) out.push_back(path.substr(from, to - from));
    from = to + 1;
  }
  return out;
}

std::string media_type(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  t.erase(std::remove_if(t.begin(), t.end(), [](unsigned char c) { return std::isspace(c); }),
          t.end());
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  return t;
}

int64_t integer_param(const Request& request, const std::string& name) {
  try {
    return request.has_param(name) ? std::stoll(request.param(name)) : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

// The resource a path names.
struct Route {
  enum Kind { kNone, kApi, kCoreV1, kApis, kVersion, kNodes, kNode, kPod } kind = kNone;
  std::string name;
  std::string subresource;
  std::string namespace_name;
};

Route route_of(const std::string& path) {
  const auto s = segments(path);
  const size_t n = s.size();
  if (n == 1 && s[0] == "api") return {Route::kApi};
  if (n == 1 && s[0] == "apis") return {Route::kApis};
  if (n == 1 && s[0] == "version") return {Route::kVersion};
  if (n < 2 || s[0] != "api" || s[1] != "v1") return {};
  if (n == 2) return {Route::kCoreV1};
  if (s[2] == "nodes") {
    if (n == 3) return {Route::kNodes};
    if (n == 4) return {Route::kNode, s[3]};
    if (n == 5 && s[4] == "status") return {Route::kNode, s[3], "status"};
  }
  if (n == 6 && s[2] == "namespaces" && s[4] == "pods") return {Route::kPod, s[5], "", s[3]};
  return {};
}

std::string verb_of(const Route& route, const Request& request) {
  const std::string& m = request.method;
  if (route.kind == Route::kNodes) {
    if (m == "GET") return request.flag("watch") ? "watch" : "list";
    if (m == "POST") return "create";
  } else {
    if (m == "GET") return "get";
    if (m == "PUT") return "update";
    if (m == "PATCH") return "patch";
    if (m == "DELETE") return "delete";
  }
  return "";
}

bool allowed(const Route& route, const std::string& verb) {
  if (verb.empty()) return false;
  if (route.kind == Route::kPod) return verb == "get";
  if (route.kind == Route::kNode && route.subresource == "status")
    return verb == "get" || verb == "update" || verb == "patch";
  return true;
}

std::optional<Json> parse_body(const Request& request, Outcome& error) {
  Json body = Json::parse(request.body, nullptr, false);
  if (body.is_discarded()) {
    error = bad_request("couldn't get version/kind; json parse error: invalid JSON in the body");
    return std::nullopt;
  }
  return body;
}

// Waits (up to the cacher's 3 s) for the store to reach `wanted`.
void wait_for_version(ServerState& state, std::unique_lock<std::mutex>& lock,
                      const std::string& wanted) {
  uint64_t rv = 0;
  try {
    rv = std::stoull(wanted);
  } catch (const std::exception&) {
    return;
  }
  const auto until = Clock::now() + kTooLargeWait;
  while (state.store.resource_version() < rv && !state.stopping && Clock::now() < until)
    state.wait(lock, until);
}

Reply watch(ServerState& state, const HandlerConfig& config, const Request& request,
            Selector selector) {
  WatchOptions options;
  options.selector = std::move(selector);
  options.bookmarks = request.flag("allowWatchBookmarks");
  options.bookmark_interval = config.bookmark_interval;
  std::chrono::milliseconds timeout(integer_param(request, "timeoutSeconds") * 1000);
  if (timeout.count() <= 0) {
    // handlers/get.go: min-request-timeout scaled by a random factor in [1, 2).
    static std::mt19937 rng{std::random_device{}()};
    timeout = std::chrono::milliseconds(static_cast<int64_t>(
        config.min_request_timeout.count() * std::uniform_real_distribution<>(1.0, 2.0)(rng)));
  }
  options.deadline = Clock::now() + timeout;

  const std::string rv = request.param("resourceVersion");
  Reply reply;
  std::unique_lock lock(state.mu);
  std::vector<NodeEvent> backlog;
  if (rv.empty() || rv == "0") {
    // Get State and Start at Most Recent: the current objects as ADDED.
    for (const auto& [name, node] : state.store.nodes())
      backlog.push_back({"ADDED", state.store.resource_version(), node, nullptr});
  } else {
    if (rv.find_first_not_of("0123456789") != std::string::npos || rv.size() > 19)
      return json_reply(bad_request("resource version is not well formed: " + rv));
    const uint64_t since = std::stoull(rv);
    wait_for_version(state, lock, rv);
    // Once the watch is accepted, errors are ERROR events (cacher.go Watch).
    if (since > state.store.resource_version()) {
      reply.stream = std::make_unique<WatchStream>(
          state, too_large_resource_version(since, state.store.resource_version()).body);
      return reply;
    }
    auto events = state.store.events_since(since);
    if (!events) {
      // watch_cache.go getAllEventsSinceLocked.
      reply.stream = std::make_unique<WatchStream>(
          state, expired("too old resource version: " + rv + " (" +
                         std::to_string(state.store.oldest_servable()) + ")")
                     .body);
      return reply;
    }
    backlog = std::move(*events);
  }
  reply.stream = std::make_unique<WatchStream>(state, std::move(options), backlog);
  return reply;
}

Reply list(ServerState& state, const HandlerConfig& config, const Request& request,
           Selector selector) {
  ListRequest list;
  list.resource_version = request.param("resourceVersion");
  list.resource_version_match = request.param("resourceVersionMatch");
  list.limit = integer_param(request, "limit");
  list.continue_token = request.param("continue");
  list.selector = std::move(selector);
  list.paginate_any_version = config.paginate_any_version;
  std::unique_lock lock(state.mu);
  if (!list.resource_version.empty() && list.continue_token.empty())
    wait_for_version(state, lock, list.resource_version);
  return json_reply(state.store.list(list));
}

std::optional<PatchType> patch_type(const std::string& content_type) {
  const std::string t = media_type(content_type);
  if (t == "application/merge-patch+json") return PatchType::kMerge;
  if (t == "application/strategic-merge-patch+json") return PatchType::kStrategic;
  if (t == "application/json-patch+json") return PatchType::kJson;
  return std::nullopt;
}

// A write to the store, published to the watches when it changed anything.
template <class Apply>
Reply write(ServerState& state, Apply&& apply) {
  std::lock_guard lock(state.mu);
  std::optional<NodeEvent> event;
  const Outcome outcome = apply(event);
  if (event) state.publish(*event);
  return json_reply(outcome);
}

Reply node_verb(ServerState& state, const HandlerConfig& config, const Route& route,
                const std::string& verb, const Request& request) {
  if (route.kind == Route::kNodes) {
    Selector selector;
    try {
      selector = Selector(request.param("labelSelector"), request.param("fieldSelector"));
    } catch (const SelectorError& e) {
      return json_reply(bad_request(e.what()));
    }
    if (verb == "watch") return watch(state, config, request, std::move(selector));
    if (verb == "list") return list(state, config, request, std::move(selector));
  }
  const Write part{route.subresource == "status" ? Subresource::kStatus : Subresource::kMain};
  Outcome error;
  if (verb == "create") {
    auto body = parse_body(request, error);
    if (!body) return json_reply(error);
    return write(state, [&](auto& event) { return state.store.create(*body, true, event); });
  }
  if (verb == "get") {
    std::lock_guard lock(state.mu);
    return json_reply(state.store.get(route.name));
  }
  if (verb == "update") {
    auto body = parse_body(request, error);
    if (!body) return json_reply(error);
    return write(state,
                 [&](auto& event) { return state.store.update(route.name, *body, part, event); });
  }
  if (verb == "patch") {
    const auto type = patch_type(request.header("content-type"));
    if (!type) return json_reply(unsupported_media_type());
    return write(state, [&](auto& event) {
      return state.store.patch(route.name, *type, request.body, part, event);
    });
  }
  // delete: the body, if any, is DeleteOptions.
  Json options;
  if (!request.body.empty()) {
    auto body = parse_body(request, error);
    if (!body) return json_reply(error);
    options = *body;
  }
  return write(state, [&](auto& event) { return state.store.remove(route.name, options, event); });
}

}  // namespace

Reply handle_request(ServerState& state, const HandlerConfig& config, const Request& request,
                     std::string& user) {
  auto who = authenticate(config.access, request);
  if (auto* refused = std::get_if<Outcome>(&who)) return json_reply(*refused);
  user = std::get<std::string>(who);

  const Route route = route_of(request.path);
  switch (route.kind) {
    case Route::kNone:
      return page_not_found();
    case Route::kApi:
    case Route::kCoreV1:
    case Route::kApis:
    case Route::kVersion: {
      // Discovery is open to every authenticated user (system:discovery).
      if (request.method != "GET") return json_reply(method_not_allowed());
      Outcome o;
      o.body = route.kind == Route::kApi      ? api_versions(config.server_address)
               : route.kind == Route::kCoreV1 ? core_v1_resources()
               : route.kind == Route::kApis   ? api_groups()
                                              : version_info();
      return json_reply(o);
    }
    default:
      break;
  }
  const std::string verb = verb_of(route, request);
  if (!allowed(route, verb)) return json_reply(method_not_allowed());
  const std::string resource = route.kind == Route::kPod ? "pods" : "nodes";
  if (auto denied =
          authorize(config.access, user,
                    {verb, resource, route.subresource, route.name, route.namespace_name}))
    return json_reply(*denied);
  if (request.body_too_large) return json_reply(request_entity_too_large(kMaxRequestBody));
  if (route.kind == Route::kPod) {
    std::lock_guard lock(state.mu);
    return json_reply(state.store.get_pod(route.namespace_name, route.name));
  }
  return node_verb(state, config, route, verb, request);
}

}  // namespace tartan::testing::kube
