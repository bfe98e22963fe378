// tartan's HTTP client for the Kubernetes API (control/sources/kube/
// kube_http) against the API server double: requests and their bodies,
// Status errors as messages, bearer tokens re-read from their file,
// Retry-After, a 100 MB answer refused at the limit, streams that stall or
// are cancelled, two threads at once, TLS with a CA, client certificates,
// tls-server-name; and the node name from the pod.
#include "control/sources/kube/kube_http.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "control/sources/kube/kube_node_name.h"
#include "tests/support/files.h"
#include "tests/support/kube_apiserver.h"
#include "tests/support/process.h"
#include "tests/support/test_pki.h"

namespace tartan {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using testing::KubeApiOptions;
using testing::KubeApiServer;
using testing::node_manifest;

std::unique_ptr<KubeHttp> client(KubeCredentials c, KubeHttpOptions options = {}) {
  auto http = KubeHttp::create(std::move(c), options);
  if (!http) throw std::runtime_error(http.status().message());
  return std::move(*http);
}

std::unique_ptr<KubeHttp> client(const KubeApiServer& server, KubeHttpOptions options = {}) {
  KubeCredentials c;
  c.server = server.url();
  c.origin = "test";
  return client(std::move(c), options);
}

const std::string kNodes = "/api/v1/nodes";

TEST(KubeHttp, GetAndStatusErrorsAsMessages) {
  KubeApiServer server;
  server.create_node(node_manifest("n1", "10.244.1.0/24"));
  auto http = client(server);
  auto r = http->request("GET", kNodes + "/n1");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(nlohmann::json::parse(r->body)["metadata"]["name"], "n1");

  auto missing = http->request("GET", kNodes + "/nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->error(), "404 Not Found: nodes \"nope\" not found");
}

TEST(KubeHttp, PatchPostAndDeleteCarryTheirBodies) {
  KubeApiServer server;
  server.create_node(node_manifest("n1", "10.244.1.0/24"));
  auto http = client(server);
  auto patched = http->request(
      "PATCH", kNodes + "/n1/status",
      R"({"metadata":{"annotations":{"flannel.alpha.coreos.com/public-ip":"192.0.2.1"}}})",
      "application/strategic-merge-patch+json");
  ASSERT_TRUE(patched.ok()) << patched.status().message();
  EXPECT_EQ(patched->status, 200) << patched->body;
  EXPECT_EQ(
      server.node("n1").value()["metadata"]["annotations"]["flannel.alpha.coreos.com/public-ip"],
      "192.0.2.1");

  auto created = http->request("POST", kNodes, node_manifest("n2").dump(), "application/json");
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->status, 201) << created->body;
  auto again = http->request("POST", kNodes, node_manifest("n2").dump(), "application/json");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->error(), "409 Conflict: nodes \"n2\" already exists");

  auto deleted = http->request("DELETE", kNodes + "/n2", R"({"propagationPolicy":"Background"})",
                               "application/json");
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->status, 200) << deleted->body;
  EXPECT_FALSE(server.node("n2").has_value());
  // Then a GET on the same handle: nothing of the DELETE's body or method is left.
  auto get = http->request("GET", kNodes + "/n1");
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->status, 200);

  const auto log = server.requests();
  ASSERT_GE(log.size(), 5u);
  EXPECT_EQ(log[0].method, "PATCH");
  EXPECT_EQ(log[0].path, kNodes + "/n1/status");
  EXPECT_EQ(log[0].content_type, "application/strategic-merge-patch+json");
  EXPECT_EQ(log[3].method, "DELETE");
  EXPECT_EQ(log[3].body, R"({"propagationPolicy":"Background"})");
  EXPECT_EQ(log[4].method, "GET");
  EXPECT_EQ(log[4].body, "");
  EXPECT_THAT(log[4].headers.at("accept-encoding"), HasSubstr("gzip"));
  EXPECT_EQ(log[4].headers.at("accept"), "application/json");
  EXPECT_EQ(http->connections_opened(), 1u) << "one connection, reused";
}

