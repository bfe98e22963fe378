// Several control planes on one etcd: each takes its own subnet and routes
// to every other's, with the VtepMAC and public IP the other published.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "control/sources/etcd/etcd_lease_json.h"
#include "tartan/v1/health.grpc.pb.h"
#include "tartan/v1/lease.grpc.pb.h"
#include "tartan/v1/route.grpc.pb.h"
#include "tests/support/etcd_node.h"
#include "tests/support/etcd_server.h"
#include "tests/support/files.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::EtcdNode;
using testing::EtcdServer;
using testing::eventually;

// (podCIDR, public IP, VtepMAC): one node's lease as others must route it.
using Peer = std::tuple<std::string, std::string, std::string>;

std::set<Peer> routes_of(const EtcdNode& node) {
  std::set<Peer> out;
  for (const RouteView& r : node.routes())
    out.insert({r.prefix.str(), r.public_ip.str(), r.vtep_mac.str()});
  return out;
}

TEST(EtcdCluster, TwoNodesTakeDistinctSubnetsAndRouteToEachOther) {
  EtcdServer etcd;
  EtcdNode a({.index = 1, .endpoints = {etcd.endpoint()}});
  EtcdNode b({.index = 2, .endpoints = {etcd.endpoint()}});
  ASSERT_TRUE(a.start().ok());
  const auto b_started = std::chrono::steady_clock::now();
  ASSERT_TRUE(b.start().ok());  // finds a's lease in its first list
  // a learns of b through its watch, within a second of b's create.
  const Peer a_lease{a.subnet()->str(), a.public_ip().str(), a.vtep_mac().str()};
  const Peer b_lease{b.subnet()->str(), b.public_ip().str(), b.vtep_mac().str()};
  ASSERT_TRUE(eventually([&] { return routes_of(a) == std::set<Peer>{b_lease}; }, 10s))
      << "a's routes: " << routes_of(a).size();
  EXPECT_LT(std::chrono::steady_clock::now() - b_started, 2s);
  EXPECT_EQ(routes_of(b), std::set<Peer>{a_lease});
  EXPECT_NE(*a.subnet(), *b.subnet());
  for (EtcdNode* n : {&a, &b}) {
    EXPECT_EQ(n->subnet()->len, 24);
    EXPECT_TRUE(Ipv4Prefix::parse("10.244.0.0/16")->contains(*n->subnet()));
    EXPECT_NE(n->subnet()->addr, Ipv4Addr{(10u << 24) | (244u << 16)}) << "below SubnetMin";
    EXPECT_TRUE(n->readiness().ready());
    const Ipv4Prefix first_host{Ipv4Addr{n->subnet()->addr.value + 1}, 24};
    EXPECT_EQ(testing::read_file(n->dir() + "/subnet.env"),
              "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=" + first_host.str() +
                  "\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n");
  }
  EXPECT_EQ(etcd.keys("/coreos.com/network/subnets/").size(), 2u);

  // b goes away for good (its key deleted, as its TTL running out would):
  // a's route to it goes within a second.
  b.stop();
  etcd.del("/coreos.com/network/subnets/" + subnet_key_name({b.subnet()}));
  EXPECT_TRUE(eventually([&] { return routes_of(a).empty(); }, 10s));
}

// The twenty: real tartand processes (the whole daemon: config file,
// engine with its worker, control plane and API), each with net_null ports.
// In one process they would not fit: DPDK allows 32 ports per process, and
// only one engine can own the test's worker lcore.
struct TartandNode {
  int index;
  std::string dir;
  std::unique_ptr<testing::Process> process;

  std::shared_ptr<grpc::Channel> api() const {
    return grpc::CreateChannel("unix://" + dir + "/tartan.sock",
                               grpc::InsecureChannelCredentials());
  }
};

