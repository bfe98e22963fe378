// lease.source kube: a whole tartand in process against the Kubernetes API
// server double, doing what flanneld's kube subnet manager does (our lease
// from our Node, our annotations and NetworkUnavailable published, every
// annotated Node routed) and what flanneld does not (reconciling deletions
// it missed, putting back annotations removed by hand, waiting for a
// podCIDR instead of crash-looping).
#include <gtest/gtest.h>

#include "control/sources/kube/kube_node_source.h"
#include "tests/support/api_calls.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/files.h"
#include "tests/support/kube_apiserver.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::DaemonFixture;
using testing::eventually;
using testing::KubeApiServer;
using testing::KubeObject;
using testing::KubePatchType;
using testing::node_manifest;

constexpr const char* kPrefix = "flannel.alpha.coreos.com/";

// A Node as kernel flanneld leaves it (vxlan, VNI 1).
KubeObject flannel_node(int i, const std::string& public_ip) {
  return node_manifest("node-" + std::to_string(i), "10.244." + std::to_string(i) + ".0/24",
                       {{std::string(kPrefix) + "backend-data",
                         R"({"VNI":1,"VtepMAC":"0e:00:00:00:00:0)" + std::to_string(i) + R"("})"},
                        {std::string(kPrefix) + "backend-type", "vxlan"},
                        {std::string(kPrefix) + "kube-subnet-manager", "true"},
                        {std::string(kPrefix) + "public-ip", public_ip}});
}

testing::DaemonOptions kube_options(const KubeApiServer& api, const std::string& more = "") {
  testing::DaemonOptions o;
  o.lease_source = "kube";
  o.lease_yaml = ", kube: {api_url: '" + api.url() +
                 "', retry_initial_ms: 50, retry_max_ms: 400, startup_timeout_s: 2" + more + "}";
  return o;
}

KubeNodeSource& source_of(DaemonFixture& fx) {
  return static_cast<KubeNodeSource&>(fx.daemon().source());
}

std::string condition_message(const Readiness& r, const std::string& name) {
  for (const auto& c : r.conditions())
    if (c.name == name) return (c.ok ? "ok: " : "not ok: ") + c.message;
  return "no condition " + name;
}

std::string annotation(const KubeApiServer& api, const std::string& node, const std::string& key) {
  auto n = api.node(node);
  if (!n) return "<no node>";
  const auto& a = (*n)["metadata"]["annotations"];
  return a.contains(key) ? a[key].get<std::string>() : "<unset>";
}

// "status reason" of the node's NetworkUnavailable condition.
std::string network_condition(const KubeApiServer& api, const std::string& node) {
  auto n = api.node(node);
  if (!n || !(*n)["status"].contains("conditions")) return "";
  for (const auto& c : (*n)["status"]["conditions"])
    if (c["type"] == "NetworkUnavailable")
      return c["status"].get<std::string>() + " " + c["reason"].get<std::string>();
  return "";
}

// Where the engine routes a podCIDR: "<public IP> <VtepMAC>", or "".
std::string route_to(DaemonFixture& fx, const std::string& prefix) {
  for (const RouteView& r : fx.daemon().engine().routes())
    if (r.prefix.str() == prefix) return r.public_ip.str() + " " + r.vtep_mac.str();
  return "";
}

