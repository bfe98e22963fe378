// One node's lease in a real etcd, as flanneld keeps its own: the bytes it
// writes, what it reuses, how it renews, what happens when the key goes or
// the range is full, and keys written by hand in flanneld's format.
#include <gtest/gtest.h>
#include <rte_log.h>

#include <cstdio>
#include <set>
#include <thread>

#include "control/sources/etcd/etcd_lease_json.h"
#include "tests/support/etcd_node.h"
#include "tests/support/etcd_server.h"
#include "tests/support/files.h"
#include "tests/support/log_capture.h"
#include "tests/support/process.h"
#include "tests/support/test_pki.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::EtcdNode;
using testing::EtcdServer;
using testing::eventually;
using testing::flanneld_vxlan_lease;
using testing::kSubnets;

// etcdctl names leases in hex.
std::string hex_id(int64_t id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(id));
  return buf;
}

std::string key_of(const EtcdNode& n) {
  return kSubnets + subnet_key_name({n.subnet()});
}

TEST(EtcdLease, KeyAndValueAreWhatFlanneldWritesOnATwentyFourHourLease) {
  EtcdServer etcd;
  EtcdNode n({.index = 5, .endpoints = {etcd.endpoint()}});
  ASSERT_TRUE(n.start().ok());
  const std::string key = key_of(n);
  EXPECT_EQ(key, "/coreos.com/network/subnets/" + n.subnet()->addr.str() + "-24");
  EXPECT_EQ(etcd.get(key), R"({"PublicIP":"192.0.2.15","PublicIPv6":null,"BackendType":"vxlan",)"
                           R"("BackendData":{"VNI":1,"VtepMAC":"0e:00:00:00:00:05"}})");
  // On an etcd lease of flannel's 24 h, with our key on it.
  const std::string ttl =
      etcd.ctl({"lease", "timetolive", hex_id(n.source().status().lease_id), "--keys"});
  EXPECT_NE(ttl.find("granted with TTL(86400s)"), std::string::npos) << ttl;
  EXPECT_NE(ttl.find("attached keys([" + key + "])"), std::string::npos) << ttl;
}

