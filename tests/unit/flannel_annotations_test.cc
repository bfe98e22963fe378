// flannel's annotations, with values as `kubectl get node -o yaml` shows
// them on a kernel-flannel cluster.
#include "control/cluster/flannel_annotations.h"

#include <gtest/gtest.h>

namespace tartan {
namespace {

AnnotationKeys keys() {
  return *annotation_keys("flannel.alpha.coreos.com");
}

NodeSpec kernel_flannel_node() {
  NodeSpec n;
  n.name = "worker-1";
  n.pod_cidrs = {"10.244.1.0/24"};
  n.annotations = {
      {"flannel.alpha.coreos.com/backend-data", R"({"VNI":1,"VtepMAC":"6a:1a:3c:9f:7e:52"})"},
      {"flannel.alpha.coreos.com/backend-type", "vxlan"},
      {"flannel.alpha.coreos.com/kube-subnet-manager", "true"},
      {"flannel.alpha.coreos.com/public-ip", "192.168.122.11"},
      {"node.alpha.kubernetes.io/ttl", "0"},
      {"volumes.kubernetes.io/controller-managed-attach-detach", "true"},
  };
  return n;
}

TEST(FlannelAnnotations, KeysFollowFlannelsPrefixRules) {
  EXPECT_EQ(keys().backend_data, "flannel.alpha.coreos.com/backend-data");
  EXPECT_EQ(annotation_keys("example.com/foo")->backend_data, "example.com/foo-backend-data");
  EXPECT_EQ(annotation_keys("example.com/foo-")->public_ip, "example.com/foo-public-ip");
  EXPECT_EQ(annotation_keys("example.com/")->kube_subnet_manager,
            "example.com/kube-subnet-manager");
  EXPECT_EQ(annotation_keys("a/b/c").status().message(),
            "annotation prefix 'a/b/c': can contain at most a single slash");
  EXPECT_EQ(annotation_keys("NotAnFqdn").status().message(),
            "annotation prefix 'NotAnFqdn': must be in a format: fqdn/[0-9a-z-_]*");
}

TEST(FlannelAnnotations, ReadsAKernelFlannelNode) {
  auto info = read_flannel_node(kernel_flannel_node(), keys());
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_TRUE(info->subnet_manager);
  EXPECT_EQ(*info->backend_type, "vxlan");
  EXPECT_EQ(*info->vni, 1u);
  EXPECT_EQ(info->vtep_mac->str(), "6a:1a:3c:9f:7e:52");
  EXPECT_EQ(info->public_ip->str(), "192.168.122.11");
  EXPECT_EQ(info->pod_cidr->str(), "10.244.1.0/24");
}

// flanneld's nodeToLease reads public-ip only: a node with an overwrite
// writes it into its own public-ip, which is what peers use.
TEST(FlannelAnnotations, PeersUsePublicIpAndTheOverwriteIsReadApart) {
  NodeSpec n = kernel_flannel_node();
  n.annotations["flannel.alpha.coreos.com/public-ip-overwrite"] = "203.0.113.7";
  const auto info = read_flannel_node(n, keys());
  EXPECT_EQ(info->public_ip->str(), "192.168.122.11");
  EXPECT_EQ(info->public_ip_overwrite->str(), "203.0.113.7");
  n.annotations["flannel.alpha.coreos.com/public-ip-overwrite"] = "nowhere";
  EXPECT_EQ(read_flannel_node(n, keys()).status().message(),
            "annotations[flannel.alpha.coreos.com/public-ip-overwrite]: 'nowhere' is not an IPv4 "
            "address");
}

TEST(FlannelAnnotations, UdpBackendWritesNullDataAndNoType) {
  NodeSpec n = kernel_flannel_node();
  n.annotations["flannel.alpha.coreos.com/backend-data"] = "null";
  n.annotations["flannel.alpha.coreos.com/backend-type"] = "";
  auto info = read_flannel_node(n, keys());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(*info->backend_type, "");
  EXPECT_FALSE(info->vtep_mac);
}

TEST(FlannelAnnotations, DualStackPodCidrsAreSplitByFamily) {
  NodeSpec n = kernel_flannel_node();
  n.pod_cidrs = {"10.244.1.0/24", "fd00:10:244:1::/64"};
  auto info = read_flannel_node(n, keys());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->pod_cidr->str(), "10.244.1.0/24");
  EXPECT_EQ(info->pod_cidr_v6->str(), "fd00:10:244:1::/64");
}

TEST(FlannelAnnotations, MalformedValuesNameTheField) {
  const auto error = [](const std::string& key, const std::string& value) {
    NodeSpec n = kernel_flannel_node();
    n.annotations[key] = value;
    return read_flannel_node(n, keys()).status().message();
  };
  EXPECT_EQ(
      error("flannel.alpha.coreos.com/public-ip", "192.168.122.300"),
      "annotations[flannel.alpha.coreos.com/public-ip]: '192.168.122.300' is not an IPv4 address");
  EXPECT_EQ(error("flannel.alpha.coreos.com/backend-type", "vxlna"),
            "annotations[flannel.alpha.coreos.com/backend-type]: unknown backend 'vxlna'");
  EXPECT_EQ(
      error("flannel.alpha.coreos.com/backend-data", R"({"VNI":1,"VtepMAC":"6a:1a:3c:9f:7e"})"),
      "annotations[flannel.alpha.coreos.com/backend-data]: VtepMAC \"6a:1a:3c:9f:7e\" is not a MAC "
      "address");
  EXPECT_EQ(
      error("flannel.alpha.coreos.com/backend-data",
            R"({"VNI":16777216,"VtepMAC":"6a:1a:3c:9f:7e:52"})"),
      "annotations[flannel.alpha.coreos.com/backend-data]: VNI 16777216 is not a 24-bit number");
  EXPECT_EQ(error("flannel.alpha.coreos.com/backend-data", "[1,2]"),
            "annotations[flannel.alpha.coreos.com/backend-data]: expected a JSON object or null, "
            "got '[1,2]'");
  const std::string bad_json = error("flannel.alpha.coreos.com/backend-data", "{\"VNI\":");
  EXPECT_EQ(
      bad_json.rfind(
          "annotations[flannel.alpha.coreos.com/backend-data]: invalid JSON '{\"VNI\":': ", 0),
      0u)
      << bad_json;
  NodeSpec n = kernel_flannel_node();
  n.pod_cidrs = {"10.244.1.5/24"};
  EXPECT_EQ(read_flannel_node(n, keys()).status().message(),
            "pod_cidrs[0]: '10.244.1.5/24' has host bits set");
  n.pod_cidrs = {"10.244.1.0/24", "10.244.9.0/24"};
  EXPECT_EQ(read_flannel_node(n, keys()).status().message(),
            "pod_cidrs[1]: a second IPv4 podCIDR '10.244.9.0/24'");
}

TEST(FlannelAnnotations, BackendDataKeysMatchCaseInsensitivelyTheLastWinning) {
  const auto read = [](const std::string& data) {
    NodeSpec n = kernel_flannel_node();
    n.annotations["flannel.alpha.coreos.com/backend-data"] = data;
    return read_flannel_node(n, keys());
  };
  // As Go's encoding/json decodes flannel's vxlanLeaseAttrs: any case, the
  // later key overriding, other keys (nested values too) ignored.
  auto info = read(R"({"vni":7,"Extra":{"VNI":9,"a":[1,{"VtepMAC":"x"}]},"VNI":3,)"
                   R"("vtepmac":"0e:2a:00:11:22:33","z":null})");
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(*info->vni, 3u);
  EXPECT_EQ(info->vtep_mac->str(), "0e:2a:00:11:22:33");
  // A structured value where a number or a MAC belongs is shown whole.
  EXPECT_EQ(read(R"({"VNI":{"a":[1,2]}})").status().message(),
            "annotations[flannel.alpha.coreos.com/backend-data]: VNI {\"a\":[1,2]} is not a "
            "24-bit number");
  EXPECT_EQ(read(R"({"VtepMAC":[1]})").status().message(),
            "annotations[flannel.alpha.coreos.com/backend-data]: VtepMAC [1] is not a MAC address");
  // Not JSON wins over what the keys say; a bare value is not an object.
  EXPECT_EQ(
      read(R"({"VNI":-1,})")
          .status()
          .message()
          .rfind(
              "annotations[flannel.alpha.coreos.com/backend-data]: invalid JSON '{\"VNI\":-1,}': ",
              0),
      0u);
  EXPECT_EQ(read("7").status().message(),
            "annotations[flannel.alpha.coreos.com/backend-data]: expected a JSON object or null, "
            "got '7'");
}

TEST(FlannelAnnotations, OwnAnnotationsAreWhatFlanneldWrites) {
  const auto a =
      own_annotations(keys(), BackendType::kVxlan, 1, *MacAddr::parse("0E:2A:00:11:22:33"),
                      *Ipv4Addr::parse("192.0.2.10"));
  EXPECT_EQ(a.at("flannel.alpha.coreos.com/backend-data"),
            R"({"VNI":1,"VtepMAC":"0e:2a:00:11:22:33"})");
  EXPECT_EQ(a.at("flannel.alpha.coreos.com/backend-type"), "vxlan");
  EXPECT_EQ(a.at("flannel.alpha.coreos.com/public-ip"), "192.0.2.10");
  EXPECT_EQ(a.at("flannel.alpha.coreos.com/kube-subnet-manager"), "true");
  EXPECT_EQ(a.size(), 4u);
  const auto udp =
      own_annotations(keys(), BackendType::kUdp, 1, MacAddr{}, *Ipv4Addr::parse("192.0.2.10"));
  EXPECT_EQ(udp.at("flannel.alpha.coreos.com/backend-data"), "null");
  EXPECT_EQ(udp.at("flannel.alpha.coreos.com/backend-type"), "");
}

// A dual-stack kernel-flannel node (vxlan): flannel-v6.1's own VtepMAC in
// backend-v6-data, the same shape as backend-data.
NodeSpec dual_stack_node() {
  NodeSpec n = kernel_flannel_node();
  n.pod_cidrs = {"fd00:10:244:1::/64", "10.244.1.0/24"};  // either family first (flannel#1629)
  n.annotations["flannel.alpha.coreos.com/backend-v6-data"] =
      R"({"VNI":1,"VtepMAC":"7e:5d:11:a0:c4:02"})";
  n.annotations["flannel.alpha.coreos.com/public-ipv6"] = "2001:db8::11";
  return n;
}

TEST(FlannelAnnotations, ReadsADualStackKernelFlannelNode) {
  EXPECT_EQ(keys().backend_v6_data, "flannel.alpha.coreos.com/backend-v6-data");
  EXPECT_EQ(keys().public_ipv6, "flannel.alpha.coreos.com/public-ipv6");
  EXPECT_EQ(keys().public_ipv6_overwrite, "flannel.alpha.coreos.com/public-ipv6-overwrite");
  EXPECT_EQ(keys().node_public_ipv6, "flannel.alpha.coreos.com/node-public-ipv6");
  NodeSpec n = dual_stack_node();
  n.annotations["flannel.alpha.coreos.com/public-ipv6-overwrite"] = "2001:db8:ffff::11";
  n.annotations["flannel.alpha.coreos.com/node-public-ipv6"] = "2001:db8:eeee::11";
  auto info = read_flannel_node(n, keys());
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->pod_cidr->str(), "10.244.1.0/24");
  EXPECT_EQ(info->pod_cidr_v6->str(), "fd00:10:244:1::/64");
  EXPECT_EQ(info->vtep_mac->str(), "6a:1a:3c:9f:7e:52");
  EXPECT_EQ(info->vtep_mac_v6->str(), "7e:5d:11:a0:c4:02");
  EXPECT_EQ(info->vni_v6, 1u);
  EXPECT_EQ(info->public_ipv6->str(), "2001:db8::11") << "peers read public-ipv6";
  EXPECT_EQ(info->public_ipv6_overwrite->str(), "2001:db8:ffff::11");
  EXPECT_EQ(info->node_public_ipv6->str(), "2001:db8:eeee::11");
  EXPECT_FALSE(info->ipv6_invalid);
}