TEST(KubeSource, JoinsTheClusterAsFlanneldDoes) {
  KubeApiServer api;
  api.create_node(node_manifest("node-1", "10.244.1.0/24"));
  api.create_node(flannel_node(2, "192.0.2.20"));
  api.create_node(node_manifest("node-3"));  // no flannel on it: kept, not routed
  DaemonFixture fx(kube_options(api));
  Daemon& d = fx.daemon();
  ASSERT_TRUE(eventually([&] { return d.readiness().ready(); }, 10s))
      << condition_message(d.readiness(), "tables_programmed") << "; "
      << condition_message(d.readiness(), "lease_acquired");

  EXPECT_EQ(d.lease().get()->pod_cidr->str(), "10.244.1.0/24");
  EXPECT_NE(testing::read_file(fx.dir() + "/subnet.env").find("FLANNEL_SUBNET=10.244.1.1/24"),
            std::string::npos);
  // When the LIST reached the source and when it was in the tables: what
  // tartan-bench-kube times.
  const KubeSourceStatus st = source_of(fx).status();
  ASSERT_TRUE(st.list_delivered_at && st.list_applied_at);
  EXPECT_LE(*st.list_delivered_at, *st.list_applied_at);
  // Our annotations, exactly as flanneld writes them.
  ASSERT_TRUE(
      eventually([&] { return network_condition(api, "node-1") == "False TartanIsUp"; }, 5s));
  const std::string mac = d.engine().vtep_mac().str();
  EXPECT_EQ(annotation(api, "node-1", std::string(kPrefix) + "backend-data"),
            R"({"VNI":1,"VtepMAC":")" + mac + R"("})");
  EXPECT_EQ(annotation(api, "node-1", std::string(kPrefix) + "backend-type"), "vxlan");
  EXPECT_EQ(annotation(api, "node-1", std::string(kPrefix) + "public-ip"), "192.0.2.19");
  EXPECT_EQ(annotation(api, "node-1", std::string(kPrefix) + "kube-subnet-manager"), "true");
  // Written the way flannel's RBAC allows: PATCH of nodes/status, strategic merge.
  int patches = 0;
  for (const auto& r : api.requests()) {
    if (r.method != "PATCH") continue;
    ++patches;
    EXPECT_EQ(r.path, "/api/v1/nodes/node-1/status");
    EXPECT_EQ(r.content_type, "application/strategic-merge-patch+json");
  }
  EXPECT_EQ(patches, 2) << "the annotations, then NetworkUnavailable";

  EXPECT_EQ(route_to(fx, "10.244.2.0/24"), "192.0.2.20 0e:00:00:00:00:02");
  EXPECT_EQ(d.mirror().get("node-3")->status.reason, "no IPv4 podCIDR");
  EXPECT_EQ(d.mirror().get("node-1")->status.reason, "this node (our own lease)");
}

TEST(KubeSource, FollowsNodesAddedChangedAndDeleted) {
  KubeApiServer api;
  api.create_node(node_manifest("node-1", "10.244.1.0/24"));
  DaemonFixture fx(kube_options(api));
  ASSERT_TRUE(eventually([&] { return fx.daemon().readiness().ready(); }, 10s));

  api.create_node(flannel_node(2, "192.0.2.20"));
  api.create_node(flannel_node(3, "192.0.2.21"));
  EXPECT_TRUE(eventually([&] { return route_to(fx, "10.244.3.0/24") != ""; }, 5s));
  EXPECT_EQ(route_to(fx, "10.244.2.0/24"), "192.0.2.20 0e:00:00:00:00:02");
  // Re-addressed, as a node whose public IP changed.
  api.patch_node(
      "node-2", KubePatchType::kMerge,
      R"({"metadata":{"annotations":{"flannel.alpha.coreos.com/public-ip":"192.0.2.22"}}})");
  EXPECT_TRUE(eventually(
      [&] { return route_to(fx, "10.244.2.0/24") == "192.0.2.22 0e:00:00:00:00:02"; }, 5s));
  api.delete_node("node-3");
  EXPECT_TRUE(eventually([&] { return route_to(fx, "10.244.3.0/24").empty(); }, 5s));
  EXPECT_FALSE(fx.daemon().mirror().get("node-3"));
}