TEST(KubeHttp, BearerTokenComesFromItsFileEachTimeItIsDue) {
  KubeApiServer server({.tokens = {{"first", "alice"}, {"second", "alice"}}});
  const testing::ScopedTempDir dir("kc-token");
  const std::string path = dir.path() + "/token";
  testing::write_file(path, "first\n");
  auto token = KubeToken::from_file(path, std::chrono::seconds(0));
  ASSERT_TRUE(token.ok());
  KubeCredentials c{.server = server.url(), .token = *token, .origin = "test"};
  auto http = client(c);
  auto ok = http->request("GET", kNodes);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
  testing::write_file(path, "revoked");
  auto refused = http->request("GET", kNodes);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->error(), "401 Unauthorized: Unauthorized");
  testing::write_file(path, "second");
  auto rotated = http->request("GET", kNodes);
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(rotated->status, 200);
  const auto log = server.requests();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].headers.at("authorization"), "Bearer first");
  EXPECT_EQ(log[2].headers.at("authorization"), "Bearer second");
  EXPECT_EQ(log[2].user, "alice");
}

TEST(KubeHttp, RetryAfterIsRead) {
  KubeApiServer server;
  server.fail_next(1, 429, {}, 3);
  auto http = client(server);
  auto r = http->request("GET", kNodes);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->retry_after_s, 3u);
  auto next = http->request("GET", kNodes);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->status, 200);
  EXPECT_FALSE(next->retry_after_s.has_value());
}

TEST(KubeHttp, AHundredMegabyteAnswerIsRefusedAtTheLimit) {
  KubeApiServer server;
  server.respond_huge({.method = "GET", .path = kNodes}, size_t{100} << 20);
  auto http = client(server, {.max_response_bytes = size_t{8} << 20});
  auto r = http->request("GET", kNodes + "?limit=500");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(r.status().message(), "GET " + server.url() + kNodes +
                                      "?limit=500: the response is larger than 8 MiB "
                                      "(lease.kube.max_response_mb)");
  auto next = http->request("GET", kNodes);
  ASSERT_TRUE(next.ok()) << next.status().message();
  EXPECT_EQ(next->status, 200);
}

TEST(KubeHttp, ARequestTheServerSitsOnTimesOut) {
  KubeApiServer server;
  auto http = client(server, {.request_timeout = milliseconds(300)});
  server.stall();
  auto r = http->request("GET", kNodes);
  server.release();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("timed out after 3"));  // "300 milliseconds" or so
  auto next = http->request("GET", kNodes);
  ASSERT_TRUE(next.ok()) << next.status().message();
  EXPECT_EQ(next->status, 200);
}

TEST(KubeHttp, UnreachableServerIsUnavailableNamingTheUrl) {
  int port = 0;
  {
    KubeApiServer gone;
    port = gone.port();
  }
  auto http = client(KubeCredentials{.server = "http://127.0.0.1:" + std::to_string(port)});
  auto r = http->request("GET", kNodes);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(r.status().message(),
              HasSubstr("GET http://127.0.0.1:" + std::to_string(port) + kNodes + ": "));
}

// Collects a stream's bytes on its own thread; `end` once joined. Ends
// the stream (its own cancel, or the one given) if a test stops early.
struct StreamRun {
  std::atomic<long> status{0};
  KubeStreamEnd end;
  std::thread thread;

  ~StreamRun() {
    if (!thread.joinable()) return;
    cancel_->cancel();
    thread.join();
  }
  void start(KubeHttp& http, const std::string& path, milliseconds idle, KubeCancel* cancel) {
    cancel_ = cancel != nullptr ? cancel : &own_cancel_;
    thread = std::thread([&http, path, idle, cancel = cancel_, this] {
      KubeStreamHandler h;
      h.on_response = [this](long s) { status = s; };
      h.on_bytes = [this](std::string_view b) {
        std::lock_guard lock(mu_);
        bytes_.append(b);
        return Status();
      };
      end = http.stream(path, idle, h, cancel);
    });
  }
  // A watch of Nodes from the server's current version.
  void watch(KubeHttp& http, const KubeApiServer& server, milliseconds idle,
             KubeCancel* cancel = nullptr) {
    start(http, kNodes + "?watch=true&resourceVersion=" + server.resource_version(), idle, cancel);
  }
  bool opened() const {
    return testing::eventually([&] { return status == 200; }, milliseconds(5000));
  }
  std::string bytes() const {
    std::lock_guard lock(mu_);
    return bytes_;
  }
  size_t count(const std::string& what) const {
    const std::string b = bytes();
    size_t n = 0;
    for (size_t at = 0; (at = b.find(what, at)) != std::string::npos; ++at) ++n;
    return n;
  }

