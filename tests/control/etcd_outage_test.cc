// etcd going away under a running node: the data plane keeps forwarding on
// the tables it has, readiness says etcd is unreachable, and when etcd is
// back whatever changed meanwhile is applied (by the resumed watch, or by a
// re-list when the revisions it needs were compacted away).
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "control/sources/etcd/etcd_lease_json.h"
#include "control/sources/etcd/etcd_node_source.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/etcd_node.h"
#include "tests/support/etcd_server.h"
#include "tests/support/log_capture.h"
#include "tests/support/packets.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::Bytes;
using testing::DaemonFixture;
using testing::EtcdNode;
using testing::EtcdServer;
using testing::eventually;
using testing::flanneld_vxlan_lease;
using testing::kSubnets;

const char* const kNode2 = "10.244.2.0-24";
const char* const kNode3 = "10.244.3.0-24";

bool condition_ok(const Readiness& r, const std::string& name) {
  for (const ReadinessCondition& c : r.conditions()) {
    if (c.name == name) return c.ok;
  }
  return false;
}

// Changes made while the node under test cannot see etcd: etcd runs on a
// port it does not know, `change` writes, and etcd is stopped again.
template <class Change>
void change_behind_its_back(EtcdServer& etcd, Change change) {
  etcd.kill();
  etcd.restart(EtcdServer::free_port());
  change();
  etcd.kill();
}

class Traffic {
 public:
  explicit Traffic(DaemonFixture& fx) : fx_(fx) {}

  // One pod frame to each destination; for each, "outer-dst-ip inner-dst-mac"
  // of the VXLAN frame it became, or "" when none left within `wait`.
  std::vector<std::string> send(const std::vector<std::string>& dsts,
                                std::chrono::milliseconds wait = 500ms) {
    const Ipv4Prefix ours = fx_.daemon().lease().get()->pod_cidr.value();
    std::vector<rte_mbuf*> pkts;
    for (const std::string& dst : dsts) {
      testing::UdpSpec s;
      s.src_mac = *MacAddr::parse("02:00:00:00:01:99");
      s.dst_mac = *MacAddr::parse("02:00:00:00:01:01");  // the fixture's overlay MAC
      s.src_ip = Ipv4Addr{ours.addr.value + 10};
      s.dst_ip = *Ipv4Addr::parse(dst);
      s.src_port = static_cast<uint16_t>(10000 + sent_++);
      pkts.push_back(testing::to_mbuf(fx_.daemon().engine().mempool(), testing::udp_frame(s)));
    }
    EXPECT_EQ(fx_.overlay_port().inject(pkts), pkts.size());
    std::vector<Bytes> out;
    eventually(
        [&] {
          for (rte_mbuf* m : fx_.underlay_port().drain()) {
            out.push_back(testing::from_mbuf(m));
            rte_pktmbuf_free(m);
          }
          return out.size() >= dsts.size();
        },
        wait, 1ms);
    // Frames leave in order: match them to destinations by inner dst IP.
    std::vector<std::string> where(dsts.size());
    for (const Bytes& f : out) {
      if (f.size() < 84) continue;
      const Ipv4Addr outer{uint32_t(f[30]) << 24 | uint32_t(f[31]) << 16 | uint32_t(f[32]) << 8 |
                           f[33]};
      const Ipv4Addr inner{uint32_t(f[80]) << 24 | uint32_t(f[81]) << 16 | uint32_t(f[82]) << 8 |
                           f[83]};
      MacAddr mac;
      std::copy(f.begin() + 50, f.begin() + 56, mac.bytes.begin());
      for (size_t i = 0; i < dsts.size(); ++i) {
        if (inner.str() == dsts[i]) where[i] = outer.str() + " " + mac.str();
      }
    }
    return where;
  }

 private:
  DaemonFixture& fx_;
  int sent_ = 0;
};

// A node on `etcd` that retries quickly, with `more` keys of lease.etcd,
// knowing the underlay MACs of 192.0.2.20.. (one per entry of `macs`), so
// no ARP is needed.
// The running etcd source of a daemon with lease.source etcd.
EtcdLeaseSource& leases_of(Daemon& d) {
  return *static_cast<EtcdNodeSource&>(d.source()).leases();
}

