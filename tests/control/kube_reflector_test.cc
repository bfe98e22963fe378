// The Node reflector (control/sources/kube/node_reflector) against the API
// server double, as client-go's reflector behaves: a paged LIST, then a
// WATCH whose events and bookmarks are applied whatever the chunking; a
// 410 relists and the caller reconciles a deletion it never saw as an
// event; an expired continue token restarts the LIST; a dropped connection
// resumes without relisting; a stall is detected and replaced; 429 waits
// for Retry-After; 401/403 are reported with their cause; garbage,
// truncated and 100 MB answers are errors after which it goes on; TLS with
// a client certificate and with a bearer token; stop() is prompt.
#include "control/sources/kube/node_reflector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/support/files.h"
#include "tests/support/kube_apiserver.h"
#include "tests/support/kubelet_node.h"
#include "tests/support/process.h"
#include "tests/support/test_pki.h"

namespace tartan {
namespace {

using std::chrono::milliseconds;
using testing::eventually;
using ::testing::HasSubstr;
using testing::KubeApiOptions;
using testing::KubeApiServer;
using testing::KubeObject;
using ::testing::StartsWith;

constexpr milliseconds kWait(15000);
const std::string kNodes = "/api/v1/nodes";

// A kubelet-managed Node for the double (which sets resourceVersion).
KubeObject node(int i) {
  nlohmann::json n = testing::kubelet_node({.name = "node-" + std::to_string(i),
                                            .pod_cidr = "10.244." + std::to_string(i) + ".0/24",
                                            .internal_ip = "192.168.0." + std::to_string(i)});
  n["metadata"].erase("resourceVersion");
  return KubeObject::parse(n.dump());
}

// What a caller of the reflector would mirror, and what it was told.
class Recorder {
 public:
  NodeReflector::Callbacks callbacks() {
    return {.on_list =
                [this](std::vector<KubeNode> nodes, const std::string&) {
                  std::lock_guard lock(mu_);
                  ++lists_;
                  nodes_.clear();
                  for (KubeNode& n : nodes) nodes_[n.spec.name] = std::move(n);
                },
            .on_event =
                [this](WatchEventType type, KubeNode n) {
                  std::lock_guard lock(mu_);
                  events_.emplace_back(watch_event_name(type), n.spec.name);
                  if (type == WatchEventType::kDeleted)
                    nodes_.erase(n.spec.name);
                  else
                    nodes_[n.spec.name] = std::move(n);
                },
            .on_health =
                [this](bool ok, const std::string& cause) {
                  std::lock_guard lock(mu_);
                  health_.emplace_back(ok, cause);
                }};
  }
  int lists() const {
    std::lock_guard lock(mu_);
    return lists_;
  }
  std::set<std::string> names() const {
    std::lock_guard lock(mu_);
    std::set<std::string> out;
    for (const auto& [name, n] : nodes_) out.insert(name);
    return out;
  }
  std::optional<KubeNode> get(const std::string& name) const {
    std::lock_guard lock(mu_);
    const auto it = nodes_.find(name);
    if (it == nodes_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::pair<std::string, std::string>> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  std::vector<std::pair<bool, std::string>> health() const {
    std::lock_guard lock(mu_);
    return health_;
  }
  // A health report not ok whose cause contains `text`.
  bool reported(const std::string& text) const {
    for (const auto& [ok, cause] : health())
      if (!ok && cause.find(text) != std::string::npos) return true;
    return false;
  }

 private:
  mutable std::mutex mu_;
  int lists_ = 0;
  std::map<std::string, KubeNode> nodes_;
  std::vector<std::pair<std::string, std::string>> events_;
  std::vector<std::pair<bool, std::string>> health_;
};

NodeReflectorOptions fast() {
  NodeReflectorOptions o;
  o.retry_initial = milliseconds(20);
  o.retry_max = milliseconds(200);
  o.watch_timeout_min = std::chrono::seconds(30);
  o.list_page_size = 10;
  o.watch_idle_timeout = milliseconds(10000);
  return o;
}

std::set<std::string> names(int from, int to) {
  std::set<std::string> out;
  for (int i = from; i <= to; ++i) out.insert("node-" + std::to_string(i));
  return out;
}

// A reflector on `server` and what it reported.
struct Reflecting {
  Reflecting(const KubeApiServer& server, NodeReflectorOptions options = fast(),
             KubeCredentials credentials = {}, KubeHttpOptions http_options = {}) {
    if (credentials.server.empty()) credentials.server = server.url();
    credentials.origin = "test";
    http = std::move(KubeHttp::create(std::move(credentials), http_options).value());
    reflector = std::make_unique<NodeReflector>(
        *http, node_decode_options(annotation_keys("flannel.alpha.coreos.com").value(), "node-1"),
        options, recorder.callbacks());
    reflector->start();
  }
  NodeReflectorCounters counters() const { return reflector->counters(); }
  bool listed(int lists = 1) const {
    return eventually([&] { return recorder.lists() >= lists; }, kWait);
  }
  bool watching(uint64_t watches = 1) const {
    return eventually([&] { return counters().watches >= watches; }, kWait);
  }
  // A watch that saw a bookmark is not a "very short watch" when it ends.
  bool bookmarked() const {
    return eventually([&] { return counters().bookmarks >= 1; }, kWait);
  }

  Recorder recorder;
  std::unique_ptr<KubeHttp> http;
  std::unique_ptr<NodeReflector> reflector;
};

// `name` deleted while the reflector cannot reach the server, and the
// history with it: only a relist can show that it is gone.
void delete_unseen(KubeApiServer& server, const Reflecting& r, const std::string& name) {
  server.stop_serving();
  ASSERT_TRUE(
      eventually([&] { return r.recorder.reported("cannot reach the API server"); }, kWait));
  server.delete_node(name);
  server.compact();
  server.resume_serving();
}

TEST(NodeReflector, PagedListThenWatchEventsApplied) {
  KubeApiServer server;
  for (int i = 1; i <= 25; ++i) server.create_node(node(i));
  Reflecting r(server);
  ASSERT_TRUE(r.listed());
  EXPECT_EQ(r.recorder.names(), names(1, 25));
  const std::optional<KubeNode> n7 = r.recorder.get("node-7");
  ASSERT_TRUE(n7.has_value());
  EXPECT_EQ(n7->spec.pod_cidrs, std::vector<std::string>{"10.244.7.0/24"});
  EXPECT_EQ(n7->spec.annotations.at("flannel.alpha.coreos.com/public-ip"), "192.168.0.7");
  EXPECT_EQ(r.counters().list_pages, 3u);
  std::vector<std::string> lists;
  for (const auto& q : server.requests())
    if (q.path == kNodes && q.query.find("watch") == std::string::npos) lists.push_back(q.query);
  ASSERT_EQ(lists.size(), 3u);
  EXPECT_EQ(lists[0], "limit=10");
  EXPECT_THAT(lists[1], StartsWith("limit=10&continue="));

  ASSERT_TRUE(r.watching());
  server.create_node(node(26));
  server.patch_node(
      "node-3", testing::KubePatchType::kMerge,
      R"({"metadata":{"annotations":{"flannel.alpha.coreos.com/public-ip":"192.0.2.3"}}})");
  server.delete_node("node-5");
  ASSERT_TRUE(eventually([&] { return r.recorder.events().size() == 3; }, kWait));
  EXPECT_EQ(r.recorder.events(),
            (std::vector<std::pair<std::string, std::string>>{
                {"ADDED", "node-26"}, {"MODIFIED", "node-3"}, {"DELETED", "node-5"}}));
  std::set<std::string> expected = names(1, 26);
  expected.erase("node-5");
  EXPECT_EQ(r.recorder.names(), expected);
  EXPECT_EQ(r.recorder.get("node-3")->spec.annotations.at("flannel.alpha.coreos.com/public-ip"),
            "192.0.2.3");
  const NodeReflectorCounters c = r.counters();
  EXPECT_EQ(c.lists, 1u);
  EXPECT_EQ(c.relists, 0u);
  EXPECT_EQ(c.events, 3u);
  EXPECT_EQ(c.errors, 0u) << c.last_error;
  EXPECT_EQ(c.resource_version, server.resource_version());
  EXPECT_EQ(r.recorder.health(), (std::vector<std::pair<bool, std::string>>{{true, ""}}));
}

TEST(NodeReflector, WatchRequestAsClientGoSendsIt) {
  KubeApiServer server;
  Reflecting r(server);
  ASSERT_TRUE(r.watching());
  std::string query;
  for (const auto& q : server.requests())
    if (q.query.find("watch=true") != std::string::npos) query = q.query;
  EXPECT_THAT(query, StartsWith("watch=true&resourceVersion=" + r.counters().resource_version +
                                "&allowWatchBookmarks=true&timeoutSeconds="));
  const int timeout = std::stoi(query.substr(query.rfind('=') + 1));
  EXPECT_GE(timeout, 30);
  EXPECT_LT(timeout, 60);
}

TEST(NodeReflector, EventsSplitIntoOneByteChunksAndMerged) {
  KubeApiServer server;
  Reflecting r(server);
  ASSERT_TRUE(r.watching());
  // Up to five events per chunk, each chunk sent one byte at a time.
  server.set_watch_chunking({.events_per_chunk = 5, .pieces = 1 << 20});
  for (int i = 1; i <= 12; ++i) server.create_node(node(i));
  ASSERT_TRUE(eventually([&] { return r.recorder.events().size() == 12; }, kWait));
  EXPECT_EQ(r.recorder.names(), names(1, 12));
  // Then random boundaries, several events merged.
  server.set_watch_chunking({.events_per_chunk = 4, .pieces = 7, .random_boundaries = true});
  for (int i = 1; i <= 12; ++i) {
    server.patch_node("node-" + std::to_string(i), testing::KubePatchType::kMerge,
                      R"({"metadata":{"annotations":{"tartan.io/round":"2"}}})");
  }
  ASSERT_TRUE(eventually([&] { return r.recorder.events().size() == 24; }, kWait));
  for (int i = 1; i <= 12; ++i)
    EXPECT_EQ(r.recorder.get("node-" + std::to_string(i))->spec.annotations.at("tartan.io/round"),
              "2");
  EXPECT_EQ(r.counters().errors, 0u) << r.counters().last_error;
}

TEST(NodeReflector, BookmarksMoveTheVersionOnly) {
  KubeApiServer server({.bookmark_interval = milliseconds(100)});
  server.create_node(node(1));
  Reflecting r(server);
  ASSERT_TRUE(r.listed());
  const std::string listed_at = r.counters().resource_version;
  server.create_pod(
      {{"metadata", {{"name", "p"}, {"namespace", "default"}}}});  // moves the version
  ASSERT_TRUE(eventually(
      [&] {
        const auto c = r.counters();
        return c.bookmarks >= 2 && c.resource_version == server.resource_version();
      },
      kWait));
  EXPECT_NE(r.counters().resource_version, listed_at);
  EXPECT_TRUE(r.recorder.events().empty());
  EXPECT_EQ(r.counters().lists, 1u);
}

TEST(NodeReflector, ExpiredVersionRelistsAndTheCallerSeesTheDeletion) {
  KubeApiServer server({.bookmark_interval = milliseconds(100)});
  for (int i = 1; i <= 5; ++i) server.create_node(node(i));
  Reflecting r(server);
  ASSERT_TRUE(r.listed());
  ASSERT_TRUE(r.bookmarked());
  // node-2 goes while nothing watches, and the history with it.
  server.stop_serving();
  ASSERT_TRUE(
      eventually([&] { return r.recorder.reported("cannot reach the API server"); }, kWait));
  server.delete_node("node-2");
  server.compact();
  server.resume_serving();
  ASSERT_TRUE(r.listed(2));
  EXPECT_EQ(r.recorder.names(), (std::set<std::string>{"node-1", "node-3", "node-4", "node-5"}));
  for (const auto& [type, name] : r.recorder.events()) EXPECT_NE(name, "node-2") << type;
  const NodeReflectorCounters c = r.counters();
  EXPECT_GE(c.expired, 1u);
  EXPECT_EQ(c.relists, 1u);
  EXPECT_EQ(r.recorder.health().back(), (std::pair<bool, std::string>{true, ""}));
  // And it watches on from the new list.
  server.create_node(node(6));
  EXPECT_TRUE(eventually([&] { return r.recorder.names().count("node-6") == 1; }, kWait));
}

TEST(NodeReflector, ExpiredContinueTokenRestartsTheList) {
  KubeApiServer server({.history_window = 2});
  for (int i = 1; i <= 30; ++i) server.create_node(node(i));
  std::atomic<bool> churn{true};
  std::thread writer([&] {
    // Keeps the history moving so that a continue token expires between pages.
    for (int i = 0; churn; ++i) {
      server.patch_node(
          "node-30", testing::KubePatchType::kMerge,
          R"({"metadata":{"annotations":{"tartan.io/i":")" + std::to_string(i) + "\"}}}");
    }
  });
  NodeReflectorOptions o = fast();
  o.list_page_size = 5;
  Reflecting r(server, o);
  const bool restarted = eventually([&] { return r.counters().list_restarts >= 1; }, kWait);
  churn = false;
  writer.join();
  ASSERT_TRUE(restarted);
  ASSERT_TRUE(r.listed());
  EXPECT_EQ(r.recorder.names(), names(1, 30));
  bool expired_page = false;
  for (const auto& q : server.requests())
    expired_page |= q.code == 410 && q.query.find("continue=") != std::string::npos;
  EXPECT_TRUE(expired_page);
}

TEST(NodeReflector, ConnectionDroppedMidEventResumesWithoutRelisting) {
  KubeApiServer server({.bookmark_interval = milliseconds(100)});
  server.create_node(node(1));
  Reflecting r(server);
  ASSERT_TRUE(r.listed());
  ASSERT_TRUE(r.bookmarked());
  server.drop_watches_mid_event();
  server.create_node(node(2));  // its event is cut half-way, the connection reset
  ASSERT_TRUE(eventually([&] { return r.recorder.names().count("node-2") == 1; }, kWait));
  EXPECT_EQ(r.recorder.events(),
            (std::vector<std::pair<std::string, std::string>>{{"ADDED", "node-2"}}));
  const NodeReflectorCounters c = r.counters();
  EXPECT_EQ(c.lists, 1u);
  EXPECT_EQ(c.relists, 0u);
  EXPECT_GE(c.watches, 2u);
}

TEST(NodeReflector, StalledWatchIsDetectedAndReplaced) {
  KubeApiServer server;
  NodeReflectorOptions o = fast();
  o.watch_idle_timeout = milliseconds(500);
  Reflecting r(server, o);
  ASSERT_TRUE(r.watching());
  server.stall();
  ASSERT_TRUE(eventually(
      [&] { return r.recorder.reported("stalled: nothing received for 500 ms"); }, kWait));
  server.release();
  server.create_node(node(1));
  ASSERT_TRUE(eventually([&] { return r.recorder.names().count("node-1") == 1; }, kWait));
  EXPECT_GE(r.counters().watches, 2u);
  EXPECT_EQ(r.counters().lists, 1u);
  EXPECT_TRUE(eventually([&] { return r.recorder.health().back().first; }, kWait));
}

TEST(NodeReflector, TooManyRequestsWaitsForRetryAfter) {
  KubeApiServer server({.bookmark_interval = milliseconds(100)});
  server.create_node(node(1));
  server.fail_next(1, 429, {.method = "GET", .path = kNodes, .watch = false}, 2);
  const auto started = std::chrono::steady_clock::now();
  Reflecting r(server);
  ASSERT_TRUE(r.listed());
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_TRUE(r.recorder.reported("LIST /api/v1/nodes: 429 Too Many Requests"));

  // On the watch (one that saw a bookmark, so not a "very short" one): it
  // waits, then watches on from the same version.
  ASSERT_TRUE(r.bookmarked());
  server.fail_next(1, 429, {.watch = true}, 1);
  server.close_watches();
  ASSERT_TRUE(eventually([&] { return r.counters().watches >= 2; }, kWait));
  server.create_node(node(2));
  ASSERT_TRUE(eventually([&] { return r.recorder.names().count("node-2") == 1; }, kWait));
  EXPECT_EQ(r.counters().lists, 1u);
}

TEST(NodeReflector, CredentialsRefusedAreReportedWithTheCause) {
  KubeApiServer server(
      {.tokens = {{"good", "alice"}, {"limited", "bob"}}, .grants = {{"bob", {{"get", "nodes"}}}}});
  {
    Reflecting r(server, fast(), KubeCredentials{.token = std::make_shared<KubeToken>("wrong")});
    ASSERT_TRUE(eventually([&] { return !r.recorder.health().empty(); }, kWait));
    EXPECT_EQ(r.recorder.health().front(),
              (std::pair<bool, std::string>{
                  false,
                  "API server refused our credentials (test): LIST /api/v1/nodes: 401 "
                  "Unauthorized: Unauthorized"}));
    EXPECT_TRUE(eventually([&] { return r.counters().errors >= 3; }, kWait)) << "it keeps trying";
  }
  Reflecting r(server, fast(), KubeCredentials{.token = std::make_shared<KubeToken>("limited")});
  ASSERT_TRUE(eventually([&] { return !r.recorder.health().empty(); }, kWait));
  EXPECT_THAT(r.recorder.health().front().second,
              HasSubstr("API server refused our credentials (test): LIST /api/v1/nodes: 403 "
                        "Forbidden: nodes is forbidden: User \"bob\" cannot list resource "
                        "\"nodes\" in API group \"\" at the cluster scope"));
}

TEST(NodeReflector, GarbageTruncatedAndHugeListsAreErrorsAndItGoesOn) {
  KubeApiServer server;
  for (int i = 1; i <= 3; ++i) server.create_node(node(i));
  const testing::KubeRequestMatch lists{.method = "GET", .path = kNodes, .watch = false};
  server.respond_with_garbage(lists);
  server.respond_truncated(lists);
  server.respond_huge(lists, size_t{100} << 20);
  Reflecting r(server, fast(), {}, {.max_response_bytes = size_t{8} << 20});
  ASSERT_TRUE(r.listed());
  EXPECT_EQ(r.recorder.names(), names(1, 3));
  EXPECT_TRUE(r.recorder.reported("LIST /api/v1/nodes?limit=10: invalid JSON: "));
  EXPECT_TRUE(r.recorder.reported("the response is larger than 8 MiB"));
  EXPECT_GE(r.counters().errors, 3u);
}

TEST(NodeReflector, AFailedRelistChangesNothingTheCallerHas) {
  KubeApiServer server({.bookmark_interval = milliseconds(100)});
  for (int i = 1; i <= 3; ++i) server.create_node(node(i));
  Reflecting r(server);
  ASSERT_TRUE(r.listed());
  ASSERT_TRUE(r.bookmarked());
  server.respond_with_garbage({.method = "GET", .path = kNodes, .watch = false});
  delete_unseen(server, r, "node-3");
  ASSERT_TRUE(eventually([&] { return r.recorder.reported("invalid JSON"); }, kWait));
  ASSERT_TRUE(r.listed(2));
  EXPECT_EQ(r.recorder.names(), names(1, 2));
  EXPECT_EQ(r.recorder.lists(), 2) << "the garbage never reached the caller";
}

// The double's garbage is a JSON prefix with bytes no JSON has, then the
// end of the stream: an event that never completes, on a watch that ended
// at once.
TEST(NodeReflector, GarbageOnTheWatchIsAnErrorAndItRelists) {
  KubeApiServer server({.bookmark_interval = milliseconds(100)});
  server.create_node(node(1));
  Reflecting r(server);
  ASSERT_TRUE(r.bookmarked());
  server.respond_with_garbage({.watch = true});
  server.close_watches();
  ASSERT_TRUE(eventually([&] { return r.recorder.reported("WATCH /api/v1/nodes from "); }, kWait));
  ASSERT_TRUE(r.listed(2));
  server.create_node(node(2));
  EXPECT_TRUE(eventually([&] { return r.recorder.names() == names(1, 2); }, kWait));
}

TEST(NodeReflector, AHundredMegabyteEventIsRefusedAndItRelists) {
  KubeApiServer server;
  server.create_node(node(1));
  NodeReflectorOptions o = fast();
  o.max_event_bytes = size_t{8} << 20;
  Reflecting r(server, o);
  ASSERT_TRUE(r.listed());
  server.respond_huge({.watch = true}, size_t{100} << 20);
  server.close_watches();
  ASSERT_TRUE(eventually(
      [&] {
        return r.recorder.reported(
            "watch stream: an event larger than 8 MiB (lease.kube.max_response_mb)");
      },
      kWait));
  ASSERT_TRUE(r.listed(2));
  server.create_node(node(2));
  EXPECT_TRUE(eventually([&] { return r.recorder.names() == names(1, 2); }, kWait));
}

TEST(NodeReflector, AWatchEndedAtOnceWithNothingIsAnError) {
  KubeApiServer server;
  Reflecting r(server);
  // Each watch closed as soon as it opens: client-go's "very short watch".
  const bool reported = eventually(
      [&] {
        if (server.open_watches() > 0) server.close_watches();
        return r.recorder.reported("very short watch");
      },
      kWait, milliseconds(1));
  EXPECT_TRUE(reported);
  EXPECT_TRUE(r.listed(2)) << "a very short watch relists, as client-go's does";
}

class NodeReflectorTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::ScopedTempDir("kc-reflector-pki");
    testing::make_test_pki(dir_->path(), {"system:node:node-1"});
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string pem(const std::string& name) {
    return testing::read_file(dir_->path() + "/" + name);
  }
  static testing::ScopedTempDir* dir_;
};
testing::ScopedTempDir* NodeReflectorTls::dir_ = nullptr;

TEST_F(NodeReflectorTls, ClientCertificateAndBearerToken) {
  KubeApiServer server({.cert_pem = pem("server.crt"),
                        .key_pem = pem("server.key"),
                        .client_ca_pem = pem("ca.crt"),
                        .tokens = {{"sa-token", "system:serviceaccount:kube-flannel:flannel"}},
                        .grants = {{"system:serviceaccount:kube-flannel:flannel",
                                    testing::flannel_cluster_role()}}});
  server.create_node(node(1));
  Reflecting by_cert(server, fast(),
                     KubeCredentials{.ca_pem = pem("ca.crt"),
                                     .client_cert_pem = pem("system:node:node-1.crt"),
                                     .client_key_pem = pem("system:node:node-1.key")});
  Reflecting by_token(
      server, fast(),
      KubeCredentials{.ca_pem = pem("ca.crt"), .token = std::make_shared<KubeToken>("sa-token")});
  ASSERT_TRUE(by_cert.watching());
  ASSERT_TRUE(by_token.watching());
  server.create_node(node(2));
  EXPECT_TRUE(eventually([&] { return by_cert.recorder.names() == names(1, 2); }, kWait));
  EXPECT_TRUE(eventually([&] { return by_token.recorder.names() == names(1, 2); }, kWait));
  std::set<std::string> users;
  for (const auto& q : server.requests()) users.insert(q.user);
  EXPECT_EQ(users, (std::set<std::string>{"system:node:node-1",
                                          "system:serviceaccount:kube-flannel:flannel"}));
}

TEST(NodeReflector, StopIsPromptInABackOffAndInAWatch) {
  int port = 0;
  {
    KubeApiServer gone;
    port = gone.port();
  }
  NodeReflectorOptions slow = fast();
  slow.retry_initial = std::chrono::seconds(20);
  slow.retry_max = std::chrono::seconds(60);
  KubeApiServer server;
  Reflecting backing_off(server, slow,
                         KubeCredentials{.server = "http://127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(eventually([&] { return backing_off.counters().errors >= 1; }, kWait));
  Reflecting watching(server);
  ASSERT_TRUE(watching.watching());
  for (Reflecting* r : {&backing_off, &watching}) {
    const auto asked = std::chrono::steady_clock::now();
    r->reflector->stop();
    EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(2));
  }
}

}  // namespace
}  // namespace tartan