 private:
  KubeCancel own_cancel_;
  KubeCancel* cancel_ = nullptr;
  mutable std::mutex mu_;
  std::string bytes_;
};

TEST(KubeHttp, StreamDeliversEventsAndEndsWhenTheServerEndsIt) {
  KubeApiServer server;
  auto http = client(server);
  StreamRun run;
  run.watch(*http, server, milliseconds(10000));
  ASSERT_TRUE(testing::eventually([&] { return server.open_watches() == 1; }, milliseconds(5000)));
  server.create_node(node_manifest("n1"));
  ASSERT_TRUE(testing::eventually([&] { return run.count("{\"type\":\"ADDED\"") == 1; },
                                  milliseconds(5000)));
  server.close_watches();
  run.thread.join();
  EXPECT_EQ(run.end.how, KubeStreamEnd::How::kEnded) << run.end.error.message();
  EXPECT_EQ(run.end.status, 200);
  EXPECT_EQ(run.status, 200);
}

TEST(KubeHttp, StalledStreamEndsAfterTheIdleTimeout) {
  KubeApiServer server;
  auto http = client(server);
  StreamRun run;
  run.watch(*http, server, milliseconds(300));
  run.thread.join();  // nothing happens on the server: no byte ever comes
  EXPECT_EQ(run.end.how, KubeStreamEnd::How::kStalled);
  EXPECT_THAT(run.end.error.message(), HasSubstr(": stalled: nothing received for 300 ms"));
}

TEST(KubeHttp, CancelEndsAStreamAtOnceAndLaterTransfersFail) {
  KubeApiServer server;
  auto http = client(server);
  KubeCancel cancel;
  StreamRun run;
  run.watch(*http, server, milliseconds(60000), &cancel);
  ASSERT_TRUE(run.opened());
  const auto asked = std::chrono::steady_clock::now();
  cancel.cancel();
  run.thread.join();
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(2));
  EXPECT_EQ(run.end.how, KubeStreamEnd::How::kCanceled);
  auto later = http->request("GET", kNodes, {}, {}, &cancel);
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.status().code(), ErrorCode::kAborted);
  // Another transfer of the same client is not affected; shutdown() ends all.
  EXPECT_TRUE(http->request("GET", kNodes).ok());
  http->shutdown();
  EXPECT_EQ(http->request("GET", kNodes).status().code(), ErrorCode::kAborted);
}

TEST(KubeHttp, AWatchAndRequestsFromTwoThreadsAtOnce) {
  KubeApiServer server;
  server.create_node(node_manifest("n1"));
  auto http = client(server);
  KubeCancel cancel;
  StreamRun run;
  run.watch(*http, server, milliseconds(60000), &cancel);
  ASSERT_TRUE(run.opened());
  for (int i = 0; i < 100; ++i) {
    auto r = http->request(
        "PATCH", kNodes + "/n1",
        R"({"metadata":{"annotations":{"tartan.io/i":")" + std::to_string(i) + "\"}}}",
        "application/merge-patch+json");
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_EQ(r->status, 200) << r->body;
  }
  EXPECT_TRUE(
      testing::eventually([&] { return run.count("\"MODIFIED\"") == 100; }, milliseconds(5000)));
  cancel.cancel();
  run.thread.join();
  EXPECT_EQ(run.end.how, KubeStreamEnd::How::kCanceled);
  EXPECT_EQ(http->connections_opened(), 2u) << "one for the watch, one for the requests";
}

// One PKI for the TLS tests: the server's certificate names 127.0.0.1 and
// kubernetes.default.svc; the client certificate's CN is the user.
class KubeHttpTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::ScopedTempDir("kc-pki");
    testing::make_test_pki(dir_->path(), {"system:node:worker-1"}, {"DNS:kubernetes.default.svc"});
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string pem(const std::string& name) {
    return testing::read_file(dir_->path() + "/" + name);
  }
  static KubeApiOptions tls_options() {
    return {.cert_pem = pem("server.crt"),
            .key_pem = pem("server.key"),
            .client_ca_pem = pem("ca.crt"),
            .tokens = {{"sa-token", "system:serviceaccount:kube-flannel:flannel"}}};
  }
  static testing::ScopedTempDir* dir_;
};
testing::ScopedTempDir* KubeHttpTls::dir_ = nullptr;

