// flannel's etcd formats and rules without an etcd: the key and value bytes
// flanneld writes, its net-conf JSON, its subnet choice, and tartan's
// lease.etcd config keys.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "control/cluster/node_mirror.h"
#include "control/config/config_loader.h"
#include "control/config/netconf_json.h"
#include "control/sources/etcd/etcd_allocator.h"
#include "control/sources/etcd/etcd_endpoint.h"
#include "control/sources/etcd/etcd_lease_json.h"
#include "control/sources/etcd/etcd_netconf.h"

namespace tartan {
namespace {

Ipv4Prefix cidr(const char* text) {
  return *Ipv4Prefix::parse(text);
}
Ipv4Addr ip(const char* text) {
  return *Ipv4Addr::parse(text);
}

TEST(EtcdFormat, LeaseValuesAreGoJsonMarshalBytes) {
  const MacAddr mac = *MacAddr::parse("0E:00:00:00:00:2A");
  // flannel's LeaseAttrs: PublicIP, PublicIPv6 (no omitempty: null),
  // BackendType and BackendData (omitempty), compact, MAC lower-case.
  EXPECT_EQ(encode_lease_attrs(ip("192.0.2.10"), BackendType::kVxlan, 1, mac),
            R"({"PublicIP":"192.0.2.10","PublicIPv6":null,"BackendType":"vxlan",)"
            R"("BackendData":{"VNI":1,"VtepMAC":"0e:00:00:00:00:2a"}})");
  EXPECT_EQ(encode_lease_attrs(ip("192.0.2.10"), BackendType::kVxlan, 4096, mac),
            R"({"PublicIP":"192.0.2.10","PublicIPv6":null,"BackendType":"vxlan",)"
            R"("BackendData":{"VNI":4096,"VtepMAC":"0e:00:00:00:00:2a"}})");
  EXPECT_EQ(encode_lease_attrs(ip("192.0.2.10"), BackendType::kUdp, 1, mac),
            R"({"PublicIP":"192.0.2.10","PublicIPv6":null})");
  EXPECT_EQ(encode_lease_attrs(ip("192.0.2.10"), BackendType::kHostGw, 1, mac),
            R"({"PublicIP":"192.0.2.10","PublicIPv6":null,"BackendType":"host-gw"})");
  // flannel's wireguardLeaseAttrs: {"PublicKey":"<base64>","Port":<ListenPort>}.
  WireguardKey key{};
  key[0] = 1;
  EXPECT_EQ(encode_lease_attrs(ip("192.0.2.10"), BackendType::kWireguard, 1, mac, {},
                               OwnWireguard{key, 51820, 51821}),
            R"({"PublicIP":"192.0.2.10","PublicIPv6":null,"BackendType":"wireguard",)"
            R"("BackendData":{"PublicKey":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",)"
            R"("Port":51820}})");
}

Ipv6Prefix cidr6(const char* text) {
  return *Ipv6Prefix::parse(text);
}
Ipv6Addr ip6(const char* text) {
  return *Ipv6Addr::parse(text);
}

TEST(EtcdFormat, DualStackAndIpv6OnlyValuesAreGoJsonMarshalBytes) {
  const MacAddr mac = *MacAddr::parse("0e:00:00:00:00:2a");
  const OwnIpv6 v6{ip6("2001:db8::10"), *MacAddr::parse("0e:00:00:00:01:2a")};
  // flannel's vxlan newSubnetAttrs: BackendData for flannel.1, then
  // BackendV6Data for flannel-v6.1.
  EXPECT_EQ(encode_lease_attrs(ip("192.0.2.10"), BackendType::kVxlan, 1, mac, v6),
            R"({"PublicIP":"192.0.2.10","PublicIPv6":"2001:db8::10","BackendType":"vxlan",)"
            R"("BackendData":{"VNI":1,"VtepMAC":"0e:00:00:00:00:2a"},)"
            R"("BackendV6Data":{"VNI":1,"VtepMAC":"0e:00:00:00:01:2a"}})");
  // IPv6 only: PublicIP is Go's zero IP4 (no omitempty), no BackendData.
  EXPECT_EQ(encode_lease_attrs(std::nullopt, BackendType::kVxlan, 1, mac, v6),
            R"({"PublicIP":"0.0.0.0","PublicIPv6":"2001:db8::10","BackendType":"vxlan",)"
            R"("BackendV6Data":{"VNI":1,"VtepMAC":"0e:00:00:00:01:2a"}})");
  // wireguard: BackendV6Data with the same key and ListenPortV6.
  WireguardKey key{};
  key[0] = 1;
  EXPECT_EQ(encode_lease_attrs(ip("192.0.2.10"), BackendType::kWireguard, 1, mac, v6,
                               OwnWireguard{key, 51999, 52000}),
            R"({"PublicIP":"192.0.2.10","PublicIPv6":"2001:db8::10","BackendType":"wireguard",)"
            R"("BackendData":{"PublicKey":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",)"
            R"("Port":51999},)"
            R"("BackendV6Data":{"PublicKey":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",)"
            R"("Port":52000}})");
  // host-gw sets no backend data for either family.
  EXPECT_EQ(encode_lease_attrs(ip("192.0.2.10"), BackendType::kHostGw, 1, mac, v6),
            R"({"PublicIP":"192.0.2.10","PublicIPv6":"2001:db8::10","BackendType":"host-gw"})");
}