// flanneld reads the IPv6 annotations only with EnableIPv6: a bad one is
// said apart, the IPv4 side still read.
TEST(FlannelAnnotations, MalformedIpv6ValuesNameTheFieldAndLeaveIpv4Alone) {
  const auto v6_error = [](const char* key, const char* value) {
    NodeSpec n = dual_stack_node();
    n.annotations[std::string("flannel.alpha.coreos.com/") + key] = value;
    auto info = read_flannel_node(n, keys());
    EXPECT_TRUE(info.ok()) << info.status().message();
    EXPECT_EQ(info->vtep_mac->str(), "6a:1a:3c:9f:7e:52");
    EXPECT_EQ(info->public_ip->str(), "192.168.122.11");
    return info->ipv6_invalid.value_or("");
  };
  EXPECT_EQ(v6_error("public-ipv6", "192.0.2.1"),
            "annotations[flannel.alpha.coreos.com/public-ipv6]: '192.0.2.1' is not an IPv6 "
            "address");
  EXPECT_EQ(v6_error("public-ipv6-overwrite", "nope"),
            "annotations[flannel.alpha.coreos.com/public-ipv6-overwrite]: 'nope' is not an IPv6 "
            "address");
  // The same reader as backend-data's, with its checks and messages.
  EXPECT_EQ(v6_error("backend-v6-data", R"({"VNI":1,"VtepMAC":"01:00:5e:00:00:01"})"),
            "annotations[flannel.alpha.coreos.com/backend-v6-data]: VtepMAC "
            "\"01:00:5e:00:00:01\" is not unicast");
  EXPECT_EQ(v6_error("backend-v6-data", R"({"vni":16777216})"),
            "annotations[flannel.alpha.coreos.com/backend-v6-data]: VNI 16777216 is not a 24-bit "
            "number");
  EXPECT_EQ(v6_error("backend-v6-data", "{"),
            "annotations[flannel.alpha.coreos.com/backend-v6-data]: invalid JSON '{': "
            "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error "
            "while parsing object key - unexpected end of input; expected string literal");
  EXPECT_EQ(v6_error("backend-v6-data", "null"), "") << "host-gw and udp write null";
  // node-public-ip is checked as the others.
  NodeSpec n = kernel_flannel_node();
  n.annotations["flannel.alpha.coreos.com/node-public-ip"] = "2001:db8::1";
  EXPECT_EQ(read_flannel_node(n, keys()).status().message(),
            "annotations[flannel.alpha.coreos.com/node-public-ip]: '2001:db8::1' is not an IPv4 "
            "address");
}

