// The tartan.v1 API served by a real tartand (in process) over a unix
// socket and over TLS: every RPC, every validation error with its field.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tartan/v1/config.grpc.pb.h"
#include "tartan/v1/health.grpc.pb.h"
#include "tartan/v1/lease.grpc.pb.h"
#include "tartan/v1/node.grpc.pb.h"
#include "tartan/v1/route.grpc.pb.h"
#include "tartan/v1/stats.grpc.pb.h"
#include "tests/support/api_calls.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/files.h"
#include "tests/support/process.h"
#include "tests/support/test_pki.h"

namespace tartan {
namespace {

using testing::apply;
using testing::ctx;
using testing::DaemonFixture;
using testing::flannel_node;

TEST(Api, NodesAreAppliedListedGotAndDeleted) {
  DaemonFixture fx;
  auto nodes = v1::Nodes::NewStub(fx.channel());
  v1::Node applied;
  ASSERT_TRUE(apply(*nodes, flannel_node(2), &applied).ok());
  EXPECT_EQ(applied.resource_version(), "1");
  EXPECT_TRUE(applied.status().routed());
  EXPECT_EQ(applied.status().route_prefix(), "10.244.2.0/24");
  EXPECT_EQ(applied.status().vtep_mac(), "0e:00:00:00:00:02");
  for (int i = 3; i <= 6; ++i) ASSERT_TRUE(apply(*nodes, flannel_node(i)).ok());

  v1::GetNodeRequest get;
  get.set_name("node-4");
  v1::Node got;
  ASSERT_TRUE(nodes->GetNode(ctx().get(), get, &got).ok());
  EXPECT_EQ(got.addresses(0).address(), "192.0.2.22");
  get.set_name("node-9");
  const grpc::Status missing = nodes->GetNode(ctx().get(), get, &got);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(missing.error_message(), "node 'node-9' not found");

  // Pages of two, in name order.
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    v1::ListNodesRequest req;
    req.set_page_size(2);
    req.set_page_token(token);
    v1::ListNodesResponse page;
    ASSERT_TRUE(nodes->ListNodes(ctx().get(), req, &page).ok());
    for (const auto& n : page.nodes()) names.push_back(n.name());
    EXPECT_EQ(page.resource_version(), "5");
    token = page.next_page_token();
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(names, (std::vector<std::string>{"node-2", "node-3", "node-4", "node-5", "node-6"}));

  v1::DeleteNodeRequest del;
  del.set_name("node-3");
  v1::DeleteNodeResponse gone;
  ASSERT_TRUE(nodes->DeleteNode(ctx().get(), del, &gone).ok());
  EXPECT_EQ(gone.resource_version(), "6");
  EXPECT_EQ(nodes->DeleteNode(ctx().get(), del, &gone).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(Api, InvalidRequestsAreInvalidArgumentNamingTheField) {
  DaemonFixture fx;
  auto nodes = v1::Nodes::NewStub(fx.channel());
  ASSERT_TRUE(apply(*nodes, flannel_node(2)).ok());
  struct Case {
    std::function<void(v1::Node&)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](v1::Node& n) { n.set_name(""); },
       "name: '' is not a valid node name (lowercase DNS-1123 subdomain)"},
      {[](v1::Node& n) { n.set_pod_cidrs(0, "10.244.3.0"); },
       "pod_cidrs[0]: '10.244.3.0' is not a CIDR"},
      {[](v1::Node& n) { n.set_pod_cidrs(0, "10.245.3.0/24"); },
       "pod_cidrs: 10.245.3.0/24 is outside the cluster network 10.244.0.0/16"},
      {[](v1::Node& n) { n.set_pod_cidrs(0, "10.244.2.0/24"); },
       "pod_cidrs: 10.244.2.0/24 overlaps the podCIDR of node 'node-2'"},
      {[](v1::Node& n) { n.set_pod_cidrs(0, "10.244.1.0/24"); },
       "pod_cidrs: 10.244.1.0/24 overlaps our own podCIDR 10.244.1.0/24"},
      {[](v1::Node& n) {
         (*n.mutable_annotations())["flannel.alpha.coreos.com/backend-data"] = "{VNI:1}";
       },
       "annotations[flannel.alpha.coreos.com/backend-data]: invalid JSON '{VNI:1}': "},
      {[](v1::Node& n) {
         (*n.mutable_annotations())["flannel.alpha.coreos.com/backend-data"] =
             R"({"VNI":1,"VtepMAC":"zz:00:00:00:00:03"})";
       },
       "annotations[flannel.alpha.coreos.com/backend-data]: VtepMAC \"zz:00:00:00:00:03\" is not a "
       "MAC address"},
      {[](v1::Node& n) {
         (*n.mutable_annotations())["flannel.alpha.coreos.com/public-ip"] = "192.0.2";
       },
       "annotations[flannel.alpha.coreos.com/public-ip]: '192.0.2' is not an IPv4 address"},
      {[](v1::Node& n) {
         (*n.mutable_annotations())["flannel.alpha.coreos.com/backend-type"] = "vxlan6";
       },
       "annotations[flannel.alpha.coreos.com/backend-type]: unknown backend 'vxlan6'"},
  };
  for (const Case& c : cases) {
    v1::Node n = flannel_node(3);
    c.edit(n);
    const grpc::Status s = apply(*nodes, n);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.message;
    EXPECT_EQ(s.error_message().substr(0, c.message.size()), c.message);
  }
  v1::ApplyNodeRequest empty;
  v1::Node out;
  EXPECT_EQ(nodes->ApplyNode(ctx().get(), empty, &out).error_message(), "node: required");
  EXPECT_EQ(apply(*nodes, flannel_node(3), nullptr, "seven").error_message(),
            "expected_resource_version: 'seven' is not a resource version (a decimal number)");
  v1::ListNodesRequest big;
  big.set_page_size(20000);
  v1::ListNodesResponse page;
  EXPECT_EQ(nodes->ListNodes(ctx().get(), big, &page).error_message(),
            "page_size: 20000 is above 10000");
  // Nothing of the above was applied.
  ASSERT_TRUE(nodes->ListNodes(ctx().get(), {}, &page).ok());
  EXPECT_EQ(page.nodes_size(), 1);
  EXPECT_EQ(page.resource_version(), "1");
}

TEST(Api, OptimisticConcurrencyIsAborted) {
  DaemonFixture fx;
  auto nodes = v1::Nodes::NewStub(fx.channel());
  ASSERT_TRUE(apply(*nodes, flannel_node(2)).ok());
  v1::Node changed = flannel_node(2);
  (*changed.mutable_annotations())["flannel.alpha.coreos.com/public-ip"] = "192.0.2.99";
  v1::Node out;
  ASSERT_TRUE(apply(*nodes, changed, &out, "1").ok());
  EXPECT_EQ(out.resource_version(), "2");
  const grpc::Status stale = apply(*nodes, flannel_node(2), nullptr, "1");
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(stale.error_message(), "node 'node-2' is at resource version 2, not 1");
  v1::DeleteNodeRequest del;
  del.set_name("node-2");
  del.set_expected_resource_version("1");
  v1::DeleteNodeResponse gone;
  EXPECT_EQ(nodes->DeleteNode(ctx().get(), del, &gone).error_code(), grpc::StatusCode::ABORTED);
}

std::vector<v1::NodeEvent> read_events(grpc::ClientReader<v1::NodeEvent>& stream, size_t n) {
  std::vector<v1::NodeEvent> out;
  v1::NodeEvent e;
  while (out.size() < n && stream.Read(&e)) out.push_back(e);
  return out;
}

TEST(Api, WatchFromAVersionThenResyncWhenTooFarBehind) {
  DaemonFixture fx({.watch_history = 3});
  auto nodes = v1::Nodes::NewStub(fx.channel());
  ASSERT_TRUE(apply(*nodes, flannel_node(2)).ok());
  {
    grpc::ClientContext c;
    v1::WatchNodesRequest req;
    req.set_resource_version("1");
    auto stream = nodes->WatchNodes(&c, req);
    ASSERT_TRUE(apply(*nodes, flannel_node(3)).ok());
    v1::DeleteNodeRequest del;
    del.set_name("node-2");
    v1::DeleteNodeResponse gone;
    ASSERT_TRUE(nodes->DeleteNode(ctx().get(), del, &gone).ok());
    const auto ev = read_events(*stream, 2);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].type(), v1::NodeEvent::ADDED);
    EXPECT_EQ(ev[0].node().name(), "node-3");
    EXPECT_EQ(ev[0].resource_version(), "2");
    EXPECT_EQ(ev[1].type(), v1::NodeEvent::DELETED);
    EXPECT_EQ(ev[1].node().name(), "node-2");
    c.TryCancel();
  }
  for (int i = 4; i <= 6; ++i) ASSERT_TRUE(apply(*nodes, flannel_node(i)).ok());
  grpc::ClientContext c;
  v1::WatchNodesRequest req;
  req.set_resource_version("1");  // versions 2 and 3 are no longer kept
  auto stream = nodes->WatchNodes(&c, req);
  const auto ev = read_events(*stream, 6);
  ASSERT_EQ(ev.size(), 6u);
  EXPECT_EQ(ev[0].type(), v1::NodeEvent::RESYNC);
  for (int i = 1; i <= 4; ++i) EXPECT_EQ(ev[i].type(), v1::NodeEvent::ADDED);
  EXPECT_EQ(ev[1].node().name(), "node-3");
  EXPECT_EQ(ev[5].type(), v1::NodeEvent::BOOKMARK);
  EXPECT_EQ(ev[5].resource_version(), "6");
  ASSERT_TRUE(apply(*nodes, flannel_node(7)).ok());
  const auto next = read_events(*stream, 1);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].node().name(), "node-7");
  EXPECT_EQ(next[0].resource_version(), "7");
  c.TryCancel();
}

