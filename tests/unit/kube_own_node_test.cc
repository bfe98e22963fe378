// Our own Node, read and written as flanneld's kube subnet manager does:
// the podCIDR, the annotations put back, NetworkUnavailable, and the
// per-node underlay settings one shared tartan.yaml leaves to the Node.
#include "control/sources/kube/own_node.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "control/config/config_loader.h"
#include "control/config/underlay_check.h"

namespace tartan {
namespace {

AnnotationKeys keys() {
  return *annotation_keys("flannel.alpha.coreos.com");
}

NodeSpec own_node() {
  NodeSpec n;
  n.name = "node-7";
  n.pod_cidrs = {"10.244.7.0/24", "fd00:10:244:7::/64"};
  return n;
}

const MacAddr kMac = *MacAddr::parse("0e:3c:1f:00:00:07");
const Ipv4Addr kUnderlay = *Ipv4Addr::parse("192.0.2.17");

NetworkConfig network(bool ipv4, bool ipv6) {
  NetworkConfig n;
  n.enable_ipv4 = ipv4;
  n.enable_ipv6 = ipv6;
  n.network = *Ipv4Prefix::parse("10.244.0.0/16");
  if (ipv6) n.ipv6_network = *Ipv6Prefix::parse("fd00:10:244::/56");
  return n;
}

TEST(KubeOwnNode, PodCidrIsTheIPv4EntryAndMustLieInsideTheNetwork) {
  const NetworkConfig net = network(true, false);
  NodeSpec n = own_node();
  EXPECT_EQ(own_pod_cidrs(n, net)->str(), "10.244.7.0/24") << "the IPv6 one unread without IPv6";
  n.pod_cidrs = {"fd00:10:244:7::/64", "10.244.7.0/25"};  // v6 first (flannel#1629)
  EXPECT_EQ(own_pod_cidrs(n, net)->str(), "10.244.7.0/25");
  n.pod_cidrs = {};
  ASSERT_TRUE(own_pod_cidrs(n, net).ok());
  EXPECT_EQ(*own_pod_cidrs(n, net), PodCidrs{}) << "not assigned yet";
  n.pod_cidrs = {"10.9.7.0/24"};
  EXPECT_EQ(own_pod_cidrs(n, net).status().message(),
            "spec.podCIDRs[0]: 10.9.7.0/24 of node 'node-7' is outside network.Network "
            "10.244.0.0/16");
}

TEST(KubeOwnNode, DualStackTakesBothFamiliesEitherFirstEachInsideItsNetwork) {
  NodeSpec n = own_node();
  EXPECT_EQ(own_pod_cidrs(n, network(true, true))->str(), "10.244.7.0/24, fd00:10:244:7::/64");
  n.pod_cidrs = {"fd00:10:244:7::/64", "10.244.7.0/24"};
  EXPECT_EQ(own_pod_cidrs(n, network(true, true))->str(), "10.244.7.0/24, fd00:10:244:7::/64");
  EXPECT_EQ(own_pod_cidrs(n, network(false, true))->str(), "fd00:10:244:7::/64")
      << "IPv6 only: the IPv4 entry is not ours to use";
  n.pod_cidrs = {"10.244.7.0/24"};
  EXPECT_EQ(*own_pod_cidrs(n, network(true, true)),
            (PodCidrs{*Ipv4Prefix::parse("10.244.7.0/24"), std::nullopt}))
      << "the IPv6 one not assigned yet";
  n.pod_cidrs = {"10.244.7.0/24", "fd00:99::/64"};
  EXPECT_EQ(own_pod_cidrs(n, network(true, true)).status().message(),
            "spec.podCIDRs[1]: fd00:99::/64 of node 'node-7': fd00:99::/64 is outside "
            "network.IPv6Network fd00:10:244::/56");
}

TEST(KubeOwnNode, PublicIpv6IsTheOverwriteElseNodePublicIpv6ElseOurs) {
  const OwnIpv6 ours{*Ipv6Addr::parse("2001:db8::17"), *MacAddr::parse("0e:3c:1f:00:06:07")};
  NodeSpec n = own_node();
  const auto announced = [&] {
    const auto info = read_flannel_node(n, keys());
    return wanted_annotations(keys(), *info, BackendType::kVxlan, 1, kMac, kUnderlay, ours)
        .at("flannel.alpha.coreos.com/public-ipv6");
  };
  EXPECT_EQ(announced(), "2001:db8::17");
  n.annotations["flannel.alpha.coreos.com/node-public-ipv6"] = "2001:db8:1::17";
  EXPECT_EQ(announced(), "2001:db8:1::17");
  n.annotations["flannel.alpha.coreos.com/public-ipv6-overwrite"] = "2001:db8:2::17";
  EXPECT_EQ(announced(), "2001:db8:2::17");
  n.annotations["flannel.alpha.coreos.com/public-ipv6-overwrite"] = "not an address";
  EXPECT_EQ(announced(), "2001:db8::17") << "a bad IPv6 annotation is not announced";
  const auto info = read_flannel_node(n, keys());
  EXPECT_EQ(wanted_annotations(keys(), *info, BackendType::kVxlan, 1, kMac, kUnderlay, ours)
                .at("flannel.alpha.coreos.com/backend-v6-data"),
            R"({"VNI":1,"VtepMAC":"0e:3c:1f:00:06:07"})");
}

TEST(KubeOwnNode, TheAnnotationsFlanneldWritesAreWantedAndOnlyWhatDiffersIsPatched) {
  NodeSpec n = own_node();
  const auto info = read_flannel_node(n, keys());
  const auto wanted = wanted_annotations(keys(), *info, BackendType::kVxlan, 4096, kMac, kUnderlay);
  EXPECT_EQ(wanted.at("flannel.alpha.coreos.com/backend-data"),
            R"({"VNI":4096,"VtepMAC":"0e:3c:1f:00:00:07"})");
  EXPECT_EQ(wanted.at("flannel.alpha.coreos.com/backend-type"), "vxlan");
  EXPECT_EQ(wanted.at("flannel.alpha.coreos.com/public-ip"), "192.0.2.17");
  EXPECT_EQ(wanted.at("flannel.alpha.coreos.com/kube-subnet-manager"), "true");

  // A fresh node: all four, under metadata.annotations, nothing else.
  auto patch = annotation_patch(n, wanted);
  ASSERT_TRUE(patch);
  const auto body = nlohmann::json::parse(*patch);
  EXPECT_EQ(body.size(), 1u);
  EXPECT_EQ(body["metadata"]["annotations"].size(), 4u);

  // Published: nothing to do. Then someone deletes one and edits another.
  n.annotations = wanted;
  n.annotations["example.com/other"] = "kept";
  EXPECT_FALSE(annotation_patch(n, wanted));
  n.annotations.erase("flannel.alpha.coreos.com/backend-data");
  n.annotations["flannel.alpha.coreos.com/public-ip"] = "192.0.2.99";
  patch = annotation_patch(n, wanted);
  ASSERT_TRUE(patch);
  EXPECT_EQ(nlohmann::json::parse(*patch), nlohmann::json::parse(R"({"metadata":{"annotations":{
              "flannel.alpha.coreos.com/backend-data":"{\"VNI\":4096,\"VtepMAC\":\"0e:3c:1f:00:00:07\"}",
              "flannel.alpha.coreos.com/public-ip":"192.0.2.17"}}})"));
}