TEST(EtcdLease, HandWrittenFlanneldLeasesBecomeRoutesAndFollowEveryChange) {
  EtcdServer etcd;
  // Before tartan starts: a vxlan node, a host-gw node and one on another
  // VNI (kept, not routed), an unreadable value and a key that is no subnet.
  etcd.put_with_lease(kSubnets + "10.244.2.0-24",
                      flanneld_vxlan_lease("192.0.2.20", "ae:4b:8f:00:00:02"));
  etcd.put_with_lease(kSubnets + "10.244.3.0-24",
                      R"({"PublicIP":"192.0.2.21","PublicIPv6":null,"BackendType":"host-gw"})");
  etcd.put_with_lease(kSubnets + "10.244.4.0-24",
                      flanneld_vxlan_lease("192.0.2.22", "ae:4b:8f:00:00:04", 2));
  etcd.put(kSubnets + "10.244.5.0-24", "{not json");
  etcd.put(kSubnets + "lock", "x");
  EtcdNode n({.index = 1, .endpoints = {etcd.endpoint()}});
  ASSERT_TRUE(n.start().ok());
  const auto route_to = [&](const char* prefix) -> std::optional<RouteView> {
    for (const RouteView& r : n.routes()) {
      if (r.prefix.str() == prefix) return r;
    }
    return std::nullopt;
  };
  ASSERT_EQ(n.routes().size(), 1u);
  EXPECT_EQ(route_to("10.244.2.0/24")->public_ip.str(), "192.0.2.20");
  EXPECT_EQ(route_to("10.244.2.0/24")->vtep_mac.str(), "ae:4b:8f:00:00:02");
  EXPECT_EQ(n.mirror().get("10.244.3.0-24")->status.reason,
            "backend-type is 'host-gw', this node runs vxlan");
  EXPECT_EQ(n.mirror().get("10.244.4.0-24")->status.reason, "VNI 2 differs from ours (1)");
  // Unreadable: listed, not routed, saying why (flanneld only logs it).
  ASSERT_TRUE(n.mirror().get("10.244.5.0-24"));
  EXPECT_FALSE(n.mirror().get("10.244.5.0-24")->status.routed);
  EXPECT_NE(
      n.mirror().get("10.244.5.0-24")->status.reason.find(kSubnets + "10.244.5.0-24 (revision "),
      std::string::npos);
  EXPECT_NE(n.mirror().get("10.244.5.0-24")->status.reason.find("value cannot be read"),
            std::string::npos)
      << n.mirror().get("10.244.5.0-24")->status.reason;
  EXPECT_NE(*n.subnet(), *Ipv4Prefix::parse("10.244.5.0/24")) << "an unreadable lease still holds";

  // After: a new node, a new VtepMAC and public IP, a deletion; each within a second.
  etcd.put_with_lease(kSubnets + "10.244.6.0-24",
                      flanneld_vxlan_lease("192.0.2.24", "ae:4b:8f:00:00:06"));
  EXPECT_TRUE(eventually([&] { return route_to("10.244.6.0/24").has_value(); }, 10s));
  etcd.put_with_lease(kSubnets + "10.244.2.0-24",
                      flanneld_vxlan_lease("192.0.2.30", "ae:4b:8f:00:00:22"));
  EXPECT_TRUE(eventually(
      [&] {
        auto r = route_to("10.244.2.0/24");
        return r && r->public_ip.str() == "192.0.2.30" && r->vtep_mac.str() == "ae:4b:8f:00:00:22";
      },
      1s));
  etcd.del(kSubnets + "10.244.6.0-24");
  EXPECT_TRUE(eventually([&] { return !route_to("10.244.6.0/24"); }, 10s));
  // A value that turns unreadable keeps the route of the last good one, as
  // flanneld (which ignores the event) does, and says so.
  testing::LogCapture log;
  etcd.put(kSubnets + "10.244.2.0-24", R"({"PublicIP":"nope"})");
  const auto noted = [&] {
    auto rec = n.mirror().get("10.244.2.0-24");
    return rec &&
           rec->status.reason.find("keeping the route of its last good value") != std::string::npos;
  };
  ASSERT_TRUE(eventually(noted, 1s)) << n.mirror().get("10.244.2.0-24")->status.reason;
  EXPECT_TRUE(n.mirror().get("10.244.2.0-24")->status.routed);
  ASSERT_TRUE(route_to("10.244.2.0/24"));
  EXPECT_EQ(route_to("10.244.2.0/24")->public_ip.str(), "192.0.2.30");
  EXPECT_NE(log.text().find("value cannot be read"), std::string::npos) << log.text();
  // A good value again clears the note.
  etcd.put_with_lease(kSubnets + "10.244.2.0-24",
                      flanneld_vxlan_lease("192.0.2.31", "ae:4b:8f:00:00:23"));
  EXPECT_TRUE(eventually(
      [&] {
        auto rec = n.mirror().get("10.244.2.0-24");
        return rec && rec->status.routed && rec->status.reason.empty() &&
               route_to("10.244.2.0/24")->public_ip.str() == "192.0.2.31";
      },
      1s));
}

TEST(EtcdLease, EtcdConfigIsAdoptedOrRefusedNamingBothValues) {
  EtcdServer etcd;
  etcd.put("/coreos.com/network/config",
           R"({"Network":"10.5.0.0/16","SubnetLen":26,"Backend":{"Type":"vxlan"}})");
  EtcdNode n({.index = 1, .endpoints = {etcd.endpoint()}});
  ASSERT_TRUE(n.start().ok());
  EXPECT_EQ(n.subnet()->len, 26);
  EXPECT_TRUE(Ipv4Prefix::parse("10.5.0.0/16")->contains(*n.subnet()));
  EXPECT_EQ(testing::read_file(n.dir() + "/subnet.env").substr(0, 30),
            "FLANNEL_NETWORK=10.5.0.0/16\nFL");

  etcd.put("/coreos.com/network/config",
           R"({"Network":"10.5.0.0/16","Backend":{"Type":"vxlan","VNI":42}})");
  EtcdNode other({.index = 2, .endpoints = {etcd.endpoint()}});
  const Status s = other.start();
  EXPECT_EQ(s.message(),
            "/coreos.com/network/config has Backend.VNI 42 but this node's network.Backend.VNI "
            "is 1: every node on the prefix must agree (change one of them)");
  etcd.put("/coreos.com/network/config",
           R"({"Network":"192.0.2.0/23","Backend":{"Type":"vxlan"}})");
  EXPECT_EQ(EtcdNode({.index = 3, .endpoints = {etcd.endpoint()}}).start().message(),
            "/coreos.com/network/config: Network 192.0.2.0/23 overlaps the underlay subnet "
            "192.0.2.0/24 (ports.underlay.address)");
}