TEST_F(KubeHttpTls, ClientCertificateFromTheCa) {
  KubeApiServer server(tls_options());
  ASSERT_EQ(server.url().rfind("https://", 0), 0u);
  auto http = client(KubeCredentials{.server = server.url(),
                                     .ca_pem = pem("ca.crt"),
                                     .client_cert_pem = pem("system:node:worker-1.crt"),
                                     .client_key_pem = pem("system:node:worker-1.key")});
  auto r = http->request("GET", kNodes);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(server.requests().back().user, "system:node:worker-1");

  auto anonymous = client(KubeCredentials{.server = server.url(), .ca_pem = pem("ca.crt")});
  auto refused = anonymous->request("GET", kNodes);
  ASSERT_TRUE(refused.ok()) << refused.status().message();
  EXPECT_EQ(refused->status, 401);
}

TEST_F(KubeHttpTls, BearerTokenOverTls) {
  KubeApiServer server(tls_options());
  auto http = client(KubeCredentials{.server = server.url(),
                                     .ca_pem = pem("ca.crt"),
                                     .token = std::make_shared<KubeToken>("sa-token")});
  auto r = http->request("GET", kNodes);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(server.requests().back().user, "system:serviceaccount:kube-flannel:flannel");
}

TEST_F(KubeHttpTls, AServerTheCaDidNotSignIsRefused) {
  KubeApiServer server(tls_options());
  auto http = client(KubeCredentials{.server = server.url(), .ca_pem = pem("stranger.crt")});
  auto r = http->request("GET", kNodes);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("SSL certificate problem"));
  // Unless told not to check, as insecure-skip-tls-verify does.
  auto insecure = client(KubeCredentials{.server = server.url(),
                                         .insecure_skip_tls_verify = true,
                                         .token = std::make_shared<KubeToken>("sa-token")});
  auto ok = insecure->request("GET", kNodes);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->status, 200);
}

TEST_F(KubeHttpTls, TlsServerNameIsWhatTheCertificateIsCheckedAgainst) {
  KubeApiServer server(tls_options());
  const auto with_name = [&](const std::string& name) {
    return client(KubeCredentials{.server = server.url(),
                                  .ca_pem = pem("ca.crt"),
                                  .tls_server_name = name,
                                  .token = std::make_shared<KubeToken>("sa-token")});
  };
  auto named = with_name("kubernetes.default.svc")->request("GET", kNodes);
  ASSERT_TRUE(named.ok()) << named.status().message();
  EXPECT_EQ(named->status, 200);
  auto wrong = with_name("other.example")->request("GET", kNodes);
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.status().message(), HasSubstr("other.example"));
}

EnvLookup env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(KubeNodeName, FromNodeNameThenThePodThenTheConfig) {
  KubeApiServer server;
  server.create_pod(
      {{"metadata", {{"name", "kube-flannel-ds-x7k2p"}, {"namespace", "kube-flannel"}}},
       {"spec", {{"nodeName", "worker-7"}}}});
  server.create_pod({{"metadata", {{"name", "pending"}, {"namespace", "kube-flannel"}}},
                     {"spec", testing::KubeObject::object()}});
  auto http = client(server);
  EXPECT_EQ(kube_node_name(*http, "cfg", env({{"NODE_NAME", "worker-1"}})).value(), "worker-1");
  EXPECT_EQ(kube_node_name(
                *http, "cfg",
                env({{"POD_NAME", "kube-flannel-ds-x7k2p"}, {"POD_NAMESPACE", "kube-flannel"}}))
                .value(),
            "worker-7");
  EXPECT_EQ(kube_node_name(*http, "cfg", env({})).value(), "cfg");

  auto pending = kube_node_name(*http, "cfg",
                                env({{"POD_NAME", "pending"}, {"POD_NAMESPACE", "kube-flannel"}}));
  ASSERT_FALSE(pending.ok());
  EXPECT_EQ(pending.status().message(),
            "node name from pod kube-flannel/pending: spec.nodeName is empty");
  auto missing =
      kube_node_name(*http, "cfg", env({{"POD_NAME", "gone"}, {"POD_NAMESPACE", "kube-flannel"}}));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "node name from pod kube-flannel/gone: GET /api/v1/namespaces/kube-flannel/pods/gone: "
            "404 Not Found: pods \"gone\" not found");
}

}  // namespace
}  // namespace tartan