TEST(KubeOwnNode, PublicIpOverwriteIsWhatWeAnnounce) {
  NodeSpec n = own_node();
  n.annotations["flannel.alpha.coreos.com/public-ip-overwrite"] = "203.0.113.17";
  const auto info = read_flannel_node(n, keys());
  EXPECT_EQ(wanted_annotations(keys(), *info, BackendType::kVxlan, 1, kMac, kUnderlay)
                .at("flannel.alpha.coreos.com/public-ip"),
            "203.0.113.17");
}

TEST(KubeOwnNode, NetworkUnavailableIsSetFalseUnlessItAlreadyIs) {
  const auto at = std::chrono::system_clock::from_time_t(1796300000);  // 2026-12-03T12:13:20Z
  auto patch = network_condition_patch(std::nullopt, at);
  ASSERT_TRUE(patch);
  const auto c = nlohmann::json::parse(*patch)["status"]["conditions"];
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0]["type"], "NetworkUnavailable");
  EXPECT_EQ(c[0]["status"], "False");
  EXPECT_EQ(c[0]["reason"], "TartanIsUp");
  EXPECT_EQ(c[0]["lastTransitionTime"], "2026-12-03T12:13:20Z");
  EXPECT_EQ(c[0]["lastHeartbeatTime"], "2026-12-03T12:13:20Z");
  EXPECT_TRUE(network_condition_patch(NodeConditionState{"True", "NoRouteCreated"}, at));
  EXPECT_FALSE(network_condition_patch(NodeConditionState{"False", "FlannelIsUp"}, at));
}