TEST(FlannelAnnotations, OwnAnnotationsWithIpv6AreWhatFlanneldWrites) {
  const OwnIpv6 v6{*Ipv6Addr::parse("2001:db8::10"), *MacAddr::parse("0e:2a:00:11:22:66")};
  const auto a =
      own_annotations(keys(), BackendType::kVxlan, 7, *MacAddr::parse("0e:2a:00:11:22:33"),
                      *Ipv4Addr::parse("192.0.2.10"), v6);
  EXPECT_EQ(a.at("flannel.alpha.coreos.com/backend-data"),
            R"({"VNI":7,"VtepMAC":"0e:2a:00:11:22:33"})");
  EXPECT_EQ(a.at("flannel.alpha.coreos.com/backend-v6-data"),
            R"({"VNI":7,"VtepMAC":"0e:2a:00:11:22:66"})");
  EXPECT_EQ(a.at("flannel.alpha.coreos.com/public-ipv6"), "2001:db8::10");
  EXPECT_EQ(a.at("flannel.alpha.coreos.com/public-ip"), "192.0.2.10");
  EXPECT_EQ(a.size(), 6u);
  // What we write, a peer reads back the same.
  NodeSpec n;
  n.name = "us";
  n.pod_cidrs = {"10.244.3.0/24", "fd00:10:244:3::/64"};
  n.annotations = a;
  auto info = read_flannel_node(n, keys());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->vtep_mac_v6, v6.vtep_mac);
  EXPECT_EQ(info->public_ipv6, v6.public_ip);
  // IPv6 only: flanneld writes no IPv4 side (no device, no public IP).
  const auto only6 = own_annotations(keys(), BackendType::kVxlan, 1, MacAddr{}, std::nullopt, v6);
  EXPECT_FALSE(only6.count("flannel.alpha.coreos.com/backend-data"));
  EXPECT_FALSE(only6.count("flannel.alpha.coreos.com/public-ip"));
  EXPECT_EQ(only6.at("flannel.alpha.coreos.com/kube-subnet-manager"), "true");
  EXPECT_EQ(only6.size(), 4u);
  // host-gw over IPv6: null data and the public IPv6, as flanneld.
  const auto host_gw = own_annotations(keys(), BackendType::kHostGw, 1, MacAddr{},
                                       *Ipv4Addr::parse("192.0.2.10"), v6);
  EXPECT_EQ(host_gw.at("flannel.alpha.coreos.com/backend-v6-data"), "null");
  EXPECT_EQ(host_gw.at("flannel.alpha.coreos.com/backend-type"), "host-gw");
  // host-gw IPv6 only: flanneld still writes its (empty) IPv4 side.
  const auto host_gw6 =
      own_annotations(keys(), BackendType::kHostGw, 1, MacAddr{}, std::nullopt, v6);
  EXPECT_EQ(host_gw6.at("flannel.alpha.coreos.com/public-ip"), "0.0.0.0");
  EXPECT_EQ(host_gw6.at("flannel.alpha.coreos.com/backend-data"), "null");
  EXPECT_EQ(host_gw6.at("flannel.alpha.coreos.com/public-ipv6"), "2001:db8::10");
}