TEST(EtcdLease, WithoutANetworkOfItsOwnTheEtcdConfigMustExistAndIsAdoptedWhole) {
  EtcdServer etcd;
  // As flanneld: no <prefix>/config is an error, retried until
  // startup_timeout_s, then naming the key.
  EtcdNode missing(
      {.index = 1, .endpoints = {etcd.endpoint()}, .network = "", .startup_timeout_s = 1});
  EXPECT_TRUE(missing.config().network_from_etcd);
  const Status failed = missing.start();
  EXPECT_EQ(failed.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(failed.message(),
            "/coreos.com/network/config is not in etcd: with no network (or network_file) in "
            "node-1.yaml, it is the network config, as for flanneld (etcdctl put "
            "/coreos.com/network/config "
            "'{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}') (gave up "
            "after lease.etcd.startup_timeout_s 1)");

  // Written: its network and backend are this node's, as flanneld's are.
  etcd.put("/coreos.com/network/config",
           R"({"Network":"10.250.0.0/16","SubnetLen":26,"Backend":{"Type":"udp","Port":8300}})");
  EtcdNode n({.index = 2, .endpoints = {etcd.endpoint()}, .network = ""});
  ASSERT_TRUE(n.start().ok());
  EXPECT_EQ(n.config().network.network.str(), "10.250.0.0/16");
  EXPECT_EQ(n.subnet()->len, 26);
  EXPECT_TRUE(Ipv4Prefix::parse("10.250.0.0/16")->contains(*n.subnet()));
  EXPECT_EQ(n.config().engine.dataplane.backend, BackendType::kUdp);
  EXPECT_EQ(n.config().engine.dataplane.udp_port, 8300);
  EXPECT_EQ(etcd.get(key_of(n)), R"({"PublicIP":"192.0.2.12","PublicIPv6":null})");
}

TEST(EtcdLease, OutOfSubnetsNamesTheRangeAndLeavesNothingBehind) {
  EtcdServer etcd;
  const std::string two =
      "{Network: 10.244.0.0/16, SubnetMin: 10.244.1.0, SubnetMax: 10.244.2.0, "
      "Backend: {Type: vxlan}}";
  EtcdNode a({.index = 1, .endpoints = {etcd.endpoint()}, .network = two});
  EtcdNode b({.index = 2, .endpoints = {etcd.endpoint()}, .network = two});
  EtcdNode c({.index = 3, .endpoints = {etcd.endpoint()}, .network = two});
  ASSERT_TRUE(a.start().ok());
  ASSERT_TRUE(b.start().ok());
  const Status s = c.start();
  EXPECT_EQ(s.code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(s.message(),
            "out of subnets: all 2 /24 subnets from SubnetMin 10.244.1.0 to SubnetMax 10.244.2.0 "
            "of Network 10.244.0.0/16 are leased");
  EXPECT_EQ(etcd.keys(kSubnets).size(), 2u);
  EXPECT_EQ(etcd.ctl({"lease", "list"}).find("found 2 leases"), 0u);
}

TEST(EtcdLease, ACreateThatLosesTheRaceChoosesAgain) {
  EtcdServer etcd;
  std::string stolen;
  EtcdServer* e = &etcd;
  // Between our choice and our Txn, a flanneld node takes that very subnet.
  EtcdNode n({.index = 1,
              .endpoints = {etcd.endpoint()},
              .hooks = {.before_create = [&, e](const std::string& key) {
                if (!stolen.empty()) return;
                stolen = key;
                e->put_with_lease(key, flanneld_vxlan_lease("192.0.2.99", "ae:00:00:00:00:99"));
              }}});
  ASSERT_TRUE(n.start().ok());
  ASSERT_FALSE(stolen.empty());
  EXPECT_NE(key_of(n), stolen);
  EXPECT_EQ(n.source().status().conflicts, 1u);
  EXPECT_EQ(etcd.get(stolen), flanneld_vxlan_lease("192.0.2.99", "ae:00:00:00:00:99"))
      << "the winner's value stands";
  ASSERT_EQ(n.routes().size(), 1u);
  EXPECT_EQ(kSubnets + subnet_key_name({n.routes()[0].prefix}), stolen);
  EXPECT_EQ(etcd.ctl({"lease", "list"}).find("found 2 leases"), 0u)
      << "the loser's etcd lease is revoked";
}

TEST(EtcdLease, ARestartedNodeGetsItsSubnetBackByPublicIpOrFromSubnetEnv) {
  EtcdServer etcd;
  Ipv4Prefix first;
  {
    EtcdNode n({.index = 1, .endpoints = {etcd.endpoint()}});
    ASSERT_TRUE(n.start().ok());
    first = *n.subnet();
  }  // stopped: its key stays for the rest of its TTL, as flanneld's does
  EtcdNode again({.index = 1, .endpoints = {etcd.endpoint()}});
  ASSERT_TRUE(again.start().ok());
  EXPECT_EQ(*again.subnet(), first);
  EXPECT_EQ(etcd.keys(kSubnets).size(), 1u);

  // Key gone, but subnet.env of the last run says which one it was.
  again.stop();
  etcd.del(kSubnets + subnet_key_name({first}));
  EtcdNode third({.index = 1, .endpoints = {etcd.endpoint()}});
  testing::write_file(third.dir() + "/subnet.env",
                      "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=" +
                          Ipv4Prefix{Ipv4Addr{first.addr.value + 1}, 24}.str() +
                          "\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n");
  ASSERT_TRUE(third.start().ok());
  EXPECT_EQ(*third.subnet(), first);
}

TEST(EtcdLease, RenewedBeforeExpiryAndAStoppedNodeExpires) {
  EtcdServer etcd;
  const std::string short_ttl = ", lease_ttl_s: 6, renew_margin_s: 4";
  EtcdNode a({.index = 1, .endpoints = {etcd.endpoint()}, .etcd_yaml = short_ttl});
  EtcdNode b({.index = 2, .endpoints = {etcd.endpoint()}, .etcd_yaml = short_ttl});
  ASSERT_TRUE(a.start().ok());
  ASSERT_TRUE(b.start().ok());
  const int64_t first_lease = a.source().status().lease_id;
  // Two TTLs: the key would have expired twice without renewals. Renewals
  // come every 3 s (half the TTL) from the grant, so the fourth lands at
  // about 12 s, racing the sleep: three are what two TTLs need for sure.
  std::this_thread::sleep_for(12s);
  EXPECT_GE(a.source().status().renewals, 3u);
  EXPECT_NE(a.source().status().lease_id, first_lease);
  EXPECT_EQ(etcd.get(key_of(a)), a.source().lease_value());
  const std::string ttl =
      etcd.ctl({"lease", "timetolive", hex_id(a.source().status().lease_id), "--keys"});
  EXPECT_NE(ttl.find("attached keys([" + key_of(a) + "])"), std::string::npos) << ttl;
  EXPECT_EQ(etcd.ctl({"lease", "list"}).find("found 2 leases"), 0u)
      << "renewal revokes the lease it replaces";
  ASSERT_EQ(a.routes().size(), 1u);

  // b stops renewing: its key expires with its lease and a's route goes.
  b.stop();
  EXPECT_TRUE(eventually([&] { return a.routes().empty(); }, 10s));
  EXPECT_EQ(etcd.keys(kSubnets).size(), 1u);
}

// One node holding its lease, for what others do to that lease.
class EtcdOwnLease : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(n.start().ok());
    mine = *n.subnet();
    key = key_of(n);
  }
  EtcdServer etcd;
  EtcdNode n{{.index = 1, .endpoints = {etcd.endpoint()}}};
  Ipv4Prefix mine;
  std::string key;
};