std::string tartand_config(int i, const std::string& dir, const std::string& endpoint) {
  return "eal: {memory_mb: 192, hugepages: off}\n"
         "ports:\n"
         "  underlay: {device: 'net_null0,no-rx=1', address: " +
         EtcdNode::public_ip(i).str() +
         "/24, gateway: 192.0.2.1}\n"
         "  overlay: [{device: 'net_null1,no-rx=1'}]\n"
         "workers: {mempool_size: 1023, rx_descriptors: 64, tx_descriptors: 64}\n"
         "dataplane: {vtep_mac: '" +
         EtcdNode::vtep_mac(i).str() +
         "', max_routes: 64, lpm_tbl8_groups: 16}\n"
         "network: {Network: 10.244.0.0/16, Backend: {Type: vxlan}}\n"
         "node: {name: tartand-" +
         std::to_string(i) + ", state_dir: " + dir +
         "/state}\n"
         "control: {listen: 'unix://" +
         dir +
         "/tartan.sock'}\n"
         "lease: {source: etcd, etcd: {endpoints: [" +
         endpoint +
         "], retry_max_ms: 1000}}\n"
         "subnet_file: " +
         dir + "/subnet.env\n";
}

std::unique_ptr<grpc::ClientContext> within_5s() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + 5s);
  return ctx;
}

std::optional<Peer> local_lease(const TartandNode& n) {
  v1::LocalLease lease;
  if (!v1::Leases::NewStub(n.api())->GetLocalLease(within_5s().get(), {}, &lease).ok())
    return std::nullopt;
  return Peer{lease.pod_cidr(), lease.public_ip(), lease.vtep_mac()};
}

std::set<Peer> remote_routes(const TartandNode& n) {
  v1::ListRoutesResponse resp;
  std::set<Peer> out;
  if (!v1::Routes::NewStub(n.api())->ListRoutes(within_5s().get(), {}, &resp).ok()) return out;
  for (const v1::Route& r : resp.routes()) {
    if (r.kind() == "vxlan") out.insert({r.prefix(), r.public_ip(), r.vtep_mac()});
  }
  return out;
}

TEST(EtcdCluster, TwentyTartandsShareOneEtcdAndEachRoutesToEveryOther) {
  constexpr int kNodes = 20;
  EtcdServer etcd;
  const std::string tartand = testing::required_env("TARTAND");
  const testing::ScopedTempDir scoped("etcd-twenty");
  const std::string& root = scoped.path();
  std::vector<TartandNode> nodes;
  // All at once: they race for subnets as a cluster's nodes booting together do.
  for (int i = 1; i <= kNodes; ++i) {
    TartandNode n{i, root + "/node-" + std::to_string(i), nullptr};
    testing::run_command({"mkdir", "-p", n.dir});
    testing::write_file(n.dir + "/tartan.yaml", tartand_config(i, n.dir, etcd.endpoint()));
    n.process = std::make_unique<testing::Process>(std::vector<std::string>{
        tartand, "--config", n.dir + "/tartan.yaml", "--stats-interval", "0"});
    nodes.push_back(std::move(n));
  }
  std::map<int, Peer> leases;
  ASSERT_TRUE(eventually(
      [&] {
        for (const TartandNode& n : nodes) {
          if (leases.count(n.index)) continue;
          if (auto l = local_lease(n)) leases[n.index] = *l;
        }
        return leases.size() == kNodes;
      },
      120s, 200ms))
      << "leases: " << leases.size() << "\n"
      << nodes[0].process->output();
  std::set<std::string> subnets;
  for (const auto& [i, l] : leases) {
    subnets.insert(std::get<0>(l));
    EXPECT_EQ(std::get<1>(l), EtcdNode::public_ip(i).str());
    EXPECT_EQ(std::get<2>(l), EtcdNode::vtep_mac(i).str());
  }
  EXPECT_EQ(subnets.size(), size_t{kNodes}) << "subnets must be distinct";
  EXPECT_EQ(etcd.keys("/coreos.com/network/subnets/").size(), size_t{kNodes});

  for (const TartandNode& n : nodes) {
    std::set<Peer> want;
    for (const auto& [i, l] : leases) {
      if (i != n.index) want.insert(l);
    }
    std::set<Peer> got;
    EXPECT_TRUE(eventually([&] { return (got = remote_routes(n)) == want; }, 10s, 100ms))
        << "tartand-" << n.index << " routes " << got.size() << " of " << want.size();
  }
  for (TartandNode& n : nodes) n.process->signal(SIGTERM);
  for (TartandNode& n : nodes) {
    const auto code = n.process->wait(30s);
    EXPECT_EQ(code, 0) << n.process->output();
  }
}

}  // namespace
}  // namespace tartan