testing::DaemonOptions etcd_node_options(const EtcdServer& etcd, const std::string& more,
                                         const std::vector<std::string>& macs) {
  testing::DaemonOptions o;
  o.lease_source = "etcd";
  o.lease_yaml = ", etcd: {endpoints: [" + etcd.endpoint() +
                 "], retry_initial_ms: 50, retry_max_ms: 300" + more + "}";
  std::string neighbours;
  for (size_t i = 0; i < macs.size(); ++i) {
    neighbours += std::string(i ? ", " : "") + "{ip: 192.0.2." + std::to_string(20 + i) +
                  ", mac: '" + macs[i] + "'}";
  }
  o.dataplane = "{max_routes: 1024, lpm_tbl8_groups: 64, static_neighbours: [" + neighbours + "]}";
  return o;
}

TEST(EtcdOutage, TartandForwardsWhileEtcdIsDownAndReconcilesWhenItIsBack) {
  EtcdServer etcd;
  etcd.put_with_lease(kSubnets + kNode2, flanneld_vxlan_lease("192.0.2.20", "ae:00:00:00:00:02"));
  etcd.put_with_lease(kSubnets + kNode3, flanneld_vxlan_lease("192.0.2.21", "ae:00:00:00:00:03"));
  DaemonFixture fx(
      etcd_node_options(etcd, ", request_timeout_ms: 1000",
                        {"02:00:00:00:0b:02", "02:00:00:00:0b:03", "02:00:00:00:0b:04"}));
  Daemon& d = fx.daemon();
  ASSERT_TRUE(d.readiness().ready());
  Traffic traffic(fx);
  const std::vector<std::string> dsts{"10.244.2.10", "10.244.3.10"};
  const std::vector<std::string> before{"192.0.2.20 ae:00:00:00:00:02",
                                        "192.0.2.21 ae:00:00:00:00:03"};
  EXPECT_EQ(traffic.send(dsts), before);

  testing::LogCapture log;
  etcd.kill();
  ASSERT_TRUE(eventually([&] { return !condition_ok(d.readiness(), "etcd"); }, 10s));
  EXPECT_FALSE(d.readiness().ready());
  // A couple of seconds of outage, several retries: every packet still goes.
  for (int round = 0; round < 20; ++round) {
    ASSERT_EQ(traffic.send(dsts), before) << "round " << round;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_GE(leases_of(d).status().failures, 2u) << "it keeps trying";
  EXPECT_EQ(d.lease().get()->pod_cidr, leases_of(d).status().subnets.v4) << "the lease is kept";

  // Meanwhile node 2 moved to another host and node 3 left.
  change_behind_its_back(etcd, [&] {
    etcd.put_with_lease(kSubnets + kNode2, flanneld_vxlan_lease("192.0.2.22", "ae:00:00:00:00:22"));
    etcd.del(kSubnets + kNode3);
  });
  etcd.restart();
  const std::vector<std::string> after{"192.0.2.22 ae:00:00:00:00:22", ""};
  EXPECT_TRUE(eventually([&] { return traffic.send(dsts, 50ms) == after; }, 10s));
  EXPECT_TRUE(eventually([&] { return d.readiness().ready(); }, 5s));
  EXPECT_EQ(leases_of(d).status().compactions, 0u) << "the watch resumed where it stopped";
  EXPECT_EQ(etcd.get(kSubnets + subnet_key_name(d.lease().get()->cidrs())),
            leases_of(d).lease_value());
  // Each change is one line naming the node, its podCIDR and the cause.
  const std::string text = log.text();
  EXPECT_NE(text.find("reachable again"), std::string::npos) << text;
  EXPECT_NE(text.find("node 10.244.2.0-24 modified (etcd lease " + kSubnets + kNode2 +
                      " put): podCIDR 10.244.2.0/24, routed via 192.0.2.22"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("node 10.244.3.0-24 deleted (etcd lease " + kSubnets + kNode3 +
                      " expired or deleted): podCIDR 10.244.3.0/24, route removed"),
            std::string::npos)
      << text;
}

TEST(EtcdOutage, AStalledEtcdDoesNotStopForwardingAndWhatChangesAfterItResumesIsApplied) {
  EtcdServer etcd;
  etcd.put_with_lease(kSubnets + kNode2, flanneld_vxlan_lease("192.0.2.20", "ae:00:00:00:00:02"));
  // Our lease is renewed every 5 s (half its TTL), so a renewal falls in the stall.
  DaemonFixture fx(
      etcd_node_options(etcd, ", request_timeout_ms: 500, lease_ttl_s: 10, renew_margin_s: 8",
                        {"02:00:00:00:0b:02", "02:00:00:00:0b:03"}));
  Daemon& d = fx.daemon();
  ASSERT_TRUE(d.readiness().ready());
  Traffic traffic(fx);
  const std::vector<std::string> dsts{"10.244.2.10", "10.244.3.10"};
  EXPECT_EQ(traffic.send(dsts), (std::vector<std::string>{"192.0.2.20 ae:00:00:00:00:02", ""}));
  const std::string our_key = kSubnets + subnet_key_name(d.lease().get()->cidrs());
  const uint64_t failures = leases_of(d).status().failures;

  // Six seconds of an etcd that holds every connection and answers nothing.
  etcd.pause();
  const auto resume_at = std::chrono::steady_clock::now() + 6s;
  while (std::chrono::steady_clock::now() < resume_at) {
    ASSERT_EQ(traffic.send(dsts)[0], "192.0.2.20 ae:00:00:00:00:02") << "forwarding stopped";
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_GT(leases_of(d).status().failures, failures) << "no call to the stalled etcd timed out";
  etcd.resume();

  etcd.put_with_lease(kSubnets + kNode3, flanneld_vxlan_lease("192.0.2.21", "ae:00:00:00:00:03"));
  const std::vector<std::string> after{"192.0.2.20 ae:00:00:00:00:02",
                                       "192.0.2.21 ae:00:00:00:00:03"};
  EXPECT_TRUE(eventually([&] { return traffic.send(dsts, 50ms) == after; }, 10s));
  EXPECT_TRUE(eventually([&] { return d.readiness().ready(); }, 10s));
  EXPECT_EQ(etcd.get(our_key), leases_of(d).lease_value()) << "our lease survived the stall";
  EXPECT_EQ(leases_of(d).status().own_lost, 0u);
}

std::set<std::string> route_set(const EtcdNode& n) {
  std::set<std::string> out;
  for (const RouteView& r : n.routes())
    out.insert(r.prefix.str() + " " + r.public_ip.str() + " " + r.vtep_mac.str());
  return out;
}

TEST(EtcdOutage, CompactionPastTheWatchRevisionReListsAndReconciles) {
  EtcdServer etcd;
  for (int i = 2; i <= 4; ++i) {
    etcd.put_with_lease(kSubnets + "10.244." + std::to_string(i) + ".0-24",
                        flanneld_vxlan_lease("192.0.2." + std::to_string(20 + i),
                                             "ae:00:00:00:00:0" + std::to_string(i)));
  }
  EtcdNode n({.index = 1, .endpoints = {etcd.endpoint()}});
  ASSERT_TRUE(n.start().ok());
  ASSERT_EQ(route_set(n).size(), 3u);
  const int64_t watched_from = n.source().status().next_revision;

  change_behind_its_back(etcd, [&] {
    etcd.put_with_lease(kSubnets + "10.244.2.0-24",
                        flanneld_vxlan_lease("192.0.2.22", "ae:00:00:00:00:22"));
    etcd.del(kSubnets + "10.244.3.0-24");
    etcd.put_with_lease(kSubnets + "10.244.5.0-24",
                        flanneld_vxlan_lease("192.0.2.25", "ae:00:00:00:00:05"));
    const int64_t rev = etcd.revision();
    ASSERT_GT(rev, watched_from);
    etcd.ctl({"compact", std::to_string(rev)});
  });
  etcd.restart();
  const std::set<std::string> want{"10.244.2.0/24 192.0.2.22 ae:00:00:00:00:22",
                                   "10.244.4.0/24 192.0.2.24 ae:00:00:00:00:04",
                                   "10.244.5.0/24 192.0.2.25 ae:00:00:00:00:05"};
  EXPECT_TRUE(eventually([&] { return route_set(n) == want; }, 10s));
  // The re-list programs the routes before it counts itself a sync.
  EXPECT_TRUE(eventually([&] { return n.source().status().syncs >= 2u; }, 10s));
  EXPECT_EQ(n.source().status().compactions, 1u);
  EXPECT_EQ(n.source().status().syncs, 2u) << "one re-list after the compaction";
  EXPECT_TRUE(n.readiness().ready());
  // And the watch goes on from the re-list.
  etcd.del(kSubnets + "10.244.4.0-24");
  EXPECT_TRUE(eventually([&] { return route_set(n).size() == 2; }, 10s));
}

}  // namespace
}  // namespace tartan
