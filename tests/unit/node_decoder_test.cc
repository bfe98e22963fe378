// A kubelet-managed Node to what routing needs: the fields kept, the rest
// never held, podCIDR vs podCIDRs, and malformed members named.
#include "control/sources/kube/node_decoder.h"

#include <gtest/gtest.h>

#include "tests/support/kubelet_node.h"

namespace tartan {
namespace {

using nlohmann::json;
using testing::kubelet_node;
using testing::KubeletNodeSpec;

NodeDecodeOptions options(const std::string& prefix = "flannel.alpha.coreos.com",
                          const std::string& own = "worker-1") {
  return node_decode_options(annotation_keys(prefix).value(), own);
}

TEST(NodeDecoder, KubeletNodeKeepsOnlyWhatRoutingNeeds) {
  json node = kubelet_node({.name = "worker-1",
                            .resource_version = "73581",
                            .pod_cidr = "10.244.1.0/24",
                            .pod_cidr_v6 = "fd00:10:244:1::/64"});
  node["metadata"]["annotations"]["tartan.io/drain"] = "false";
  const std::string text = node.dump();
  auto n = decode_node(text, options());
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(n->spec.name, "worker-1");
  EXPECT_EQ(n->resource_version, "73581");
  EXPECT_EQ(n->spec.pod_cidrs, (std::vector<std::string>{"10.244.1.0/24", "fd00:10:244:1::/64"}));
  EXPECT_EQ(n->spec.addresses, (std::vector<NodeAddressSpec>{{"InternalIP", "192.168.56.11"},
                                                             {"Hostname", "worker-1"}}));
  EXPECT_EQ(n->spec.annotations, (std::map<std::string, std::string>{
                                     {"flannel.alpha.coreos.com/backend-data",
                                      "{\"VNI\":1,\"VtepMAC\":\"8a:1f:3c:44:50:01\"}"},
                                     {"flannel.alpha.coreos.com/backend-type", "vxlan"},
                                     {"flannel.alpha.coreos.com/kube-subnet-manager", "true"},
                                     {"flannel.alpha.coreos.com/public-ip", "192.168.56.11"},
                                     {"tartan.io/drain", "false"}}));
  ASSERT_TRUE(n->network_unavailable.has_value());
  EXPECT_EQ(*n->network_unavailable, (NodeConditionState{"False", "FlannelIsUp"}));

  // What flannel's reader makes of it.
  auto info = read_flannel_node(n->spec, annotation_keys("flannel.alpha.coreos.com").value());
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_TRUE(info->subnet_manager);
  EXPECT_EQ(info->public_ip->str(), "192.168.56.11");
}

TEST(NodeDecoder, TheDroppedPartsAreNeverInTheParsedTree) {
  const std::string text = kubelet_node().dump();
  auto tree = parse_kept(text, NodeDocument::kNode, options());
  ASSERT_TRUE(tree.ok()) << tree.status().message();
  const std::string kept = tree->dump();
  for (const char* gone : {"managedFields", "images", "nodeInfo", "labels", "capacity",
                           "allocatable", "kubeadm.alpha.kubernetes.io/cri-socket", "uid",
                           "MemoryPressure", "KubeletReady", "daemonEndpoints"}) {
    EXPECT_EQ(kept.find(gone), std::string::npos) << gone << " in " << kept;
  }
  EXPECT_NE(kept.find("NetworkUnavailable"), std::string::npos);
  EXPECT_LT(kept.size() * 10, text.size()) << kept;
}

TEST(NodeDecoder, BytesKeptPerKubeletNode) {
  const std::string text = kubelet_node().dump();
  auto n = decode_node(text, options("flannel.alpha.coreos.com", "someone-else"));
  ASSERT_TRUE(n.ok()) << n.status().message();
  const size_t kept = node_kept_bytes(*n);
  ::testing::Test::RecordProperty("json_bytes", static_cast<int>(text.size()));
  ::testing::Test::RecordProperty("kept_bytes", static_cast<int>(kept));
  std::printf("kubelet Node: %zu bytes of JSON, %zu bytes kept\n", text.size(), kept);
  // The kept part is what the decoder holds: a small fraction of the object.
  EXPECT_GT(kept, sizeof(KubeNode));
  EXPECT_LT(kept * 8, text.size());
}

TEST(NodeDecoder, PodCidrOnlyWhenPodCidrsIsAbsent) {
  json old = kubelet_node();
  old["spec"].erase("podCIDRs");
  auto a = decode_node(old.dump(), options());
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->spec.pod_cidrs, std::vector<std::string>{"10.244.1.0/24"});

  json both = kubelet_node();
  both["spec"]["podCIDRs"] = {"fd00::/64", "10.244.9.0/24"};  // v6 first, as flannel#1629 has it
  auto b = decode_node(both.dump(), options());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->spec.pod_cidrs, (std::vector<std::string>{"fd00::/64", "10.244.9.0/24"}));

  json none = kubelet_node();
  none["spec"] = json::object();  // not allocated yet
  auto c = decode_node(none.dump(), options());
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->spec.pod_cidrs.empty());
}