// A flanneld node of the wireguard backend, as newSubnetAttrs writes it:
// the same {"PublicKey":...} in backend-data and backend-v6-data.
TEST(FlannelAnnotations, ReadsAWireguardNodesPublicKeyInEitherFamily) {
  const std::string key = "qPRBXaa0jqqVhFx/0XEOEeK9hn3MVHRTuwGx5bN3SXs=";
  NodeSpec n = kernel_flannel_node();
  n.pod_cidrs = {"10.244.1.0/24", "fd00:10:244:1::/64"};
  n.annotations["flannel.alpha.coreos.com/backend-type"] = "wireguard";
  n.annotations["flannel.alpha.coreos.com/backend-data"] = R"({"PublicKey":")" + key + R"("})";
  n.annotations["flannel.alpha.coreos.com/backend-v6-data"] = R"({"publickey":")" + key + R"("})";
  n.annotations["flannel.alpha.coreos.com/public-ipv6"] = "2001:db8::11";
  auto info = read_flannel_node(n, keys());
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(*info->backend_type, "wireguard");
  ASSERT_TRUE(info->public_key.has_value());
  EXPECT_EQ(wireguard_key_text(*info->public_key), key);
  ASSERT_TRUE(info->public_key_v6.has_value());
  EXPECT_EQ(*info->public_key_v6, *info->public_key);
  EXPECT_FALSE(info->vni.has_value());
  EXPECT_FALSE(info->ipv6_invalid.has_value());
  // flannel before v0.26.6 names no Port: peers send to their own.
  EXPECT_EQ(info->wireguard_port, 0);
  EXPECT_EQ(info->wireguard_port_v6, 0);

  n.annotations["flannel.alpha.coreos.com/backend-data"] = R"({"PublicKey":"short"})";
  EXPECT_EQ(read_flannel_node(n, keys()).status().message(),
            "annotations[flannel.alpha.coreos.com/backend-data]: PublicKey \"short\" is not a "
            "WireGuard key: not base64 (a WireGuard key is 44 characters, as wg genkey prints)");
  n.annotations["flannel.alpha.coreos.com/backend-data"] = R"({"PublicKey":7})";
  EXPECT_EQ(read_flannel_node(n, keys()).status().message(),
            "annotations[flannel.alpha.coreos.com/backend-data]: PublicKey 7 is not a WireGuard "
            "key: not a string");
}