TEST(Api, LeaseRoutesHealthConfigAndStats) {
  DaemonFixture fx;
  auto nodes = v1::Nodes::NewStub(fx.channel());
  ASSERT_TRUE(apply(*nodes, flannel_node(2)).ok());

  v1::LocalLease lease;
  ASSERT_TRUE(v1::Leases::NewStub(fx.channel())->GetLocalLease(ctx().get(), {}, &lease).ok());
  EXPECT_EQ(lease.pod_cidr(), "10.244.1.0/24");
  EXPECT_EQ(lease.mtu(), 1450u);
  EXPECT_EQ(lease.public_ip(), "192.0.2.19");
  EXPECT_EQ(lease.source(), "static");
  EXPECT_EQ(lease.annotations().at("flannel.alpha.coreos.com/backend-data"),
            R"({"VNI":1,"VtepMAC":")" + lease.vtep_mac() + R"("})");
  EXPECT_EQ(lease.vtep_mac() + "\n", testing::read_file(fx.dir() + "/state/vtep_mac"))
      << "the persisted VtepMAC";
  v1::SetLocalLeaseRequest set;
  set.set_pod_cidr("10.244.9.0/24");
  EXPECT_EQ(
      v1::Leases::NewStub(fx.channel())->SetLocalLease(ctx().get(), set, &lease).error_message(),
      "lease.source is static: the local lease cannot be set through the API");
  v1::ListRemoteLeasesResponse remote;
  ASSERT_TRUE(v1::Leases::NewStub(fx.channel())->ListRemoteLeases(ctx().get(), {}, &remote).ok());
  ASSERT_EQ(remote.leases_size(), 1);
  EXPECT_EQ(remote.leases(0).node_name(), "node-2");

  v1::ListRoutesResponse routes;
  ASSERT_TRUE(v1::Routes::NewStub(fx.channel())->ListRoutes(ctx().get(), {}, &routes).ok());
  ASSERT_EQ(routes.routes_size(), 2);
  EXPECT_EQ(routes.routes(0).kind(), "local");
  EXPECT_EQ(routes.routes(0).out_port(), "pods");
  EXPECT_EQ(routes.routes(1).node_name(), "node-2");
  EXPECT_EQ(routes.routes(1).via(), "192.0.2.20");

  v1::HealthCheckResponse health;
  ASSERT_TRUE(v1::Health::NewStub(fx.channel())->Check(ctx().get(), {}, &health).ok());
  EXPECT_TRUE(health.ready());
  std::vector<std::string> conditions;
  for (const auto& c : health.conditions()) conditions.push_back(c.name());
  EXPECT_EQ(conditions,
            (std::vector<std::string>{"lease_acquired", "subnet_env_written", "tables_programmed",
                                      "ports_started", "workers_running", "api_serving"}));
  v1::GetConfigResponse config;
  ASSERT_TRUE(v1::Config::NewStub(fx.channel())->GetConfig(ctx().get(), {}, &config).ok());
  EXPECT_NE(config.yaml().find("watch_history: 16384"), std::string::npos);

  v1::StatsSnapshot stats;
  ASSERT_TRUE(v1::Stats::NewStub(fx.channel())->GetStats(ctx().get(), {}, &stats).ok());
  EXPECT_EQ(stats.ports_size(), 2);
  ASSERT_EQ(stats.peers_size(), 1);
  EXPECT_EQ(stats.peers(0).public_ip(), "192.0.2.20");
  v1::StreamStatsRequest bad;
  bad.set_interval_ms(10);
  grpc::ClientContext bc;
  auto bad_stream = v1::Stats::NewStub(fx.channel())->StreamStats(&bc, bad);
  v1::StatsSnapshot ignored;
  EXPECT_FALSE(bad_stream->Read(&ignored));
  EXPECT_EQ(bad_stream->Finish().error_message(), "interval_ms: 10 is outside 100..3600000");
}