TEST_F(EtcdOwnLease, DeletedFromOutsideStopsOurPodCidrLoudlyAndIsTakenAgain) {
  testing::LogCapture log;
  etcd.del(key);
  ASSERT_TRUE(eventually([&] { return n.source().status().own_lost == 1 && n.subnet(); }, 5s));
  // Taken again: the same subnet (ours before, free now), the same bytes.
  EXPECT_EQ(*n.subnet(), mine);
  EXPECT_EQ(etcd.get(key), n.source().lease_value());
  EXPECT_EQ(n.engine().local_subnet(), mine);
  EXPECT_NE(log.text().find("etcd: OUR LEASE IS GONE: " + key + " was deleted."), std::string::npos)
      << log.text();
}

TEST_F(EtcdOwnLease, TakenFromOutsideMovesUsAndRoutesTheTaker) {
  // An operator hands our subnet to a flanneld node, in one put.
  etcd.put_with_lease(key, flanneld_vxlan_lease("192.0.2.77", "ae:00:00:00:00:77"));
  ASSERT_TRUE(eventually(
      [&] { return n.source().status().own_lost == 1 && n.subnet() && *n.subnet() != mine; }, 5s));
  // Our pods' traffic is no longer delivered to the old podCIDR: it goes to
  // the taker, and subnet.env names the new one.
  EXPECT_TRUE(
      eventually([&] { return n.routes().size() == 1 && n.routes()[0].prefix == mine; }, 10s));
  EXPECT_EQ(n.routes()[0].public_ip.str(), "192.0.2.77");
  EXPECT_EQ(n.engine().local_subnet(), n.subnet());
  EXPECT_NE(
      testing::read_file(n.dir() + "/subnet.env")
          .find("FLANNEL_SUBNET=" + Ipv4Prefix{Ipv4Addr{n.subnet()->addr.value + 1}, 24}.str()),
      std::string::npos);
  EXPECT_EQ(etcd.get(key_of(n)), n.source().lease_value());
}

