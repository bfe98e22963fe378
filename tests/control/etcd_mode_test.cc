// What tartand says about itself with lease.source etcd: the API does not
// pretend to own the node mirror, `tartanctl lease` shows our key and value
// in etcd, and tables_programmed names the revision the tables are at.
#include <gtest/gtest.h>

#include <string>

#include "control/daemon.h"
#include "control/sources/etcd/etcd_lease_json.h"
#include "control/sources/etcd/etcd_node_source.h"
#include "tartan/v1/lease.grpc.pb.h"
#include "tests/support/api_calls.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/etcd_server.h"
#include "tests/support/files.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::DaemonFixture;
using testing::EtcdServer;
using testing::eventually;
using testing::flanneld_vxlan_lease;
using testing::kSubnets;

testing::DaemonOptions etcd_options(const EtcdServer& etcd) {
  testing::DaemonOptions o;
  o.lease_source = "etcd";
  o.lease_yaml =
      ", etcd: {endpoints: [" + etcd.endpoint() + "], retry_initial_ms: 50, retry_max_ms: 300}";
  return o;
}

std::string condition_message(const Readiness& r, const std::string& name) {
  for (const auto& c : r.conditions())
    if (c.name == name) return c.message;
  return "";
}

TEST(EtcdMode, NodesApplyAndDeleteAreRefusedNamingEtcdAndTheRouteStays) {
  EtcdServer etcd;
  etcd.put_with_lease(kSubnets + "10.244.2.0-24",
                      flanneld_vxlan_lease("192.0.2.20", "ae:00:00:00:00:02"));
  DaemonFixture fx(etcd_options(etcd));
  auto stub = v1::Nodes::NewStub(fx.channel());

  grpc::Status applied = testing::apply(*stub, testing::flannel_node(3));
  EXPECT_EQ(applied.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(applied.error_message(),
            "ApplyNode refused: the node mirror is owned by etcd (lease.source etcd): every node "
            "is a lease under /coreos.com/network/subnets/; change it there (etcdctl)");
  EXPECT_FALSE(fx.daemon().mirror().get("node-3"));
  v1::ApplyNodesRequest batch;
  *batch.add_apply()->mutable_node() = testing::flannel_node(3);
  v1::ApplyNodesResponse batched;
  applied = stub->ApplyNodes(testing::ctx().get(), batch, &batched);
  EXPECT_EQ(applied.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(
      applied.error_message().rfind("ApplyNodes refused: the node mirror is owned by etcd", 0), 0u)
      << applied.error_message();
  EXPECT_FALSE(fx.daemon().mirror().get("node-3"));

  v1::DeleteNodeRequest del;
  del.set_name("10.244.2.0-24");
  v1::DeleteNodeResponse gone;
  grpc::Status deleted = stub->DeleteNode(testing::ctx().get(), del, &gone);
  EXPECT_EQ(deleted.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(deleted.error_message().find("DeleteNode refused: the node mirror is owned by etcd"),
            std::string::npos);
  ASSERT_TRUE(fx.daemon().mirror().get("10.244.2.0-24"));
  EXPECT_TRUE(fx.daemon().mirror().get("10.244.2.0-24")->status.routed);

  // tartanctl says the same, exit 1.
  const testing::CommandResult r =
      testing::run_command({testing::required_env("TARTANCTL"), "--socket",
                            fx.dir() + "/tartan.sock", "nodes", "delete", "10.244.2.0-24"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("owned by etcd"), std::string::npos) << r.output;
}

TEST(EtcdMode, LeaseShowsOurEtcdKeyAndValueNotAnnotations) {
  EtcdServer etcd;
  DaemonFixture fx(etcd_options(etcd));
  const Ipv4Prefix ours = fx.daemon().lease().get()->pod_cidr.value();
  const std::string key = kSubnets + subnet_key_name({ours});

  v1::LocalLease lease;
  ASSERT_TRUE(
      v1::Leases::NewStub(fx.channel())->GetLocalLease(testing::ctx().get(), {}, &lease).ok());
  EXPECT_EQ(lease.etcd_key(), key);
  EXPECT_EQ(lease.etcd_value(), etcd.get(key));
  EXPECT_TRUE(lease.annotations().empty());
  EXPECT_EQ(lease.source(), "etcd");

  const testing::CommandResult r = testing::run_command(
      {testing::required_env("TARTANCTL"), "--socket", fx.dir() + "/tartan.sock", "lease"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("etcd key and value of this lease"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("  " + key + "\n  " + etcd.get(key) + "\n"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("annotations"), std::string::npos) << r.output;
}

TEST(EtcdMode, TablesProgrammedNamesTheRevisionOfTheLastChangeApplied) {
  EtcdServer etcd;
  DaemonFixture fx(etcd_options(etcd));
  const Readiness& ready = fx.daemon().readiness();
  // Our own lease, written at start, reaches the mirror through the watch,
  // possibly after the first list (0 leases at the revision before it).
  const std::string first = "1 lease in etcd at revision " + std::to_string(etcd.revision());
  EXPECT_TRUE(
      eventually([&] { return condition_message(ready, "tables_programmed") == first; }, 10s))
      << condition_message(ready, "tables_programmed") << ", want " << first;

  etcd.put_with_lease(kSubnets + "10.244.2.0-24",
                      flanneld_vxlan_lease("192.0.2.20", "ae:00:00:00:00:02"));
  etcd.put(kSubnets + "10.244.3.0-24", "{not json");
  const int64_t revision = etcd.revision();
  const std::string want = "3 leases in etcd at revision " + std::to_string(revision);
  EXPECT_TRUE(
      eventually([&] { return condition_message(ready, "tables_programmed") == want; }, 10s))
      << condition_message(ready, "tables_programmed") << ", want " << want;
  // The unreadable one is listed, not routed, with the reason.
  const auto rec = fx.daemon().mirror().get("10.244.3.0-24");
  ASSERT_TRUE(rec);
  EXPECT_FALSE(rec->status.routed);
  EXPECT_EQ(rec->status.reason,
            kSubnets + "10.244.3.0-24 (revision " + std::to_string(revision) +
                "): value cannot be read: " + decode_lease_attrs("{not json").status().message());
}

}  // namespace
}  // namespace tartan