// One tartan.yaml for every node (a ConfigMap): the underlay's device and
// address may be left out with lease.source kube and come from the Node.
const char* kSharedConfig = R"(ports:
  underlay: {}
  overlay: [{name: flannel.1, device: "net_tap0,iface=flannel.1"}]
network: {"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan"}}
lease: {source: kube}
)";

TEST(KubeOwnNode, UnderlaySettingsComeFromTheNodesAnnotations) {
  auto config = parse_config(kSharedConfig, "shared.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_FALSE(underlay_known(*config));
  NodeSpec n = own_node();
  n.annotations[kUnderlayDeviceAnnotation] = "0000:3b:00.0";
  n.annotations[kUnderlayAddressAnnotation] = "192.0.2.17/24";
  n.annotations[kUnderlayGatewayAnnotation] = "192.0.2.1";
  ASSERT_TRUE(apply_node_settings(n, config->engine).ok());
  EXPECT_TRUE(underlay_known(*config));
  EXPECT_EQ(config->engine.ports[0].device, "0000:3b:00.0");
  EXPECT_EQ(config->engine.underlay.address->str(), "192.0.2.17/24");
  EXPECT_EQ(config->engine.underlay.gateway->str(), "192.0.2.1");
  EXPECT_FALSE(check_underlay(*config));

  n.annotations[kUnderlayGatewayAnnotation] = "198.51.100.1";
  ASSERT_TRUE(apply_node_settings(n, config->engine).ok());
  const auto problem = check_underlay(*config);
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->key, "ports.underlay.gateway");
  EXPECT_EQ(problem->message, "198.51.100.1 is not inside the underlay subnet 192.0.2.0/24");

  n.annotations[kUnderlayAddressAnnotation] = "192.0.2.17";
  EXPECT_EQ(apply_node_settings(n, config->engine).message(),
            "annotations[tartan.io/underlay-address]: '192.0.2.17' is not an IPv4 address with "
            "its prefix length (192.0.2.10/24)");
}

// Dual stack: each node's underlay IPv6 address (and gateway) from its
// Node too, checked as the config's once read.
TEST(KubeOwnNode, TheUnderlaysIpv6SideComesFromTheNodesAnnotations) {
  std::string yaml = kSharedConfig;
  yaml.replace(
      yaml.find(R"("Network": "10.244.0.0/16",)"), 27,
      R"("Network": "10.244.0.0/16", "EnableIPv6": true, "IPv6Network": "fd00:10:244::/56",)");
  auto config = parse_config(yaml, "shared.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  NodeSpec n = own_node();
  n.annotations[kUnderlayDeviceAnnotation] = "0000:3b:00.0";
  n.annotations[kUnderlayAddressAnnotation] = "192.0.2.17/24";
  ASSERT_TRUE(apply_node_settings(n, config->engine).ok());
  EXPECT_FALSE(underlay_known(*config)) << "the IPv6 address is still missing";
  n.annotations[kUnderlayIpv6AddressAnnotation] = "2001:db8::17/64";
  n.annotations[kUnderlayIpv6GatewayAnnotation] = "2001:db8::1";
  ASSERT_TRUE(apply_node_settings(n, config->engine).ok());
  EXPECT_TRUE(underlay_known(*config));
  EXPECT_EQ(config->engine.underlay.ipv6_address->str(), "2001:db8::17/64");
  EXPECT_EQ(config->engine.underlay.ipv6_gateway->str(), "2001:db8::1");
  EXPECT_FALSE(check_underlay(*config));
  n.annotations[kUnderlayIpv6GatewayAnnotation] = "2001:db9::1";
  ASSERT_TRUE(apply_node_settings(n, config->engine).ok());
  ASSERT_TRUE(check_underlay(*config));
  EXPECT_EQ(check_underlay(*config)->key, "ports.underlay.ipv6_gateway");
  n.annotations[kUnderlayIpv6AddressAnnotation] = "2001:db8::17";
  EXPECT_EQ(apply_node_settings(n, config->engine).message(),
            "annotations[tartan.io/underlay-ipv6-address]: '2001:db8::17' is not an IPv6 address "
            "with its prefix length (2001:db8::10/64)");
}

TEST(KubeOwnNode, OnlyKubeModeMayLeaveTheUnderlayToTheNode) {
  std::string yaml = kSharedConfig;
  yaml.replace(yaml.find("{source: kube}"), 14, "{source: grpc}");
  auto config = parse_config(yaml, "shared.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            "shared.yaml:2:13: ports.underlay.device: required key is missing (PCI address or vdev "
            "devargs)");
}

}  // namespace
}  // namespace tartan