TEST(EtcdFormat, SubnetKeysAreFlannelsMakeSubnetKey) {
  EXPECT_EQ(subnet_key_name({cidr("10.244.1.0/24")}), "10.244.1.0-24");
  EXPECT_EQ(subnet_key_name({cidr("10.244.1.0/24"), cidr6("fd00:10:244:1::/64")}),
            "10.244.1.0-24&fd00:10:244:1::-64");
  // IPv6 only: flannel's empty IP4Net in front.
  EXPECT_EQ(subnet_key_name({std::nullopt, cidr6("fd00:10:244:1::/64")}),
            "0.0.0.0-0&fd00:10:244:1::-64");
  EXPECT_EQ(*parse_subnet_key_name("10.5.34.0-24"), PodCidrs{cidr("10.5.34.0/24")});
  EXPECT_EQ(*parse_subnet_key_name("10.244.1.0-24&fd00:0:0:1::-64"),
            (PodCidrs{cidr("10.244.1.0/24"), cidr6("fd00:0:0:1::/64")}));
  EXPECT_EQ(*parse_subnet_key_name("0.0.0.0-0&fd00:0:0:1::-64"),
            (PodCidrs{std::nullopt, cidr6("fd00:0:0:1::/64")}));
  // Alone, 0.0.0.0-0 is flannel's lease of the whole IPv4 space.
  EXPECT_EQ(*parse_subnet_key_name("0.0.0.0-0"), PodCidrs{cidr("0.0.0.0/0")});
}

// Keys as flannel's ParseSubnetKey reads them (strconv.ParseUint in 5 and 7
// bits, net.ParseIP), and why one is not a subnet.
TEST(EtcdFormat, SubnetKeysAreReadAsParseSubnetKeyReadsThem) {
  // Leading zeros in a length, as ParseUint takes them; an IPv6-only key's
  // empty IP4Net written so too.
  EXPECT_EQ(*parse_subnet_key_name("10.244.1.0-024"), PodCidrs{cidr("10.244.1.0/24")});
  EXPECT_EQ(*parse_subnet_key_name("0.0.0.0-00&fd00::-0064"),
            (PodCidrs{std::nullopt, cidr6("fd00::/64")}));
  // Go keeps an IPv6 part's host bits; its overlap tests and the kernel's
  // IPv6 route mask them: the subnet is the masked one.
  EXPECT_EQ(*parse_subnet_key_name("10.244.1.0-24&fd00::1-64"),
            (PodCidrs{cidr("10.244.1.0/24"), cidr6("fd00::/64")}));
  EXPECT_EQ(*parse_subnet_key_name("10.244.1.0-31"), PodCidrs{cidr("10.244.1.0/31")});
  EXPECT_EQ(*parse_subnet_key_name("10.244.1.0-24&fd00::-127"),
            (PodCidrs{cidr("10.244.1.0/24"), cidr6("fd00::/127")}));

  const auto why = [](const char* name) {
    const auto r = parse_subnet_key_name(name);
    return r ? "parsed as " + r->str() : r.status().message();
  };
  const std::string shape =
      "not <IPv4>-<len> or <IPv4>-<len>&<IPv6>-<len>, as flannel names a subnet";
  // Go's regex is not anchored at the start ("x10.244.1.0-24" would be
  // read); tartan wants the whole element.
  for (const char* bad :
       {"10.244.1.0/24", "10.244.1.0-", "x10.244.1.0-24", "config", "10.244.1.0-024x",
        "10.244.1.0-24&FD00::-64", "10.244.1.0-24&fd00::", "10.244.1.0-24&-64"}) {
    EXPECT_EQ(why(bad), shape) << bad;
  }
  EXPECT_EQ(why("10.244.1.0-32"), "IPv4 length 32 > 31");
  EXPECT_EQ(why("10.244.1.0-0099999999999999999999"), "IPv4 length 99999999999999999999 > 31");
  EXPECT_EQ(why("10.244.1.0-24&fd00::-128"), "IPv6 length 128 > 127");
  EXPECT_EQ(why("10.244.256.0-24"), "IPv4 address 10.244.256.0 is not valid");
  EXPECT_EQ(why("10.244.01.0-24"), "IPv4 address 10.244.01.0 is not valid");
  EXPECT_EQ(why("10.244.1.0-24&fd00:::1-64"), "IPv6 address fd00:::1 is not valid");
  // Go keeps IPv4 host bits too, but flanneld's route to such a prefix is
  // refused by the kernel: tartan says so and leaves the key alone.
  EXPECT_EQ(why("10.244.1.7-24"),
            "IPv4 part 10.244.1.7/24 has host bits set (flanneld reads it, the kernel refuses "
            "its route)");
}

