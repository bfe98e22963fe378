// Inputs the fuzz targets (tests/fuzz) found tartan mishandling, kept as
// regressions: each is an error naming the field, never an exception that
// escapes (which would end tartand).
#include <gtest/gtest.h>

#include "control/cluster/flannel_annotations.h"
#include "control/config/netconf_json.h"
#include "control/sources/etcd/etcd_lease_json.h"

namespace tartan {
namespace {

// nlohmann::json throws out_of_range, not parse_error, for a number no
// double holds: a node applied through the API with this backend-data
// used to terminate tartand.
TEST(HostileInput, BackendDataWithANumberNoDoubleHoldsIsAnError) {
  const AnnotationKeys keys = *annotation_keys("flannel.alpha.coreos.com");
  NodeSpec node;
  node.name = "node-2";
  node.pod_cidrs = {"10.244.2.0/24"};
  node.annotations[keys.backend_data] = "5e500";
  const auto info = read_flannel_node(node, keys);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().message().rfind(
                "annotations[flannel.alpha.coreos.com/backend-data]: invalid JSON '5e500'", 0),
            0u)
      << info.status().message();
}

TEST(HostileInput, EtcdLeaseAndNetConfWithANumberNoDoubleHoldsAreErrors) {
  EXPECT_FALSE(decode_lease_attrs(R"({"PublicIP":"192.0.2.20","BackendData":{"VNI":1e999}})").ok());
  EXPECT_FALSE(parse_netconf_json(R"({"Network":"10.244.0.0/16","SubnetLen":-7e400})").ok());
}

}  // namespace
}  // namespace tartan
