// ApplyNodes, the batched apply, served by a real tartand (in process) over
// its unix socket: a batch is one engine change, all or nothing, and its
// errors name the node and the field.
#include <gtest/gtest.h>

#include "tartan/v1/node.grpc.pb.h"
#include "tests/support/api_calls.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/log_capture.h"

namespace tartan {
namespace {

using testing::ctx;
using testing::DaemonFixture;
using testing::flannel_node;

v1::ApplyNodesRequest batch_of(const std::vector<v1::Node>& nodes) {
  v1::ApplyNodesRequest req;
  for (const v1::Node& n : nodes) *req.add_apply()->mutable_node() = n;
  return req;
}

grpc::Status apply_nodes(v1::Nodes::Stub& stub, const v1::ApplyNodesRequest& req,
                         v1::ApplyNodesResponse* out = nullptr) {
  v1::ApplyNodesResponse ignored;
  return stub.ApplyNodes(ctx().get(), req, out ? out : &ignored);
}

// prefix -> public IP of every route the engine has (our own podCIDR too).
std::map<std::string, std::string> engine_routes(DaemonFixture& fx) {
  std::map<std::string, std::string> out;
  for (const RouteView& r : fx.daemon().engine().routes())
    out[r.prefix.str()] = r.kind == NextHopKind::kLocal ? "local" : r.public_ip.str();
  return out;
}

TEST(ApplyNodes, ABatchIsAppliedAsOneChangeAndAnsweredNodeByNode) {
  DaemonFixture fx;
  auto stub = v1::Nodes::NewStub(fx.channel());
  v1::Node unrouted = flannel_node(6);
  unrouted.mutable_annotations()->erase("flannel.alpha.coreos.com/backend-type");
  v1::ApplyNodesResponse resp;
  ASSERT_TRUE(apply_nodes(*stub,
                          batch_of({flannel_node(2), flannel_node(3), flannel_node(4),
                                    flannel_node(5), unrouted}),
                          &resp)
                  .ok());
  ASSERT_EQ(resp.applied_size(), 5);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(resp.applied(i).name(), "node-" + std::to_string(i + 2));
    EXPECT_EQ(resp.applied(i).resource_version(), std::to_string(i + 1));
    EXPECT_TRUE(resp.applied(i).status().routed());
    EXPECT_EQ(resp.applied(i).status().route_prefix(), "10.244." + std::to_string(i + 2) + ".0/24");
    // Only what the client did not send comes back.
    EXPECT_EQ(resp.applied(i).annotations_size(), 0);
  }
  EXPECT_FALSE(resp.applied(4).status().routed());
  EXPECT_EQ(resp.applied(4).status().reason(),
            "no flannel.alpha.coreos.com/backend-type annotation");
  EXPECT_EQ(resp.resource_version(), "5");
  EXPECT_EQ(engine_routes(fx),
            (std::map<std::string, std::string>{{"10.244.1.0/24", "local"},
                                                {"10.244.2.0/24", "192.0.2.20"},
                                                {"10.244.3.0/24", "192.0.2.21"},
                                                {"10.244.4.0/24", "192.0.2.22"},
                                                {"10.244.5.0/24", "192.0.2.23"}}));