TEST(EtcdLease, AnUnreachableEndpointFailsOverToTheNext) {
  EtcdServer etcd;
  const std::string dead = "http://127.0.0.1:" + std::to_string(EtcdServer::free_port());
  EtcdNode n({.index = 1, .endpoints = {dead, etcd.endpoint()}});
  ASSERT_TRUE(n.start().ok());
  EXPECT_EQ(n.source().status().endpoint, etcd.endpoint());
}

TEST(EtcdLease, UsernameAndPasswordAreUsedWhenEtcdAuthIsOn) {
  EtcdServer etcd;
  etcd.ctl({"user", "add", "root", "--new-user-password=s3cret"});
  etcd.ctl({"auth", "enable"});
  EtcdNode n({.index = 1,
              .endpoints = {etcd.endpoint()},
              .etcd_yaml = ", username: root, password: s3cret"});
  ASSERT_TRUE(n.start().ok());
  EXPECT_EQ(etcd.ctl({"--user", "root:s3cret", "get", key_of(n), "--print-value-only"}),
            n.source().lease_value() + "\n");
  EtcdNode wrong({.index = 2,
                  .endpoints = {etcd.endpoint()},
                  .etcd_yaml = ", username: root, password: nope"});
  EXPECT_EQ(wrong.start().message().rfind("etcd authentication as 'root' at " + etcd.endpoint(), 0),
            0u);
}

TEST(EtcdLease, TlsClientCertificatesReachAnEtcdThatRequiresThem) {
  const testing::ScopedTempDir scoped("etcd-tls");
  const std::string& dir = scoped.path();
  // A CA; etcd's certificate for 127.0.0.1 and ours, both from it.
  testing::make_test_pki(dir, {"client"});
  EtcdServer etcd({}, dir);
  ASSERT_EQ(etcd.endpoint().rfind("https://", 0), 0u);
  EtcdNode n({.index = 1,
              .endpoints = {etcd.endpoint()},
              .etcd_yaml = ", tls: {cert: " + dir + "/client.crt, key: " + dir +
                           "/client.key, ca: " + dir + "/ca.crt}"});
  ASSERT_TRUE(n.start().ok());
  EXPECT_EQ(etcd.get(key_of(n)), n.source().lease_value());
  // Without a client certificate etcd does not talk to us.
  EtcdNode anonymous({.index = 2,
                      .endpoints = {etcd.endpoint()},
                      .etcd_yaml = ", tls: {ca: " + dir + "/ca.crt}, request_timeout_ms: 500",
                      .startup_timeout_s = 1});
  EXPECT_EQ(anonymous.start().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace tartan