TEST(EtcdFormat, LeaseNodeNamesAreKeysWithoutAmpersandsAndColons) {
  // Node names: the key's element with '&' and ':' as '-'.
  EXPECT_EQ(lease_node_name({cidr("10.244.1.0/24")}), "10.244.1.0-24");
  EXPECT_EQ(lease_node_name({cidr("10.244.1.0/24"), cidr6("fd00:10:244:1::/64")}),
            "10.244.1.0-24-fd00-10-244-1---64");
  EXPECT_TRUE(valid_node_name(lease_node_name({std::nullopt, cidr6("::/64")})));
}

TEST(EtcdFormat, FlanneldValuesDecodeAsGoWouldAndBecomeFlannelNodes) {
  // As flanneld v0.2x writes them, and with Go's case-insensitive keys.
  auto vxlan =
      decode_lease_attrs(R"({"PublicIP":"192.0.2.21","PublicIPv6":null,"BackendType":"vxlan",)"
                         R"("BackendData":{"VNI":1,"VtepMAC":"ae:4b:8f:12:34:56"}})");
  ASSERT_TRUE(vxlan.ok()) << vxlan.status().message();
  EXPECT_EQ(vxlan->public_ip, ip("192.0.2.21"));
  EXPECT_EQ(vxlan->backend_type, "vxlan");
  EXPECT_EQ(vxlan->backend_data, R"({"VNI":1,"VtepMAC":"ae:4b:8f:12:34:56"})");
  auto udp = decode_lease_attrs(R"({"publicip":"192.0.2.22","PublicIPv6":null})");
  ASSERT_TRUE(udp.ok());
  EXPECT_EQ(udp->backend_type, "");
  EXPECT_EQ(udp->backend_data, "");

  const AnnotationKeys keys = *annotation_keys("flannel.alpha.coreos.com");
  const NodeSpec n = lease_to_node(PodCidrs{cidr("10.244.7.0/24")}, *vxlan, keys);
  EXPECT_EQ(n.name, "10.244.7.0-24");
  auto info = read_flannel_node(n, keys);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_TRUE(info->subnet_manager);
  EXPECT_EQ(info->pod_cidr, cidr("10.244.7.0/24"));
  EXPECT_EQ(info->public_ip, ip("192.0.2.21"));
  EXPECT_EQ(info->vtep_mac, MacAddr::parse("ae:4b:8f:12:34:56"));
  EXPECT_EQ(info->vni, 1u);
  EXPECT_EQ(
      lease_to_node(PodCidrs{cidr("10.244.8.0/24")}, *udp, keys).annotations.at(keys.backend_data),
      "null");

  EXPECT_EQ(decode_lease_attrs("{").status().message().rfind("invalid JSON", 0), 0u);
  EXPECT_EQ(decode_lease_attrs(R"({"PublicIP":"nope"})").status().message(),
            R"(PublicIP: "nope" is not an IPv4 address)");
  EXPECT_EQ(decode_lease_attrs(R"({"BackendType":"vxlan"})").status().message(),
            "PublicIP: missing");
  EXPECT_EQ(
      decode_lease_attrs(R"({"PublicIP":"0.0.0.0","PublicIPv6":"192.0.2.1"})").status().message(),
      R"(PublicIPv6: "192.0.2.1" is not an IPv6 address)");
}