  // The same batch again changes nothing and keeps every version.
  ASSERT_TRUE(apply_nodes(*stub, batch_of({flannel_node(2), flannel_node(3)}), &resp).ok());
  EXPECT_EQ(resp.applied(1).resource_version(), "2");
  EXPECT_EQ(resp.resource_version(), "5");
}

TEST(ApplyNodes, ABadNodeInTheMiddleAppliesNothingAndIsNamedWithItsField) {
  DaemonFixture fx;
  auto stub = v1::Nodes::NewStub(fx.channel());
  ASSERT_TRUE(testing::apply(*stub, flannel_node(2)).ok());
  const auto before = engine_routes(fx);

  struct Case {
    std::function<void(v1::ApplyNodesRequest&)> edit;
    grpc::StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases{
      {[](auto& r) { r.mutable_apply(2)->mutable_node()->set_pod_cidrs(0, "10.99.0.0/24"); },
       grpc::StatusCode::INVALID_ARGUMENT,
       "node 'node-5': pod_cidrs: 10.99.0.0/24 is outside the cluster network 10.244.0.0/16"},
      // Against the nodes as the batch's earlier changes leave them.
      {[](auto& r) { r.mutable_apply(2)->mutable_node()->set_pod_cidrs(0, "10.244.3.0/25"); },
       grpc::StatusCode::INVALID_ARGUMENT,
       "node 'node-5': pod_cidrs: 10.244.3.0/25 overlaps the podCIDR of node 'node-3'"},
      {[](auto& r) { r.mutable_apply(2)->clear_node(); }, grpc::StatusCode::INVALID_ARGUMENT,
       "apply[2]: node: required"},
      {[](auto& r) { r.mutable_apply(2)->mutable_node()->set_name("Node_5"); },
       grpc::StatusCode::INVALID_ARGUMENT,
       "node 'Node_5': name: 'Node_5' is not a valid node name (lowercase DNS-1123 subdomain)"},
      {[](auto& r) { r.mutable_apply(2)->mutable_node()->set_name("node-3"); },
       grpc::StatusCode::INVALID_ARGUMENT, "node 'node-3': name: 'node-3' is given twice"},
      {[](auto& r) { r.mutable_apply(2)->set_expected_resource_version("x"); },
       grpc::StatusCode::INVALID_ARGUMENT,
       "node 'node-5': expected_resource_version: 'x' is not a resource version (a decimal "
       "number)"},
      {[](auto& r) { r.mutable_apply(0)->set_expected_resource_version("7"); },
       grpc::StatusCode::ABORTED, "node 'node-2' is at resource version 1, not 7"},
      // The engine's own check (one public IP, two VTEPs), named by its node.
      {[](auto& r) {
         (*r.mutable_apply(2)
               ->mutable_node()
               ->mutable_annotations())["flannel.alpha.coreos.com/public-ip"] = "192.0.2.21";
       },
       grpc::StatusCode::INVALID_ARGUMENT,
       "node 'node-5': route 10.244.5.0/24: public_ip: 192.0.2.21 is given with two different "
       "VTEPs in one change"},
      {[](auto& r) { r.add_remove()->set_name("node-9"); }, grpc::StatusCode::NOT_FOUND,
       "node 'node-9' not found"},
      {[](auto& r) { r.add_remove(); }, grpc::StatusCode::INVALID_ARGUMENT,
       "remove[0]: name: required"},
      {[](auto& r) { r.add_remove()->set_name("node-2"); }, grpc::StatusCode::INVALID_ARGUMENT,
       "node 'node-2': name: 'node-2' is given twice"},
  };
  for (const Case& c : cases) {
    // node-2 changes (a new public IP), node-3, -4 and -5 are new.
    v1::Node moved = flannel_node(2);
    (*moved.mutable_annotations())["flannel.alpha.coreos.com/public-ip"] = "192.0.2.30";
    v1::ApplyNodesRequest req =
        batch_of({moved, flannel_node(3), flannel_node(5), flannel_node(4)});
    c.edit(req);
    const grpc::Status s = apply_nodes(*stub, req);
    EXPECT_EQ(s.error_code(), c.code) << c.message;
    EXPECT_EQ(s.error_message(), c.message);
    // Nothing was applied: not in the mirror, not in the engine.
    EXPECT_EQ(fx.daemon().mirror().resource_version(), 1u) << c.message;
    EXPECT_FALSE(fx.daemon().mirror().get("node-3")) << c.message;
    EXPECT_EQ(fx.daemon().mirror().get("node-2")->status.public_ip->str(), "192.0.2.20");
    EXPECT_EQ(engine_routes(fx), before) << c.message;
  }
  // ... and the batch without the bad change goes in whole.
  ASSERT_TRUE(apply_nodes(*stub, batch_of({flannel_node(3), flannel_node(5)})).ok());
  EXPECT_EQ(engine_routes(fx).size(), 4u);
}

TEST(ApplyNodes, RemovalsGoFirstSoAPodCidrCanChangeHandsInOneCall) {
  DaemonFixture fx;
  auto stub = v1::Nodes::NewStub(fx.channel());
  ASSERT_TRUE(apply_nodes(*stub, batch_of({flannel_node(2), flannel_node(3)})).ok());

  // node-2 goes; node-7 takes its podCIDR; node-3 moves to another.
  v1::Node heir = flannel_node(7);
  heir.set_pod_cidrs(0, "10.244.2.0/24");
  v1::Node moved = flannel_node(3);
  moved.set_pod_cidrs(0, "10.244.8.0/24");
  v1::ApplyNodesRequest req = batch_of({heir, moved});
  v1::DeleteNodeRequest* gone = req.add_remove();
  gone->set_name("node-2");
  gone->set_expected_resource_version("1");
  v1::ApplyNodesResponse resp;
  ASSERT_TRUE(apply_nodes(*stub, req, &resp).ok());
  ASSERT_EQ(resp.applied_size(), 2);
  EXPECT_EQ(resp.applied(0).name(), "node-7");
  EXPECT_EQ(resp.applied(0).resource_version(), "4");
  EXPECT_EQ(resp.applied(1).resource_version(), "5");
  EXPECT_EQ(resp.resource_version(), "5");
  EXPECT_FALSE(fx.daemon().mirror().get("node-2"));
  EXPECT_EQ(engine_routes(fx),
            (std::map<std::string, std::string>{{"10.244.1.0/24", "local"},
                                                {"10.244.2.0/24", "192.0.2.25"},
                                                {"10.244.8.0/24", "192.0.2.21"}}));
  // Watchers see each change at its own version: the deletion first.
  const auto events = fx.daemon().mirror().events_after(2);
  ASSERT_EQ(events.events.size(), 3u);
  EXPECT_EQ(events.events[0].type, NodeEvent::Type::kDeleted);
  EXPECT_EQ(events.events[0].node->spec.name, "node-2");
  EXPECT_EQ(events.events[1].node->spec.name, "node-7");

  // A removal alone.
  v1::ApplyNodesRequest only_remove;
  only_remove.add_remove()->set_name("node-7");
  ASSERT_TRUE(apply_nodes(*stub, only_remove, &resp).ok());
  EXPECT_EQ(resp.applied_size(), 0);
  EXPECT_EQ(resp.resource_version(), "6");
  EXPECT_EQ(engine_routes(fx).count("10.244.2.0/24"), 0u);
}

// A change of a few nodes is logged node by node; a bigger one as one
// summary line, with each node's line at debug level.
TEST(ApplyNodes, ALargeBatchIsLoggedAsOneSummaryLineAndEachNodeAtDebugLevel) {
  DaemonFixture fx;
  auto stub = v1::Nodes::NewStub(fx.channel());
  constexpr auto npos = std::string::npos;
  {
    testing::LogCapture log;
    ASSERT_TRUE(apply_nodes(*stub, batch_of({flannel_node(2), flannel_node(3)})).ok());
    const std::string text = log.text();
    EXPECT_NE(text.find("node node-2 added (applied through the API): podCIDR 10.244.2.0/24, "
                        "routed via 192.0.2.20"),
              npos)
        << text;
    EXPECT_NE(text.find("node node-3 added (applied through the API)"), npos) << text;
    EXPECT_EQ(text.find("nodes changed"), npos) << text;
  }
  std::vector<v1::Node> many;
  for (int i = 4; i < 24; ++i) {
    many.push_back(flannel_node(i));
    char mac[18];
    std::snprintf(mac, sizeof mac, "0e:00:00:00:01:%02x", i);
    (*many.back().mutable_annotations())["flannel.alpha.coreos.com/backend-data"] =
        std::string(R"({"VNI":1,"VtepMAC":")") + mac + R"("})";
  }
  many.back().mutable_annotations()->erase("flannel.alpha.coreos.com/backend-type");
  {
    testing::LogCapture log;
    ASSERT_TRUE(apply_nodes(*stub, batch_of(many)).ok());
    const std::string text = log.text();
    EXPECT_NE(text.find("20 nodes changed (applied through the API): 20 added, 0 modified, 0 "
                        "deleted; of those added or modified 19 routed, 1 not routed (the first: "
                        "node node-23, no flannel.alpha.coreos.com/backend-type annotation); "
                        "resource versions 3 to 22; each node's line is at debug level"),
              npos)
        << text;
    EXPECT_EQ(text.find("node node-4 added"), npos) << "at info level: " << text;
  }
  // At debug level, each node's line is there as well.
  for (v1::Node& n : many) {
    const int i = std::stoi(n.name().substr(5)) + 20;
    n = flannel_node(i);
    char mac[18];
    std::snprintf(mac, sizeof mac, "0e:00:00:00:01:%02x", i);
    (*n.mutable_annotations())["flannel.alpha.coreos.com/backend-data"] =
        std::string(R"({"VNI":1,"VtepMAC":")") + mac + R"("})";
  }
  set_log_level(RTE_LOG_DEBUG);
  testing::LogCapture log;
  const grpc::Status s = apply_nodes(*stub, batch_of(many));
  set_log_level(RTE_LOG_INFO);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string text = log.text();
  EXPECT_NE(text.find("20 nodes changed (applied through the API): 20 added"), npos) << text;
  EXPECT_NE(text.find("node node-43 added (applied through the API): podCIDR 10.244.43.0/24, "
                      "routed via 192.0.2.61"),
            npos)
      << text;
}

TEST(ApplyNodes, IsBoundedInChangesAndInBytes) {
  DaemonFixture fx;
  auto stub = v1::Nodes::NewStub(fx.channel());
  v1::ApplyNodesRequest req;
  for (int i = 0; i < 10000; ++i) req.add_remove()->set_name("node-" + std::to_string(i));
  req.add_apply()->mutable_node()->set_name("one-too-many");
  const grpc::Status many = apply_nodes(*stub, req);
  EXPECT_EQ(many.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(many.error_message(), "apply, remove: 10001 changes, more than 10000 in one call");

  // Above control.max_message_bytes (4 MiB): refused before it is read.
  v1::ApplyNodesRequest big;
  v1::Node fat = flannel_node(2);
  (*fat.mutable_annotations())["example.com/padding"] = std::string(200 * 1024, 'x');
  for (int i = 0; i < 25; ++i) *big.add_apply()->mutable_node() = fat;
  const grpc::Status huge = apply_nodes(*stub, big);
  EXPECT_EQ(huge.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << huge.error_message();
  EXPECT_EQ(fx.daemon().mirror().resource_version(), 0u);
}

}  // namespace
}  // namespace tartan
