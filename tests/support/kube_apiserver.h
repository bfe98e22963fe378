// A Kubernetes API server double for tests and benchmarks, in process: the
// documented semantics of kube-apiserver for what tartan (and flanneld)
// use, over HTTP or HTTPS on libmicrohttpd, proven faithful by driving it
// with the real kubectl (tests/control/kube_apiserver_test.cc).
//
// Served: discovery (/api, /api/v1, /apis, /version; /openapi/* is 404, so
// kubectl create/apply need --validate=false); Nodes: LIST (limit,
// continue, resourceVersion, resourceVersionMatch, labelSelector,
// fieldSelector), WATCH (resourceVersion, allowWatchBookmarks,
// timeoutSeconds, ERROR 410 once a version left the history), GET, POST,
// PUT, DELETE (a DeleteOptions body, preconditions), PATCH of the Node and
// of /status (merge, strategic, JSON patch); Pods: GET. Bearer tokens and
// client certificates (CN = user), RBAC-like grants. Faults on demand.
//
// Not served: other resources, Table output (a plain NodeList is what
// kubectl then prints), protobuf, HTTP/2, gzip-compressed responses,
// server-side apply, WATCH with sendInitialEvents, finalizers (a DELETE
// removes the Node at once), managedFields, unknown-field pruning,
// anonymous requests once any authentication is configured (as with
// --anonymous-auth=false), closing watches too slow to keep up.
//
// Use (link kube_support_dep):
//   KubeApiServer api;  // http://127.0.0.1:<free port>; KubeApiOptions for TLS, auth
//   api.create_node(node_manifest("node-a", "10.244.1.0/24"));
//   ... the client under test talks to api.url() ...
//   api.fail_next(2, 429, {.method = "GET", .path = "/api/v1/nodes"}, 1);
//   api.drop_watches_mid_event();
//   EXPECT_EQ(api.requests().back().content_type, "application/strategic-merge-patch+json");
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/kube/access.h"
#include "tests/support/kube/faults.h"
#include "tests/support/kube/node_store.h"
#include "tests/support/kube/server_state.h"

namespace tartan::testing {

// Objects as JSON, members kept in the order written (as Go writes them).
using KubeObject = kube::Json;
using KubeGrant = kube::Grant;
using KubeRequestMatch = kube::RequestMatch;
using KubeWatchChunking = kube::WatchChunking;
using KubePatchType = kube::PatchType;

struct KubeApiOptions {
  std::string address = "127.0.0.1";
  int port = 0;  // 0: a free one
  // PEM. Both set: HTTPS.
  std::string cert_pem;
  std::string key_pem;
  // PEM. Set: a client certificate from this CA authenticates as its CN.
  std::string client_ca_pem;
  // Bearer token -> user name.
  std::map<std::string, std::string> tokens;
  // With neither tokens nor client_ca_pem every request is served; with
  // either, a request without valid credentials is 401.
  // User -> what the user may do (403 for the rest); users not listed may
  // do everything.
  std::map<std::string, std::vector<KubeGrant>> grants;
  // Node events kept for watches and continue tokens (the watch cache's
  // window); older versions are 410.
  size_t history_window = 1000;
  std::chrono::milliseconds bookmark_interval{60'000};
  // A watch without timeoutSeconds ends after a random time in [t, 2t).
  std::chrono::milliseconds min_request_timeout{1'800'000};
  // See kube::ListRequest: a LIST at resourceVersion=0 ignores limit unless set.
  bool paginate_any_version = false;
};

struct KubeLoggedRequest {
  std::string method;
  std::string path;
  std::string query;  // as sent
  std::string content_type;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string user;  // as authenticated, "" when open or refused
  int code = 0;
};

// flannel's ClusterRole (Documentation/kube-flannel.yml): pods get; nodes
// get, list, watch; nodes/status patch.
std::vector<KubeGrant> flannel_cluster_role();

// A Node as a test or kubelet would create it: name, podCIDR(s) when
// given, labels and annotations.
KubeObject node_manifest(const std::string& name, const std::string& pod_cidr = "",
                         const std::map<std::string, std::string>& annotations = {},
                         const std::map<std::string, std::string>& labels = {});

class KubeApiServer {
 public:
  // Listening once constructed; throws std::runtime_error if it cannot.
  explicit KubeApiServer(KubeApiOptions options = {});
  ~KubeApiServer();  // ends every watch and joins every thread
  KubeApiServer(const KubeApiServer&) = delete;
  KubeApiServer& operator=(const KubeApiServer&) = delete;

  // "http(s)://127.0.0.1:<port>".
  std::string url() const;
  int port() const;
  // The same server also reachable on a socket inside network namespace
  // `netns` (by name under /var/run/netns); returns its port.
  int listen_in_netns(const std::string& netns, const std::string& address = "0.0.0.0",
                      int port = 0);
  // The server gone (every connection dropped, nothing listening) and back
  // on the same ports, with the same state.
  void stop_serving();
  void resume_serving();

  // The test-side API: what a kubelet or controller writing would do, with
  // the same versions and watch events as requests get. Throws
  // std::runtime_error with the Status message on failure.
  KubeObject create_node(KubeObject node);
  // Replaces the whole Node, spec and status.
  KubeObject replace_node(KubeObject node);
  KubeObject patch_node(const std::string& name, KubePatchType type, const std::string& patch,
                        bool status_subresource = false);
  void delete_node(const std::string& name);
  KubeObject create_pod(KubeObject pod);  // metadata.namespace, "default" if unset
  std::optional<KubeObject> node(const std::string& name) const;
  std::string resource_version() const;
  int open_watches() const;
  void set_history_window(size_t events);
  // Forgets the history: watches and continue tokens from before now are 410.
  void compact();
  // How watch events are cut into chunks from now on (also for open watches).
  void set_watch_chunking(const KubeWatchChunking& chunking);

  // Faults. The next `count` requests matching get `code` (a Status body;
  // 429 in plain text, as the real server's limiter answers), with
  // Retry-After when `retry_after_s` > 0.
  void fail_next(int count, int code, const KubeRequestMatch& match = {}, int retry_after_s = 0);
  // The next matching response is not JSON / its first half only (a watch:
  // its first event cut in half, then a clean end) / a NodeList of `bytes`
  // bytes, streamed.
  void respond_with_garbage(const KubeRequestMatch& match);
  void respond_truncated(const KubeRequestMatch& match);
  void respond_huge(const KubeRequestMatch& match, size_t bytes);
  // Every open watch: its next event (pending, or the next change) is cut
  // after about half of its bytes and the connection reset.
  void drop_watches_mid_event();
  // Every open watch ends cleanly, as at its timeout.
  void close_watches();
  // Open watches send nothing and new requests wait, until release() or
  // `at_most` (zero: until release()).
  void stall(std::chrono::milliseconds at_most = std::chrono::milliseconds(0));
  // Only the watches open now send nothing (no events, no bookmarks, no
  // end), as if hung on the way; new requests and watches are served.
  void stall_open_watches(std::chrono::milliseconds at_most = std::chrono::milliseconds(0));
  // Ends both stalls.
  void release();

  std::vector<KubeLoggedRequest> requests() const;
  void clear_requests();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tartan::testing