// flanneld's dual-stack and IPv6-only leases: each family's annotations
// only where the key has its subnet, as its kube manager writes them.
TEST(EtcdFormat, FlanneldDualStackAndIpv6OnlyValuesBecomeFlannelNodes) {
  const AnnotationKeys keys = *annotation_keys("flannel.alpha.coreos.com");
  auto dual = decode_lease_attrs(
      R"({"PublicIP":"192.0.2.21","PublicIPv6":"2001:db8::21","BackendType":"vxlan",)"
      R"("BackendData":{"VNI":1,"VtepMAC":"ae:4b:8f:12:34:56"},)"
      R"("BackendV6Data":{"VNI":1,"VtepMAC":"ae:4b:8f:12:34:66"}})");
  ASSERT_TRUE(dual.ok()) << dual.status().message();
  EXPECT_EQ(dual->public_ipv6, ip6("2001:db8::21"));
  EXPECT_EQ(dual->backend_v6_data, R"({"VNI":1,"VtepMAC":"ae:4b:8f:12:34:66"})");
  const NodeSpec n =
      lease_to_node(PodCidrs{cidr("10.244.7.0/24"), cidr6("fd00:10:244:7::/64")}, *dual, keys);
  EXPECT_EQ(n.name, "10.244.7.0-24-fd00-10-244-7---64");
  auto info = read_flannel_node(n, keys);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->pod_cidr, cidr("10.244.7.0/24"));
  EXPECT_EQ(info->pod_cidr_v6, cidr6("fd00:10:244:7::/64"));
  EXPECT_EQ(info->public_ip, ip("192.0.2.21"));
  EXPECT_EQ(info->public_ipv6, ip6("2001:db8::21"));
  EXPECT_EQ(info->vtep_mac_v6, MacAddr::parse("ae:4b:8f:12:34:66"));
  EXPECT_EQ(info->vni_v6, 1u);
  EXPECT_FALSE(info->ipv6_invalid);

  auto v6_only = decode_lease_attrs(
      R"({"PublicIP":"0.0.0.0","PublicIPv6":"2001:db8::22","BackendType":"vxlan",)"
      R"("BackendV6Data":{"VNI":1,"VtepMAC":"ae:4b:8f:12:34:67"}})");
  ASSERT_TRUE(v6_only.ok()) << v6_only.status().message();
  const NodeSpec m =
      lease_to_node(PodCidrs{std::nullopt, cidr6("fd00:10:244:8::/64")}, *v6_only, keys);
  EXPECT_EQ(m.pod_cidrs, std::vector<std::string>{"fd00:10:244:8::/64"});
  EXPECT_EQ(m.annotations.count(keys.public_ip), 0u) << "no IPv4 side at all";
  EXPECT_EQ(m.annotations.count(keys.backend_data), 0u);
  EXPECT_EQ(m.annotations.at(keys.public_ipv6), "2001:db8::22");
  EXPECT_EQ(m.addresses, (std::vector<NodeAddressSpec>{{"InternalIP", "2001:db8::22"}}));
}

NetworkConfig finished(const std::string& json) {
  auto raw = parse_netconf_json(json);
  EXPECT_TRUE(raw.ok()) << raw.status().message();
  std::string bad;
  auto n = finish_network_config(*raw, &bad);
  EXPECT_TRUE(n.ok()) << bad << ": " << n.status().message();
  return *n;
}

TEST(EtcdFormat, NetConfJsonIsReadAsFlanneldReadsIt) {
  const NetworkConfig n = finished(
      R"({"network":"10.5.7.9/16","SubnetLen":26,"Backend":{"type":"VXLAN","VNI":7,"Port":0},)"
      R"("Unknown":{"ignored":true},"EnableNFTables":false})");
  EXPECT_EQ(n.network, cidr("10.5.0.0/16"));  // masked, as IP4Net.UnmarshalJSON does
  EXPECT_EQ(n.subnet_len, 26);
  EXPECT_EQ(n.subnet_min, ip("10.5.0.64"));
  EXPECT_EQ(n.subnet_max, ip("10.5.255.192"));
  EXPECT_EQ(n.backend.type, BackendType::kVxlan);
  EXPECT_EQ(n.backend.vni, 7u);
  EXPECT_EQ(n.backend.port, 8472);  // Port 0: the kernel's default
  EXPECT_EQ(finished(R"({"Network":"10.5.0.0/16"})").backend.type, BackendType::kUdp);

  const auto error = [](const std::string& json) {
    auto raw = parse_netconf_json(json);
    return raw.ok() ? std::string("parsed") : raw.status().message();
  };
  EXPECT_EQ(error(R"({"Network":16})"), "Network: expected a CIDR string, found 16");
  EXPECT_EQ(error(R"({"Network":"10.5.0.0/16","Backend":{"VNI":"1"}})"),
            R"(Backend.VNI: expected an integer, found "1")");
  EXPECT_EQ(error(R"({"Network":"10.5.0.0/16","SubnetMin":"x"})"),
            R"(SubnetMin: Invalid IP address format: "x")");
  EXPECT_EQ(error("[]"), "(top level): expected a JSON object, found []");
}

