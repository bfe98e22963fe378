// control/http: the HTTP server, the control-loop probe behind /healthz and
// the /healthz and /readyz answers, on loopback with a real client.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

#include "control/http/control_loop_probe.h"
#include "control/http/health_endpoints.h"
#include "control/http/http_server.h"
#include "tests/support/http_client.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::http_request;

std::unique_ptr<HttpServer> serve(std::map<std::string, HttpHandler> routes) {
  auto server = HttpServer::start("127.0.0.1:0", std::move(routes));
  EXPECT_TRUE(server.ok()) << server.status().message();
  return server.ok() ? std::move(server).value() : nullptr;
}

std::string url(const HttpServer& s, const std::string& path) {
  return "http://" + s.address() + path;
}

// Whether a socket can be bound to 127.0.0.1:port now.
bool port_free(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(fd, 1) == 0;
  close(fd);
  return ok;
}

TEST(HttpServer, ServesItsPathsToGetAndHeadAnd404sOthersAnd405sOtherMethods) {
  HttpRequest seen;
  auto server = serve({{"/x", [&](const HttpRequest& r) {
                          seen = r;
                          return HttpResponse{201, "application/json", "{}"};
                        }}});
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->address(), "127.0.0.1:" + std::to_string(server->port()));
  EXPECT_NE(server->port(), 0);

  auto r = http_request(url(*server, "/x?format=json&a=b"), "GET", {"Accept: application/json"});
  EXPECT_EQ(r.status, 201) << r.error;
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, "{}");
  EXPECT_EQ(seen.path, "/x");
  EXPECT_EQ(seen.accept, "application/json");
  EXPECT_EQ(seen.query, (std::map<std::string, std::string>{{"a", "b"}, {"format", "json"}}));

  r = http_request(url(*server, "/x"), "HEAD");
  EXPECT_EQ(r.status, 201) << r.error;
  EXPECT_EQ(r.body, "");

  r = http_request(url(*server, "/y"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "404 page not found\n");
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
    r = http_request(url(*server, "/x"), method);
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(r.allow, "GET, HEAD") << method;
  }
}

TEST(HttpServer, AHandlerThatThrowsGives500AndTheServerCarriesOn) {
  auto server = serve(
      {{"/boom", [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("kaboom"); }}});
  ASSERT_NE(server, nullptr);
  for (int i = 0; i < 2; ++i) {
    const auto r = http_request(url(*server, "/boom"));
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(r.body, "500 kaboom\n");
  }
}

TEST(HttpServer, APortInUseIsAnErrorNamingTheAddressAndStopReleasesThePort) {
  auto first = serve({});
  ASSERT_NE(first, nullptr);
  const uint16_t port = first->port();
  const std::string listen = "127.0.0.1:" + std::to_string(port);
  auto second = HttpServer::start(listen, {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(), listen + ": cannot listen: Address already in use");
  first.reset();
  EXPECT_TRUE(port_free(port)) << "the listening socket outlived the server";

  auto bad = HttpServer::start("localhost:80", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "'localhost' is not an IPv4 address in 'localhost:80'");
}

TEST(HttpServer, ListensOnIpv6Loopback) {
  auto server = HttpServer::start("[::1]:0", {{"/x", [](const HttpRequest&) {
                                                 return HttpResponse{200, "text/plain", "six"};
                                               }}});
  ASSERT_TRUE(server.ok()) << server.status().message();
  EXPECT_EQ((*server)->address(), "[::1]:" + std::to_string((*server)->port()));
  const auto r = http_request(url(**server, "/x"));
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "six");
}

TEST(ControlLoopProbe, AnswersWhileTheCheckReturnsAndNotWhileItIsStuck) {
  std::mutex control_lock;
  std::atomic<int> checks = 0;
  ControlLoopProbe probe(
      [&] {
        std::lock_guard lock(control_lock);
        ++checks;
      },
      200ms);
  EXPECT_TRUE(probe.answers());
  EXPECT_EQ(checks, 1);
  {
    std::lock_guard held(control_lock);  // the control side is stuck
    EXPECT_FALSE(probe.answers());
    EXPECT_FALSE(probe.answers());  // the stuck check still covers this one
  }
  // The stuck check finishes once the lock is free; a new one answers.
  EXPECT_TRUE(probe.answers());
  EXPECT_GE(checks, 2);
}

TEST(ControlLoopProbe, ACheckThatThrowsIsNoAnswer) {
  std::atomic<bool> fail = true;
  ControlLoopProbe probe(
      [&] {
        if (fail) throw std::runtime_error("x");
      },
      1s);
  EXPECT_FALSE(probe.answers());
  fail = false;
  EXPECT_TRUE(probe.answers());
}

class HealthEndpoints : public ::testing::Test {
 protected:
  HealthEndpoints()
      : readiness_({"lease_acquired", "ports_started"}),
        probe_([this] { std::lock_guard lock(control_lock_); }, 200ms),
        server_(serve(health_routes(readiness_, probe_))) {}

  std::mutex control_lock_;
  Readiness readiness_;
  ControlLoopProbe probe_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HealthEndpoints, HealthzIsOkWhileTheControlLoopAnswersElse503) {
  ASSERT_NE(server_, nullptr);
  auto r = http_request(url(*server_, "/healthz"));
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "ok");
  std::lock_guard held(control_lock_);
  r = http_request(url(*server_, "/healthz"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "control loop did not answer within 200 ms\n");
}

TEST_F(HealthEndpoints, ReadyzListsEachConditionAndIs200OnlyWhenAllHold) {
  ASSERT_NE(server_, nullptr);
  readiness_.set("ports_started", true, "2 ports up");
  readiness_.set("lease_acquired", false, "waiting for spec.podCIDR of node-1");
  auto r = http_request(url(*server_, "/readyz"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  EXPECT_NE(r.body.find(": NOT READY (up "), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\nlease_acquired   no    waiting for spec.podCIDR of node-1\n"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("\nports_started    yes   2 ports up\n"), std::string::npos) << r.body;

  readiness_.set("lease_acquired", true, "kube 10.244.1.0/24");
  r = http_request(url(*server_, "/readyz"));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(": ready (up "), std::string::npos) << r.body;
}

TEST_F(HealthEndpoints, ReadyzGivesTheHealthApisJsonOnRequest) {
  ASSERT_NE(server_, nullptr);
  readiness_.set("ports_started", true, "2 ports up");
  for (const auto& [path, header] : std::vector<std::pair<std::string, std::string>>{
           {"/readyz?format=json", ""}, {"/readyz", "Accept: application/json"}}) {
    const auto r = http_request(url(*server_, path), "GET",
                                header.empty() ? std::vector<std::string>{} : std::vector{header});
    EXPECT_EQ(r.status, 503) << path;
    EXPECT_EQ(r.content_type, "application/json") << path;
    EXPECT_NE(r.body.find("\"ready\": false"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\"name\": \"lease_acquired\",\n   \"ok\": false,\n   \"message\": "
                          "\"not yet\""),
              std::string::npos)
        << r.body;
  }
  const auto text =
      http_request(url(*server_, "/readyz?format=text"), "GET", {"Accept: application/json"});
  EXPECT_EQ(text.content_type, "text/plain; charset=utf-8");
  const auto bad = http_request(url(*server_, "/readyz?format=xml"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, "format: expected json or text, found 'xml'\n");
}

}  // namespace
}  // namespace tartan