TEST(NodeDecoder, OnlyOurOwnNodeKeepsNetworkUnavailable) {
  auto other = decode_node(kubelet_node().dump(), options("flannel.alpha.coreos.com", "worker-9"));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->network_unavailable.has_value());

  json no_condition = kubelet_node();
  no_condition["status"]["conditions"].erase(0);  // flanneld never ran here
  auto own = decode_node(no_condition.dump(), options());
  ASSERT_TRUE(own.ok());
  EXPECT_FALSE(own->network_unavailable.has_value());
}

TEST(NodeDecoder, CustomAnnotationPrefix) {
  json node = kubelet_node();
  node["metadata"]["annotations"]["example.com/foo-backend-data"] = "null";
  node["metadata"]["annotations"]["example.com/other"] = "x";
  auto n = decode_node(node.dump(), options("example.com/foo"));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->spec.annotations,
            (std::map<std::string, std::string>{{"example.com/foo-backend-data", "null"}}));
}

TEST(NodeDecoder, MalformedMembersAreNamed) {
  const auto with = [](const char* pointer, json value) {
    json n = kubelet_node();
    n[json::json_pointer(pointer)] = std::move(value);
    return n.dump();
  };
  const auto without = [](const char* parent, const char* key) {
    json n = kubelet_node();
    n[json::json_pointer(parent)].erase(key);
    return n.dump();
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {without("/metadata", "name"), "metadata.name: missing"},
      {with("/metadata/name", 7), "metadata.name: not a string"},
      {with("/metadata/name", json::object({{"a", 1}})), "metadata.name: not a string"},
      {without("/metadata", "resourceVersion"), "metadata.resourceVersion: missing"},
      {without("", "metadata"), "metadata: missing"},
      {with("/metadata", "x"), "metadata: not an object"},
      {with("/spec/podCIDRs/1", 7), "spec.podCIDRs[1]: not a string"},
      {with("/spec/podCIDRs", "10.244.1.0/24"), "spec.podCIDRs: not a list"},
      {with("/spec/podCIDR", false), "spec.podCIDR: not a string"},
      {with("/metadata/annotations/flannel.alpha.coreos.com~1public-ip", 1),
       "metadata.annotations[flannel.alpha.coreos.com/public-ip]: not a string"},
      {with("/status/addresses/1", "10.0.0.1"), "status.addresses[1]: not an object"},
      {with("/status/addresses/0/address", nullptr), "status.addresses[0].address: missing"},
      {with("/status/conditions/0/status", 1),
       "status.conditions[NetworkUnavailable].status: not a string"},
      {with("/status", "Failure"), "status: not an object"},
  };
  for (const auto& [text, message] : cases) {
    auto n = decode_node(text, options());
    ASSERT_FALSE(n.ok()) << message;
    EXPECT_EQ(n.status().message(), message);
  }
}

TEST(NodeDecoder, UnrelatedMalformedMembersDoNotMatter) {
  json node = kubelet_node();
  node["metadata"]["labels"] = 42;  // not read
  node["metadata"]["annotations"]["example.org/x"] = json::array();
  node["status"]["images"] = "garbage";
  EXPECT_TRUE(decode_node(node.dump(), options()).ok());
}

TEST(NodeDecoder, InvalidJson) {
  const std::string text = kubelet_node().dump();
  for (const std::string& bad : {text.substr(0, text.size() / 2), std::string("[1,2"),
                                 std::string("{\"a\":1e999}"), std::string("\xff")}) {
    auto n = decode_node(bad, options());
    ASSERT_FALSE(n.ok());
    EXPECT_EQ(n.status().message().rfind("invalid JSON: ", 0), 0u) << n.status().message();
  }
  auto array = decode_node("[]", options());
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.status().message(), "node: not a JSON object");
}

TEST(NodeDecoder, ListPageWithContinue) {
  json list = {{"kind", "NodeList"},
               {"apiVersion", "v1"},
               {"metadata",
                {{"resourceVersion", "9000"},
                 {"continue", "eyJ2IjoibWV0YS5rOHMuaW8v"},
                 {"remainingItemCount", 3}}},
               {"items", json::array()}};
  for (int i = 1; i <= 3; ++i) {
    json item = kubelet_node({.name = "worker-" + std::to_string(i),
                              .resource_version = std::to_string(8000 + i),
                              .pod_cidr = "10.244." + std::to_string(i) + ".0/24"});
    item.erase("kind");  // list items carry no kind or apiVersion
    item.erase("apiVersion");
    list["items"].push_back(item);
  }
  auto page = decode_node_list(list.dump(), options());
  ASSERT_TRUE(page.ok()) << page.status().message();
  EXPECT_EQ(page->resource_version, "9000");
  EXPECT_EQ(page->continue_token, "eyJ2IjoibWV0YS5rOHMuaW8v");
  ASSERT_EQ(page->items.size(), 3u);
  EXPECT_EQ(page->items[2].spec.name, "worker-3");
  EXPECT_EQ(page->items[2].resource_version, "8003");
  EXPECT_EQ(page->items[2].spec.pod_cidrs, std::vector<std::string>{"10.244.3.0/24"});

  list["items"][1]["metadata"].erase("name");
  auto bad = decode_node_list(list.dump(), options());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "items[1].metadata.name: missing");

  auto no_meta = decode_node_list("{\"items\":[]}", options());
  ASSERT_FALSE(no_meta.ok());
  EXPECT_EQ(no_meta.status().message(), "metadata: missing");
}

}  // namespace
}  // namespace tartan