TEST(EtcdFormat, EtcdNetworkIsAdoptedButTheBackendMustAgree) {
  NetworkConfig ours = finished(R"({"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}})");
  const std::string key = "/coreos.com/network/config";
  auto adopted = adopt_etcd_network(
      ours, finished(R"({"Network":"10.5.0.0/16","SubnetLen":25,"Backend":{"Type":"vxlan"}})"),
      1500, key);
  ASSERT_TRUE(adopted.ok()) << adopted.status().message();
  EXPECT_EQ(adopted->network, cidr("10.5.0.0/16"));
  EXPECT_EQ(adopted->subnet_len, 25);
  const auto refusal = [&](const std::string& json) {
    auto r = adopt_etcd_network(ours, finished(json), 1500, key);
    return r.ok() ? std::string("adopted") : r.status().message();
  };
  EXPECT_EQ(refusal(R"({"Network":"10.5.0.0/16","Backend":{"Type":"udp"}})"),
            "/coreos.com/network/config has Backend.Type udp but this node's "
            "network.Backend.Type is vxlan: every node on the prefix must agree (change one of "
            "them)");
  EXPECT_EQ(refusal(R"({"Network":"10.5.0.0/16","Backend":{"Type":"vxlan","VNI":2}})"),
            "/coreos.com/network/config has Backend.VNI 2 but this node's network.Backend.VNI "
            "is 1: every node on the prefix must agree (change one of them)");
  EXPECT_EQ(refusal(R"({"Network":"10.5.0.0/16","Backend":{"Type":"vxlan","Port":4789}})"),
            "/coreos.com/network/config has Backend.Port 4789 but this node's "
            "network.Backend.Port is 8472: every node on the prefix must agree (change one of "
            "them)");
  EXPECT_EQ(refusal(R"({"Network":"10.5.0.0/16","Backend":{"Type":"vxlan","MTU":1400}})"),
            "/coreos.com/network/config has Backend.MTU 1400 but this node's network.Backend.MTU "
            "is 1500: every node on the prefix must agree (change one of them)");
  EXPECT_EQ(refusal(R"({"Network":"10.5.0.0/16","EnableIPv6":true,"IPv6Network":"fd00::/56",)"
                    R"("Backend":{"Type":"vxlan"}})"),
            "/coreos.com/network/config has EnableIPv6 true but this node's network.EnableIPv6 "
            "is false: every node on the prefix must agree (change one of them)");
  // Dual stack: the IPv6 subnets are etcd's too.
  ours = finished(R"({"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00::/48",)"
                  R"("Backend":{"Type":"vxlan"}})");
  adopted = adopt_etcd_network(
      ours,
      finished(R"({"Network":"10.5.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:5::/56",)"
               R"("IPv6SubnetLen":72,"IPv6SubnetMax":"fd00:5:0:20::","Backend":{"Type":"vxlan"}})"),
      1500, key);
  ASSERT_TRUE(adopted.ok()) << adopted.status().message();
  EXPECT_EQ(adopted->ipv6_network->str(), "fd00:5::/56");
  EXPECT_EQ(adopted->ipv6_subnet_len, 72);
  EXPECT_EQ(adopted->ipv6_subnet_min.str(), "fd00:5:0:0:100::");
  EXPECT_EQ(adopted->ipv6_subnet_max.str(), "fd00:5:0:20::");
}

std::vector<LeaseInEtcd> leases_of(const std::vector<std::pair<const char*, const char*>>& v) {
  std::vector<LeaseInEtcd> out;
  for (const auto& [subnet, pip] : v)
    out.push_back({std::string("k/") + subnet, {cidr(subnet)}, LeaseHolder{ip(pip)}});
  return out;
}