TEST(KubeSource, NodesApplyAndDeleteThroughTheApiAreRefusedNamingTheApiServer) {
  KubeApiServer api;
  api.create_node(node_manifest("node-1", "10.244.1.0/24"));
  api.create_node(flannel_node(2, "192.0.2.20"));
  DaemonFixture fx(kube_options(api));
  ASSERT_TRUE(eventually([&] { return fx.daemon().readiness().ready(); }, 10s));
  auto stub = v1::Nodes::NewStub(fx.channel());
  const std::string refused =
      " refused: the node mirror is owned by the Kubernetes API server (lease.source kube): "
      "change the Node there (kubectl)";

  EXPECT_EQ(testing::apply(*stub, testing::flannel_node(3)).error_message(), "ApplyNode" + refused);
  v1::DeleteNodeRequest del;
  del.set_name("node-2");
  v1::DeleteNodeResponse gone;
  const grpc::Status deleted = stub->DeleteNode(testing::ctx().get(), del, &gone);
  EXPECT_EQ(deleted.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(deleted.error_message(), "DeleteNode" + refused);
  EXPECT_EQ(route_to(fx, "10.244.2.0/24"), "192.0.2.20 0e:00:00:00:00:02");
  EXPECT_FALSE(fx.daemon().mirror().get("node-3"));
}

TEST(KubeSource, WaitsNotReadyForItsPodCidrInsteadOfExiting) {
  KubeApiServer api;
  api.create_node(node_manifest("node-1"));
  DaemonFixture fx(kube_options(api));
  Daemon& d = fx.daemon();
  ASSERT_TRUE(eventually(
      [&] { return condition_message(d.readiness(), "tables_programmed").rfind("ok", 0) == 0; },
      10s));
  EXPECT_FALSE(d.readiness().ready());
  EXPECT_EQ(condition_message(d.readiness(), "lease_acquired"),
            "not ok: waiting for node 'node-1' to be given a podCIDR (spec.podCIDRs, by "
            "kube-controller-manager's --allocate-node-cidrs)");
  EXPECT_EQ(annotation(api, "node-1", std::string(kPrefix) + "kube-subnet-manager"), "<unset>")
      << "nothing published without a lease";

  api.patch_node("node-1", KubePatchType::kMerge,
                 R"({"spec":{"podCIDR":"10.244.7.0/24","podCIDRs":["10.244.7.0/24"]}})");
  ASSERT_TRUE(eventually([&] { return d.readiness().ready(); }, 5s));
  EXPECT_EQ(d.lease().get()->pod_cidr->str(), "10.244.7.0/24");
}

TEST(KubeSource, APodCidrOutsideTheNetworkIsNamedAndNothingIsProgrammed) {
  KubeApiServer api;
  api.create_node(node_manifest("node-1", "10.9.1.0/24"));
  DaemonFixture fx(kube_options(api));
  Daemon& d = fx.daemon();
  EXPECT_TRUE(eventually(
      [&] {
        return condition_message(d.readiness(), "lease_acquired") ==
               "not ok: spec.podCIDRs[0]: 10.9.1.0/24 of node 'node-1' is outside "
               "network.Network 10.244.0.0/16";
      },
      10s))
      << condition_message(d.readiness(), "lease_acquired");
  EXPECT_FALSE(d.lease().get());
  EXPECT_FALSE(d.engine().local_subnet());
}

TEST(KubeSource, AnnotationsRemovedOrChangedByHandArePutBack) {
  KubeApiServer api;
  api.create_node(node_manifest("node-1", "10.244.1.0/24"));
  DaemonFixture fx(kube_options(api));
  ASSERT_TRUE(eventually([&] { return fx.daemon().readiness().ready(); }, 10s));
  const std::string key = std::string(kPrefix) + "backend-data";
  ASSERT_TRUE(eventually([&] { return annotation(api, "node-1", key) != "<unset>"; }, 5s));
  const std::string published = annotation(api, "node-1", key);

  api.patch_node("node-1", KubePatchType::kMerge,
                 R"({"metadata":{"annotations":{"flannel.alpha.coreos.com/backend-data":null,
                     "flannel.alpha.coreos.com/public-ip":"10.0.0.1"}}})");
  EXPECT_TRUE(eventually([&] { return annotation(api, "node-1", key) == published; }, 5s));
  EXPECT_TRUE(eventually(
      [&] { return annotation(api, "node-1", std::string(kPrefix) + "public-ip") == "192.0.2.19"; },
      5s));
  // The counter moves when the PATCH's answer arrives, after the API
  // server has already shown the restored annotations.
  EXPECT_TRUE(eventually([&] { return source_of(fx).status().annotation_patches >= 2u; }, 5s))
      << source_of(fx).status().annotation_patches;
}

// flannel#2554: flanneld never notices nodes deleted while it was not
// watching. A watch that cannot resume (its version compacted away)
// re-lists, and the listing is reconciled against the mirror.
TEST(KubeSource, ARelistRemovesNodesDeletedWhileTheWatchWasGone) {
  KubeApiServer api({.history_window = 5});
  api.create_node(node_manifest("node-1", "10.244.1.0/24"));
  api.create_node(flannel_node(2, "192.0.2.20"));
  api.create_node(flannel_node(3, "192.0.2.21"));
  DaemonFixture fx(kube_options(api));
  ASSERT_TRUE(eventually([&] { return fx.daemon().readiness().ready(); }, 10s));
  ASSERT_TRUE(eventually([&] { return route_to(fx, "10.244.3.0/24") != ""; }, 5s));
  const uint64_t lists = source_of(fx).status().reflector.lists;

  api.stop_serving();
  api.delete_node("node-3");
  api.compact();
  api.resume_serving();
  EXPECT_TRUE(eventually([&] { return route_to(fx, "10.244.3.0/24").empty(); }, 10s));
  EXPECT_GT(source_of(fx).status().reflector.lists, lists) << "it re-listed";
  EXPECT_EQ(route_to(fx, "10.244.2.0/24"), "192.0.2.20 0e:00:00:00:00:02") << "others stay";
}