TEST(Api, StatsStreamSendsTotalsThenDeltas) {
  DaemonFixture fx;
  v1::StreamStatsRequest req;
  req.set_interval_ms(100);
  grpc::ClientContext c;
  auto stream = v1::Stats::NewStub(fx.channel())->StreamStats(&c, req);
  v1::StatsSnapshot first, second;
  ASSERT_TRUE(stream->Read(&first));
  // Three frames the data plane drops (no route), between the two reads.
  ASSERT_EQ(fx.inject_unroutable(3), 3u);
  uint64_t no_route = 0;
  for (int i = 0; i < 20 && no_route == 0; ++i) {
    ASSERT_TRUE(stream->Read(&second));
    for (const auto& d : second.drops()) {
      if (d.reason() == "no_route") no_route = d.packets();
    }
  }
  EXPECT_EQ(no_route, 3u);
  c.TryCancel();
}

TEST(Api, GrpcLeaseSourceTakesTheLeaseThroughTheApi) {
  DaemonFixture fx({.lease_source = "grpc"});
  auto leases = v1::Leases::NewStub(fx.channel());
  v1::LocalLease lease;
  EXPECT_EQ(leases->GetLocalLease(ctx().get(), {}, &lease).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::HealthCheckResponse health;
  ASSERT_TRUE(v1::Health::NewStub(fx.channel())->Check(ctx().get(), {}, &health).ok());
  EXPECT_FALSE(health.ready());
  v1::SetLocalLeaseRequest set;
  set.set_pod_cidr("10.244.7.0/23");
  EXPECT_EQ(leases->SetLocalLease(ctx().get(), set, &lease).error_message(),
            "pod_cidr: '10.244.7.0/23' has host bits set (did you mean 10.244.6.0/23?)");
  set.set_pod_cidr("10.244.7/24");
  EXPECT_EQ(leases->SetLocalLease(ctx().get(), set, &lease).error_message(),
            "pod_cidr: '10.244.7/24' is not an IPv4 CIDR (a.b.c.d/len)");
  set.set_pod_cidr("10.244.6.0/23");
  EXPECT_EQ(leases->SetLocalLease(ctx().get(), set, &lease).error_message(),
            "pod_cidr: 10.244.6.0/23 is not a /24 (network.SubnetLen)");
  set.set_pod_cidr("10.244.7.0/24");
  ASSERT_TRUE(leases->SetLocalLease(ctx().get(), set, &lease).ok());
  EXPECT_EQ(lease.source(), "grpc");
  EXPECT_EQ(testing::read_file(fx.dir() + "/subnet.env"),
            "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/"
            "24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n");
  ASSERT_TRUE(v1::Health::NewStub(fx.channel())->Check(ctx().get(), {}, &health).ok());
  EXPECT_TRUE(health.ready());
}

// Dual stack (issue 14), with the engine's IPv6 path still to come: the
// lease of both families through the API, validated at the edge, what we
// advertise, subnet.env, and nodes and remote leases with both families.
const testing::DaemonOptions kDualStack{
    .lease_source = "grpc",
    .network =
        "{Network: 10.244.0.0/16, EnableIPv6: true, IPv6Network: 'fd00:10:244::/56', "
        "Backend: {Type: vxlan}}",
    .underlay_yaml = ", ipv6_address: '2001:db8::19/64', ipv6_gateway: '2001:db8::1'"};

TEST(Api, DualStackLeaseIsSetThroughTheApiEachFamilyCheckedByName) {
  DaemonFixture fx(kDualStack);
  auto leases = v1::Leases::NewStub(fx.channel());
  v1::LocalLease lease;
  v1::SetLocalLeaseRequest set;
  set.set_pod_cidr("10.244.7.0/24");
  EXPECT_EQ(leases->SetLocalLease(ctx().get(), set, &lease).error_message(),
            "pod_cidr_v6: required (network.EnableIPv6)");
  set.set_pod_cidr_v6("fd00:10:244:7::1/64");
  EXPECT_EQ(leases->SetLocalLease(ctx().get(), set, &lease).error_message(),
            "pod_cidr_v6: 'fd00:10:244:7::1/64' has host bits set (did you mean "
            "fd00:10:244:7::/64?)");
  set.set_pod_cidr_v6("fd00:99:0:7::/64");
  const grpc::Status outside = leases->SetLocalLease(ctx().get(), set, &lease);
  EXPECT_EQ(outside.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(outside.error_message(),
            "pod_cidr_v6: fd00:99:0:7::/64 is outside network.IPv6Network fd00:10:244::/56");
  set.set_pod_cidr_v6("fd00:10:244:7::/80");
  EXPECT_EQ(leases->SetLocalLease(ctx().get(), set, &lease).error_message(),
            "pod_cidr_v6: fd00:10:244:7::/80 is not a /64 (network.IPv6SubnetLen)");
  EXPECT_EQ(leases->GetLocalLease(ctx().get(), {}, &lease).error_code(),
            grpc::StatusCode::NOT_FOUND)
      << "nothing applied";

  set.set_pod_cidr_v6("fd00:10:244:7::/64");
  ASSERT_TRUE(leases->SetLocalLease(ctx().get(), set, &lease).ok());
  EXPECT_EQ(lease.pod_cidr(), "10.244.7.0/24");
  EXPECT_EQ(lease.pod_cidr_v6(), "fd00:10:244:7::/64");
  EXPECT_EQ(lease.ipv6_network(), "fd00:10:244::/56");
  EXPECT_EQ(lease.public_ipv6(), "2001:db8::19");
  EXPECT_EQ(lease.mtu(), 1430u) << "one MTU for both families: the IPv6 overlay's, the smaller";
  EXPECT_EQ(lease.vtep_mac_v6() + "\n", testing::read_file(fx.dir() + "/state/vtep_mac_v6"))
      << "flannel-v6's VtepMAC, kept across restarts";
  EXPECT_NE(lease.vtep_mac_v6(), lease.vtep_mac()) << "a device of its own, as flanneld's";
  EXPECT_EQ(lease.annotations().at("flannel.alpha.coreos.com/backend-v6-data"),
            R"({"VNI":1,"VtepMAC":")" + lease.vtep_mac_v6() + R"("})");
  EXPECT_EQ(lease.annotations().at("flannel.alpha.coreos.com/public-ipv6"), "2001:db8::19");
  EXPECT_EQ(testing::read_file(fx.dir() + "/subnet.env"),
            "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\n"
            "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:7::1/64\n"
            "FLANNEL_MTU=1430\nFLANNEL_IPMASQ=false\n");
}

v1::Node dual_stack_node(int i) {
  v1::Node n = flannel_node(i);
  const std::string h = std::to_string(i);
  n.add_pod_cidrs("fd00:10:244:" + h + "::/64");
  auto& a = *n.mutable_annotations();
  a["flannel.alpha.coreos.com/backend-v6-data"] =
      R"({"VNI":1,"VtepMAC":"0e:00:00:00:06:0)" + h + R"("})";
  a["flannel.alpha.coreos.com/public-ipv6"] = "2001:db8::" + h;
  return n;
}

TEST(Api, NodesAndRemoteLeasesShowEachFamilyOnItsOwn) {
  DaemonFixture fx(kDualStack);
  v1::SetLocalLeaseRequest set;
  set.set_pod_cidr("10.244.1.0/24");
  set.set_pod_cidr_v6("fd00:10:244:1::/64");
  v1::LocalLease lease;
  ASSERT_TRUE(v1::Leases::NewStub(fx.channel())->SetLocalLease(ctx().get(), set, &lease).ok());
  auto nodes = v1::Nodes::NewStub(fx.channel());
  v1::Node applied;
  ASSERT_TRUE(apply(*nodes, dual_stack_node(2), &applied).ok());
  EXPECT_TRUE(applied.status().routed());
  EXPECT_TRUE(applied.status().routed_v6());
  EXPECT_EQ(applied.status().route_prefix_v6(), "fd00:10:244:2::/64");
  EXPECT_EQ(applied.status().public_ipv6(), "2001:db8::2");
  EXPECT_EQ(applied.status().vtep_mac_v6(), "0e:00:00:00:06:02");
  // A node with only an IPv4 public IP: routed for IPv4, not for IPv6, why.
  v1::Node v4_only = dual_stack_node(3);
  v4_only.mutable_annotations()->erase("flannel.alpha.coreos.com/public-ipv6");
  ASSERT_TRUE(apply(*nodes, v4_only, &applied).ok());
  EXPECT_TRUE(applied.status().routed());
  EXPECT_FALSE(applied.status().routed_v6());
  EXPECT_EQ(applied.status().reason_v6(), "no flannel.alpha.coreos.com/public-ipv6 annotation");
  // Bad IPv6 input at the edge: named, nothing applied.
  v1::Node outside = dual_stack_node(4);
  outside.set_pod_cidrs(1, "fd00:99::/64");
  const grpc::Status refused = apply(*nodes, outside);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(refused.error_message(),
            "pod_cidrs: fd00:99::/64 is outside the cluster IPv6 network fd00:10:244::/56");

  v1::ListRemoteLeasesResponse remote;
  ASSERT_TRUE(v1::Leases::NewStub(fx.channel())->ListRemoteLeases(ctx().get(), {}, &remote).ok());
  ASSERT_EQ(remote.leases_size(), 2);
  EXPECT_EQ(remote.leases(0).node_name(), "node-2");
  EXPECT_EQ(remote.leases(0).pod_cidr_v6(), "fd00:10:244:2::/64");
  EXPECT_EQ(remote.leases(0).public_ipv6(), "2001:db8::2");
  EXPECT_EQ(remote.leases(0).vtep_mac_v6(), "0e:00:00:00:06:02");
  EXPECT_EQ(remote.leases(1).node_name(), "node-3");
  EXPECT_EQ(remote.leases(1).pod_cidr(), "10.244.3.0/24");
  EXPECT_EQ(remote.leases(1).pod_cidr_v6(), "") << "not routed for IPv6";
}

// A CA, a server certificate for 127.0.0.1, a client certificate from the
// CA and one self-signed (tests/support/test_pki.h).
struct Certs {
  std::string dir;
  explicit Certs(const std::string& d) : dir(d) { testing::make_test_pki(dir, {"client"}); }
  std::shared_ptr<grpc::Channel> channel(int port, const std::string& client) const {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = testing::read_file(dir + "/ca.crt");
    if (!client.empty()) {
      ssl.pem_cert_chain = testing::read_file(dir + "/" + client + ".crt");
      ssl.pem_private_key = testing::read_file(dir + "/" + client + ".key");
    }
    return grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::SslCredentials(ssl));
  }
};

TEST(Api, TlsOnTcpServesOnlyClientsWithACertificateFromTheCa) {
  const std::string dir = "/tmp/tartan-tls-" + std::to_string(getpid());
  testing::run_command({"mkdir", "-p", dir});
  Certs certs(dir);
  DaemonFixture fx({.listen = "127.0.0.1:0",
                    .control_yaml = ", tls: {cert: " + dir + "/server.crt, key: " + dir +
                                    "/server.key, client_ca: " + dir + "/ca.crt}"});
  const int port = fx.daemon().server().port();
  ASSERT_GT(port, 0);
  v1::HealthCheckResponse health;
  EXPECT_TRUE(
      v1::Health::NewStub(certs.channel(port, "client"))->Check(ctx().get(), {}, &health).ok());
  EXPECT_EQ(
      v1::Health::NewStub(certs.channel(port, ""))->Check(ctx().get(), {}, &health).error_code(),
      grpc::StatusCode::UNAVAILABLE)
      << "no client certificate";
  EXPECT_EQ(v1::Health::NewStub(certs.channel(port, "stranger"))
                ->Check(ctx().get(), {}, &health)
                .error_code(),
            grpc::StatusCode::UNAVAILABLE)
      << "a certificate the CA did not sign";
  testing::run_command({"rm", "-rf", dir});
}

}  // namespace
}  // namespace tartan