TEST(EtcdAllocator, OurOwnLeaseFirstThenThePreviousSubnetThenRandom) {
  const NetworkConfig net = finished(R"({"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}})");
  std::mt19937_64 rng(1);
  const Ipv4Addr me = ip("192.0.2.10");
  // Ours by public IP wins over the previous subnet; an incompatible one
  // of ours (wrong length) is stale.
  auto c = choose_subnet(net,
                         leases_of({{"10.244.9.0/24", "192.0.2.10"},
                                    {"10.244.12.0/25", "192.0.2.10"},
                                    {"10.244.3.0/24", "192.0.2.11"}}),
                         {me}, {cidr("10.244.4.0/24")}, rng);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->kind, SubnetChoice::Kind::kOurs);
  EXPECT_EQ(c->subnets, PodCidrs{cidr("10.244.9.0/24")});
  EXPECT_EQ(c->stale_keys, std::vector<std::string>{"k/10.244.12.0/25"});
  // The previous subnet when free ...
  c = choose_subnet(net, leases_of({{"10.244.3.0/24", "192.0.2.11"}}), {me},
                    {cidr("10.244.4.0/24")}, rng);
  EXPECT_EQ(c->kind, SubnetChoice::Kind::kPrevious);
  EXPECT_EQ(c->subnets, PodCidrs{cidr("10.244.4.0/24")});
  // ... not when held, nor when it no longer fits (SubnetLen changed).
  for (const char* prev : {"10.244.3.0/24", "10.244.4.0/23"}) {
    c = choose_subnet(net, leases_of({{"10.244.3.0/24", "192.0.2.11"}}), {me}, {cidr(prev)}, rng);
    EXPECT_EQ(c->kind, SubnetChoice::Kind::kRandom) << prev;
  }
}

TEST(EtcdAllocator, RandomAmongTheFirstHundredFreeSubnetsAvoidingEveryLease) {
  const NetworkConfig net = finished(R"({"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}})");
  std::mt19937_64 rng(7);
  // 10.244.1..10 taken, and a /20 lease covering 10.244.16..31 (a different
  // SubnetLen from another era): none of those may be handed out.
  std::vector<LeaseInEtcd> leases;
  for (int i = 1; i <= 10; ++i) {
    const std::string s = "10.244." + std::to_string(i) + ".0/24";
    leases.push_back({s, {cidr(s.c_str())}, LeaseHolder{ip("192.0.2.99")}});
  }
  leases.push_back({"wide", {cidr("10.244.16.0/20")}, LeaseHolder{ip("192.0.2.98")}});
  std::set<uint32_t> seen;
  for (int i = 0; i < 3000; ++i) {
    auto c = choose_subnet(net, leases, {ip("192.0.2.10")}, {}, rng);
    ASSERT_TRUE(c.ok());
    const uint32_t third = (c->subnets.v4->addr.value >> 8) & 0xff;
    ASSERT_EQ(c->subnets.v4->len, 24);
    ASSERT_FALSE(c->subnets.v6);
    ASSERT_TRUE(third >= 11 && !(third >= 16 && third <= 31)) << c->subnets.str();
    seen.insert(third);
  }
  // The first 100 free: 11..15 and 32..126.
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(*seen.begin(), 11u);
  EXPECT_EQ(*seen.rbegin(), 126u);
}

TEST(EtcdAllocator, OutOfSubnetsNamesTheRange) {
  const NetworkConfig net =
      finished(R"({"Network":"10.244.0.0/16","SubnetMin":"10.244.1.0","SubnetMax":"10.244.2.0",)"
               R"("Backend":{"Type":"vxlan"}})");
  std::mt19937_64 rng(1);
  auto c = choose_subnet(
      net, leases_of({{"10.244.1.0/24", "192.0.2.11"}, {"10.244.2.0/24", "192.0.2.12"}}),
      {ip("192.0.2.10")}, {}, rng);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(c.status().message(),
            "out of subnets: all 2 /24 subnets from SubnetMin 10.244.1.0 to SubnetMax 10.244.2.0 "
            "of Network 10.244.0.0/16 are leased");
}