// flannel since v0.26.6: backend-data's Port is where the node listens
// (each family's device its own), read as Go reads a uint16.
TEST(FlannelAnnotations, ReadsAWireguardNodesPortPerFamilyAndRefusesOneThatIsNotAPort) {
  const std::string key = "qPRBXaa0jqqVhFx/0XEOEeK9hn3MVHRTuwGx5bN3SXs=";
  NodeSpec n = kernel_flannel_node();
  n.pod_cidrs = {"10.244.1.0/24", "fd00:10:244:1::/64"};
  n.annotations["flannel.alpha.coreos.com/backend-type"] = "wireguard";
  n.annotations["flannel.alpha.coreos.com/backend-data"] =
      R"({"PublicKey":")" + key + R"(","Port":51999})";
  n.annotations["flannel.alpha.coreos.com/backend-v6-data"] =
      R"({"PublicKey":")" + key + R"(","port":65535})";
  n.annotations["flannel.alpha.coreos.com/public-ipv6"] = "2001:db8::11";
  auto info = read_flannel_node(n, keys());
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->wireguard_port, 51999);
  EXPECT_EQ(info->wireguard_port_v6, 65535);
  // A null leaves it unset, as Go's json.Unmarshal does.
  n.annotations["flannel.alpha.coreos.com/backend-data"] =
      R"({"PublicKey":")" + key + R"(","Port":null})";
  info = read_flannel_node(n, keys());
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->wireguard_port, 0);

  for (const std::string bad : {"70000", "-1", "51820.5", "\"51820\"", "true"}) {
    n.annotations["flannel.alpha.coreos.com/backend-data"] =
        R"({"PublicKey":")" + key + R"(","Port":)" + bad + "}";
    EXPECT_EQ(read_flannel_node(n, keys()).status().message(),
              "annotations[flannel.alpha.coreos.com/backend-data]: Port " + bad +
                  " is not a UDP port (0..65535)");
  }
  // backend-v6-data's is the IPv6 side's problem only.
  n.annotations["flannel.alpha.coreos.com/backend-data"] = R"({"PublicKey":")" + key + R"("})";
  n.annotations["flannel.alpha.coreos.com/backend-v6-data"] =
      R"({"PublicKey":")" + key + R"(","Port":65536})";
  info = read_flannel_node(n, keys());
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->ipv6_invalid,
            "annotations[flannel.alpha.coreos.com/backend-v6-data]: Port 65536 is not a UDP port "
            "(0..65535)");
}