TEST(KubeSource, TheApiServerGoneKeepsForwardingAndReadinessSaysWhy) {
  KubeApiServer api;
  api.create_node(node_manifest("node-1", "10.244.1.0/24"));
  api.create_node(flannel_node(2, "192.0.2.20"));
  DaemonFixture fx(kube_options(api));
  Daemon& d = fx.daemon();
  ASSERT_TRUE(eventually([&] { return d.readiness().ready(); }, 10s));
  api.stop_serving();
  EXPECT_TRUE(eventually([&] { return !d.readiness().ready(); }, 10s));
  EXPECT_EQ(condition_message(d.readiness(), "kube_api").rfind("not ok: ", 0), 0u);
  EXPECT_EQ(route_to(fx, "10.244.2.0/24"), "192.0.2.20 0e:00:00:00:00:02") << "tables kept";
  api.resume_serving();
  EXPECT_TRUE(eventually([&] { return d.readiness().ready(); }, 10s));
}

// Options for a daemon reaching `api` through a kubeconfig in `dir` that
// holds a bearer token. Its config names the whole underlay, so tartand
// starts even when it cannot read its Node.
testing::DaemonOptions token_options(const KubeApiServer& api, const std::string& dir,
                                     const std::string& token) {
  const std::string path = dir + "/kubeconfig";
  testing::write_file(path,
                      "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                      "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                      "clusters: [{name: k, cluster: {server: '" +
                          api.url() + "'}}]\nusers: [{name: u, user: {token: " + token + "}}]\n");
  testing::DaemonOptions o;
  o.lease_source = "kube";
  o.lease_yaml = ", kube: {kubeconfig: '" + path +
                 "', retry_initial_ms: 50, retry_max_ms: 400, startup_timeout_s: 1}";
  return o;
}

// Whether readiness condition kube_api comes to say `text`.
bool kube_api_says(const Daemon& d, const std::string& text) {
  return eventually(
      [&] { return condition_message(d.readiness(), "kube_api").find(text) != std::string::npos; },
      10s);
}

const std::string kFlannelUser = "system:serviceaccount:kube-flannel:flannel";

// flannel#1134: an API server that refuses us is invisible in flanneld.
TEST(KubeSource, RefusedCredentialsAreNamedInReadiness) {
  KubeApiServer api({.tokens = {{"good-token", kFlannelUser}}});
  api.create_node(node_manifest("node-1", "10.244.1.0/24"));
  testing::ScopedTempDir dir("kube-source");
  DaemonFixture fx(token_options(api, dir.path(), "stale"));
  const Daemon& d = fx.daemon();
  EXPECT_TRUE(kube_api_says(d, "401 Unauthorized")) << condition_message(d.readiness(), "kube_api");
  EXPECT_FALSE(d.readiness().ready());
  EXPECT_FALSE(fx.daemon().lease().get());
}

TEST(KubeSource, AForbiddenListIsNamedInReadiness) {
  // Allowed to read its own Node but not to list them: a ClusterRole
  // without nodes list.
  KubeApiServer api({.tokens = {{"t0ken", kFlannelUser}},
                     .grants = {{kFlannelUser, {{"get", "nodes"}, {"patch", "nodes/status"}}}}});
  api.create_node(node_manifest("node-1", "10.244.1.0/24"));
  testing::ScopedTempDir dir("kube-source");
  DaemonFixture fx(token_options(api, dir.path(), "t0ken"));
  const Daemon& d = fx.daemon();
  EXPECT_TRUE(kube_api_says(d, "403 Forbidden")) << condition_message(d.readiness(), "kube_api");
  EXPECT_TRUE(kube_api_says(d, "cannot list resource \"nodes\""));
  EXPECT_FALSE(d.readiness().ready());
}

}  // namespace
}  // namespace tartan