// One of each family, chosen on its own from its own range; a lease blocks
// only the families it has a subnet of.
TEST(EtcdAllocator, DualStackTakesASubnetOfEachFamily) {
  const NetworkConfig net =
      finished(R"({"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10:244::/56",)"
               R"("IPv6SubnetMax":"fd00:10:244:3::","Backend":{"Type":"vxlan"}})");
  std::mt19937_64 rng(3);
  const LeaseHolder me{ip("192.0.2.10"), ip6("2001:db8::10")};
  const std::vector<LeaseInEtcd> leases{
      {"dual", {cidr("10.244.1.0/24"), cidr6("fd00:10:244:1::/64")}, LeaseHolder{ip("192.0.2.11")}},
      {"v4only", {cidr("10.244.2.0/24")}, LeaseHolder{ip("192.0.2.12")}},
      {"unreadable", {cidr("10.244.3.0/24"), cidr6("fd00:10:244:2::/64")}, std::nullopt}};
  std::set<std::string> seen6;
  for (int i = 0; i < 200; ++i) {
    auto c = choose_subnet(net, leases, me, {}, rng);
    ASSERT_TRUE(c.ok()) << c.status().message();
    ASSERT_TRUE(c->subnets.v4 && c->subnets.v6);
    ASSERT_GE((c->subnets.v4->addr.value >> 8) & 0xff, 4u) << c->subnets.str();
    seen6.insert(c->subnets.v6->str());
  }
  // fd00:10:244:1:: and :2:: are leased (the v4-only lease holds none);
  // IPv6SubnetMax is :3::.
  EXPECT_EQ(seen6, std::set<std::string>{"fd00:10:244:3::/64"});

  // Ours again by public IP; our subnets of the last run when free; a lease
  // of ours without the IPv6 half no longer fits (flanneld deletes it).
  std::vector<LeaseInEtcd> with_ours = leases;
  with_ours.push_back({"ours-v4", {cidr("10.244.9.0/24")}, me});
  auto c =
      choose_subnet(net, with_ours, me, {cidr("10.244.4.0/24"), cidr6("fd00:10:244:3::/64")}, rng);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->kind, SubnetChoice::Kind::kPrevious);
  EXPECT_EQ(c->stale_keys, std::vector<std::string>{"ours-v4"});
  EXPECT_EQ(c->subnets, (PodCidrs{cidr("10.244.4.0/24"), cidr6("fd00:10:244:3::/64")}));
  with_ours.push_back({"ours", {cidr("10.244.8.0/24"), cidr6("fd00:10:244:3::/64")}, me});
  c = choose_subnet(net, with_ours, me, {}, rng);
  EXPECT_EQ(c->kind, SubnetChoice::Kind::kOurs);
  EXPECT_EQ(c->existing_key, "ours");
  // The previous IPv6 subnet is someone else's now: both are chosen anew.
  c = choose_subnet(net, leases, me, {cidr("10.244.4.0/24"), cidr6("fd00:10:244:2::/64")}, rng);
  EXPECT_EQ(c->kind, SubnetChoice::Kind::kRandom);
}

// IPv6 only: the key's IPv4 half is empty, and a node's own lease is the
// one with its PublicIPv6 (every IPv6-only lease has PublicIP 0.0.0.0).
TEST(EtcdAllocator, Ipv6OnlyFindsOurLeaseByPublicIpv6) {
  const NetworkConfig net =
      finished(R"({"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00:10:244::/48",)"
               R"("Backend":{"Type":"vxlan"}})");
  std::mt19937_64 rng(5);
  const LeaseHolder me{Ipv4Addr{}, ip6("2001:db8::10")};
  const std::vector<LeaseInEtcd> leases{{"theirs",
                                         {std::nullopt, cidr6("fd00:10:244:1::/64")},
                                         LeaseHolder{Ipv4Addr{}, ip6("2001:db8::11")}},
                                        {"ours", {std::nullopt, cidr6("fd00:10:244:7::/64")}, me}};
  auto c = choose_subnet(net, leases, me, {}, rng);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->kind, SubnetChoice::Kind::kOurs);
  EXPECT_EQ(c->existing_key, "ours");
  c = choose_subnet(net, {leases[0]}, me, {}, rng);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->kind, SubnetChoice::Kind::kRandom);
  EXPECT_FALSE(c->subnets.v4);
  EXPECT_NE(*c->subnets.v6, cidr6("fd00:10:244:1::/64"));
  EXPECT_TRUE(cidr6("fd00:10:244::/48").contains(*c->subnets.v6));
}

TEST(EtcdFormat, EndpointsAreFlanneldsUrls) {
  EXPECT_EQ(parse_etcd_endpoint("http://127.0.0.1:2379")->target, "127.0.0.1:2379");
  EXPECT_TRUE(parse_etcd_endpoint("https://etcd-0.example:2379/")->tls);
  EXPECT_EQ(parse_etcd_endpoint("10.0.0.1:2379")->target, "10.0.0.1:2379");
  EXPECT_EQ(parse_etcd_endpoint("unix:///x").status().message(),
            "'unix:///x': the scheme must be http or https");
  EXPECT_EQ(parse_etcd_endpoint("http://h").status().message(),
            "'http://h' is not an etcd client URL (http://host:port)");
  EXPECT_EQ(parse_etcd_endpoint("http://h:70000").status().message(),
            "'http://h:70000': port out of range 1..65535");
}