// What flanneld's wireguard backend writes (newSubnetAttrs): the one key in
// backend-data with ListenPort (IPv4 on) and in backend-v6-data with
// ListenPortV6 (IPv6 on); IPv6 only, backend-data null.
TEST(FlannelAnnotations, OwnWireguardAnnotationsAreWhatFlanneldWrites) {
  const auto key = parse_wireguard_key("qPRBXaa0jqqVhFx/0XEOEeK9hn3MVHRTuwGx5bN3SXs=");
  ASSERT_TRUE(key.ok());
  const OwnWireguard ours{*key, 51820, 51821};
  const std::string data =
      R"({"PublicKey":"qPRBXaa0jqqVhFx/0XEOEeK9hn3MVHRTuwGx5bN3SXs=","Port":51820})";
  const std::string data_v6 =
      R"({"PublicKey":"qPRBXaa0jqqVhFx/0XEOEeK9hn3MVHRTuwGx5bN3SXs=","Port":51821})";
  const OwnIpv6 v6{*Ipv6Addr::parse("2001:db8::10"), MacAddr{}};
  const auto dual = own_annotations(keys(), BackendType::kWireguard, 1, MacAddr{},
                                    *Ipv4Addr::parse("192.0.2.10"), v6, ours);
  EXPECT_EQ(dual.at("flannel.alpha.coreos.com/backend-type"), "wireguard");
  EXPECT_EQ(dual.at("flannel.alpha.coreos.com/backend-data"), data);
  EXPECT_EQ(dual.at("flannel.alpha.coreos.com/backend-v6-data"), data_v6);
  EXPECT_EQ(dual.at("flannel.alpha.coreos.com/public-ip"), "192.0.2.10");
  const auto only6 =
      own_annotations(keys(), BackendType::kWireguard, 1, MacAddr{}, std::nullopt, v6, ours);
  EXPECT_EQ(only6.at("flannel.alpha.coreos.com/backend-data"), "null");
  EXPECT_EQ(only6.at("flannel.alpha.coreos.com/public-ip"), "0.0.0.0");
  EXPECT_EQ(only6.at("flannel.alpha.coreos.com/backend-v6-data"), data_v6);
  // And what tartan writes, it reads back.
  NodeSpec n;
  n.name = "node-2";
  n.pod_cidrs = {"10.244.2.0/24", "fd00:10:244:2::/64"};
  n.annotations = dual;
  const auto info = read_flannel_node(n, keys());
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->public_key, *key);
  EXPECT_EQ(info->wireguard_port, 51820);
  EXPECT_EQ(info->wireguard_port_v6, 51821);
}

}  // namespace
}  // namespace tartan
