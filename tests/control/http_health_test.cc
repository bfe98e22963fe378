// /healthz and /readyz of a whole tartand (in process) on control.http.listen,
// asked as the kubelet's probes ask.
#include <gtest/gtest.h>

#include "tartan/v1/lease.grpc.pb.h"
#include "tests/support/api_calls.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/http_client.h"
#include "tests/support/taken_port.h"

namespace tartan {
namespace {

using testing::ctx;
using testing::DaemonFixture;
using testing::http_request;

const std::string kHttpOnLoopback = ", http: {listen: '127.0.0.1:0'}";

std::string url(DaemonFixture& fx, const std::string& path) {
  return "http://" + fx.daemon().http()->address() + path;
}

TEST(HttpHealth, AliveButNotReadyUntilTheGrpcLeaseIsSetThenReady) {
  DaemonFixture fx({.lease_source = "grpc", .control_yaml = kHttpOnLoopback});
  ASSERT_NE(fx.daemon().http(), nullptr);

  auto r = http_request(url(fx, "/healthz"));
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "ok");
  r = http_request(url(fx, "/readyz"));
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find(": NOT READY (up "), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\nlease_acquired       no    waiting for Leases.SetLocalLease\n"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("\nworkers_running      yes   1 workers polling\n"), std::string::npos)
      << r.body;
  r = http_request(url(fx, "/readyz?format=json"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_NE(r.body.find("\"name\": \"lease_acquired\",\n   \"ok\": false"), std::string::npos)
      << r.body;

  v1::SetLocalLeaseRequest set;
  set.set_pod_cidr("10.244.7.0/24");
  v1::LocalLease lease;
  ASSERT_TRUE(v1::Leases::NewStub(fx.channel())->SetLocalLease(ctx().get(), set, &lease).ok());
  r = http_request(url(fx, "/readyz"), "GET", {"Accept: application/json"});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"ready\": true"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"message\": \"grpc 10.244.7.0/24\""), std::string::npos) << r.body;
  EXPECT_EQ(http_request(url(fx, "/healthz")).status, 200);
}

TEST(HttpHealth, UnknownPathsAre404AndOtherMethods405) {
  DaemonFixture fx({.control_yaml = kHttpOnLoopback});
  EXPECT_EQ(http_request(url(fx, "/readyz")).status, 200);  // static lease: ready at once
  EXPECT_EQ(http_request(url(fx, "/metric")).status, 404);
  EXPECT_EQ(http_request(url(fx, "/")).status, 404);
  const auto r = http_request(url(fx, "/healthz"), "POST");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "GET, HEAD");
  EXPECT_EQ(http_request(url(fx, "/readyz"), "DELETE").status, 405);
}

TEST(HttpHealth, OffUnlessConfiguredAndGoneOnStop) {
  {
    DaemonFixture off;
    EXPECT_EQ(off.daemon().http(), nullptr);
  }
  DaemonFixture fx({.control_yaml = kHttpOnLoopback});
  const std::string healthz = url(fx, "/healthz");
  ASSERT_EQ(http_request(healthz).status, 200);
  fx.daemon().stop();
  const auto r = http_request(healthz);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "Couldn't connect to server");
}

TEST(HttpHealth, APortInUseStopsTheDaemonNamingTheKey) {
  const testing::TakenPort taken;  // as flanneld's --healthz-port would hold it
  const std::string& listen = taken.address();
  std::string error = "started";
  try {
    DaemonFixture fx({.control_yaml = ", http: {listen: '" + listen + "'}"});
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  EXPECT_EQ(error, "control.http.listen " + listen + ": cannot listen: Address already in use");
}

}  // namespace
}  // namespace tartan