const std::string kEtcdConfig = R"(ports:
  underlay: {device: net_ring0, address: 192.0.2.10/24}
  overlay: [{device: net_ring1}]
network: {Network: 10.244.0.0/16, Backend: {Type: vxlan}}
lease:
  source: etcd
)";

TEST(EtcdConfigKeys, DefaultsAreFlanneldsAndEveryKeyIsRead) {
  auto c = parse_config(kEtcdConfig, "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  const EtcdConfig& e = c->lease.etcd;
  EXPECT_EQ(c->lease.source, LeaseSource::kEtcd);
  EXPECT_EQ(e.endpoints, std::vector<std::string>{"http://127.0.0.1:2379"});
  EXPECT_EQ(e.prefix, "/coreos.com/network");
  EXPECT_EQ(e.lease_ttl_s, 86400u);
  EXPECT_EQ(e.renew_margin_s, 3600u);
  c = parse_config(kEtcdConfig +
                       "  etcd:\n"
                       "    endpoints: [https://10.0.0.1:2379, https://10.0.0.2:2379]\n"
                       "    prefix: /example.com/net/\n"
                       "    tls: {cert: /c.pem, key: /k.pem, ca: /ca.pem}\n"
                       "    username: flannel\n"
                       "    password_file: /etc/tartan/etcd-password\n"
                       "    lease_ttl_s: 600\n"
                       "    renew_margin_s: 60\n"
                       "    request_timeout_ms: 2000\n"
                       "    retry_initial_ms: 100\n"
                       "    retry_max_ms: 5000\n"
                       "    startup_timeout_s: 30\n",
                   "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->lease.etcd.prefix, "/example.com/net");
  EXPECT_EQ(c->lease.etcd.tls_ca, "/ca.pem");
  EXPECT_EQ(c->lease.etcd.renew_margin_s, 60u);
  // The effective config reads back the same (the password stays out of it).
  auto again = parse_config(config_to_yaml(*c), "again.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << config_to_yaml(*c);
  EXPECT_EQ(again->lease.etcd.endpoints, c->lease.etcd.endpoints);
  EXPECT_EQ(again->lease.etcd.password_file, "/etc/tartan/etcd-password");
  EXPECT_EQ(again->lease.etcd.retry_max_ms, 5000u);
}

TEST(EtcdConfigKeys, ErrorsNameTheKey) {
  const auto error = [](const std::string& etcd_lines) {
    auto c = parse_config(kEtcdConfig + etcd_lines, "t.yaml");
    return c.ok() ? std::string("accepted") : c.status().message();
  };
  EXPECT_EQ(error("  etcd: {endpoints: [ftp://x:1]}\n"),
            "t.yaml:7:21: lease.etcd.endpoints: [0]: 'ftp://x:1': the scheme must be http or "
            "https");
  EXPECT_EQ(error("  etcd: {lease_ttl_s: 60, renew_margin_s: 60}\n"),
            "t.yaml:7:43: lease.etcd.renew_margin_s: 60 must be below lease_ttl_s (60)");
  EXPECT_EQ(error("  etcd: {tls: {ca: /ca.pem}}\n"),
            "t.yaml:7:15: lease.etcd.tls: set, but no endpoint is https://");
  EXPECT_EQ(error("  etcd: {username: u}\n"),
            "t.yaml:7:9: lease.etcd.username: username and password (or password_file) go "
            "together");
  EXPECT_EQ(error("  etcd: {ttl: 5}\n"),
            "t.yaml:7:10: lease.etcd.ttl: unknown key (allowed here: endpoints, prefix, tls, "
            "username, password, password_file, lease_ttl_s, renew_margin_s, "
            "request_timeout_ms, retry_initial_ms, retry_max_ms, startup_timeout_s)");
  EXPECT_EQ(error("  subnet: 10.244.1.0/24\n"),
            "t.yaml:7:11: lease.subnet: not with lease.source etcd: the subnet is allocated in "
            "etcd");
  auto c = parse_config(
      "ports:\n  underlay: {device: net_ring0, address: 192.0.2.10/24}\n"
      "  overlay: [{device: net_ring1}]\nnetwork: {Network: 10.244.0.0/16}\n"
      "lease: {source: grpc, etcd: {}}\n",
      "t.yaml");
  EXPECT_EQ(c.status().message(), "t.yaml:5:29: lease.etcd: applies to lease.source etcd only");
}

}  // namespace
}  // namespace tartan
