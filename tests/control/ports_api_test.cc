// tartan.v1.Ports served by a real tartand (in process): ports, offloads,
// where each flow rule class runs, and the rules as testpmd commands, on a
// ring port (no rte_flow) and on the tests' flow test device.
#include <gtest/gtest.h>

#include "tartan/v1/ports.grpc.pb.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/flow_test_pmd.h"

namespace tartan {
namespace {

using testing::DaemonFixture;

v1::ListPortsResponse list_ports(const DaemonFixture& fx, bool flows) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::ListPortsRequest req;
  req.set_flows(flows);
  v1::ListPortsResponse resp;
  const grpc::Status s = v1::Ports::NewStub(fx.channel())->ListPorts(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp;
}

const v1::Port& port(const v1::ListPortsResponse& r, const std::string& role) {
  for (const v1::Port& p : r.ports()) {
    if (p.role() == role) return p;
  }
  throw std::runtime_error("no " + role + " port");
}

// Node 2 of the fixture's cluster (192.0.2.20, 10.244.2.0/24), as a route.
void add_node2(DaemonFixture& fx) {
  TableDelta d;
  d.upsert_routes.push_back({*Ipv4Prefix::parse("10.244.2.0/24"), *Ipv4Addr::parse("192.0.2.20"),
                             *MacAddr::parse("0e:00:00:00:00:02"), BackendType::kVxlan, 1});
  ASSERT_TRUE(fx.daemon().engine().apply(d).ok());
}

TEST(PortsApi, ARingUnderlayRunsEveryClassInSoftwareAndSaysWhy) {
  DaemonFixture fx;
  const v1::ListPortsResponse r = list_ports(fx, false);
  ASSERT_EQ(r.ports_size(), 2);
  const v1::Port& ul = port(r, "underlay");
  EXPECT_EQ(ul.name(), "underlay");
  EXPECT_EQ(ul.driver(), "net_ring");
  EXPECT_EQ(ul.rx_queues(), 1u);
  EXPECT_EQ(ul.tx_queues(), 1u);
  ASSERT_EQ(ul.flow_classes_size(), 4);
  const char* names[] = {"tunnel_steering", "slow_path", "sender_filter", "hw_decap"};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(ul.flow_classes(i).name(), names[i]);
    EXPECT_EQ(ul.flow_classes(i).placement(), "software");
    EXPECT_EQ(ul.flow_classes(i).rules(), 0u);
    EXPECT_EQ(ul.flow_classes(i).family(), "ipv4") << "an IPv4-only underlay";
  }
  EXPECT_NE(ul.flow_classes(0).detail().find("Function not implemented"), std::string::npos);
  EXPECT_EQ(ul.flow_classes(3).detail(), "needs tunnel_steering in hardware");
  EXPECT_EQ(port(r, "overlay").flow_classes_size(), 0);
  EXPECT_EQ(ul.flow_rules_size(), 0) << "only with flows";
}

TEST(PortsApi, TheRulesForARealNicArePrintedEvenWhereNoneIsInstalled) {
  DaemonFixture fx;
  add_node2(fx);
  const v1::Port ul = port(list_ports(fx, true), "underlay");
  ASSERT_EQ(ul.flow_rules_size(), 6);
  for (const v1::FlowRule& r : ul.flow_rules()) EXPECT_FALSE(r.installed()) << r.testpmd();
  const std::string id = std::to_string(ul.port_id());
  EXPECT_EQ(ul.flow_rules(0).flow_class(), "tunnel_steering");
  EXPECT_EQ(ul.flow_rules(0).family(), "ipv4");
  EXPECT_EQ(ul.flow_rules(0).testpmd(),
            "flow create " + id +
                " priority 3 ingress pattern eth / ipv4 dst is 192.0.2.19 / udp dst is 8472 / "
                "vxlan vni is 1 / end actions rss queues 0 end level 2 types ipv4 ipv4-tcp "
                "ipv4-udp end / end");
  EXPECT_EQ(ul.flow_rules(3).flow_class(), "sender_filter");
  EXPECT_NE(ul.flow_rules(3).testpmd().find("ipv4 src is 192.0.2.20 dst is 192.0.2.19"),
            std::string::npos);
  EXPECT_EQ(ul.flow_rules(5).flow_class(), "hw_decap");
}

TEST(PortsApi, AFlowCapableUnderlayShowsItsClassesInHardwareWithTheirRules) {
  testing::FlowTestPort nic(testing::FlowTestCaps{.vxlan_decap = false});
  testing::DaemonOptions o;
  o.underlay_device = nic.name();
  DaemonFixture fx(o);
  add_node2(fx);
  const v1::Port ul = port(list_ports(fx, true), "underlay");
  EXPECT_EQ(ul.driver(), "net_flowtest");
  EXPECT_EQ(ul.offloads_size(), 0) << "one worker: one queue, no RSS";
  const auto& c = ul.flow_classes();
  EXPECT_EQ(c[0].placement(), "hardware");
  EXPECT_EQ(c[0].rules(), 1u);
  EXPECT_EQ(c[1].placement(), "hardware");
  EXPECT_EQ(c[1].rules(), 2u);
  EXPECT_EQ(c[2].placement(), "hardware");
  EXPECT_EQ(c[2].rules(), 2u);
  EXPECT_EQ(c[3].placement(), "software");
  EXPECT_EQ(c[3].detail(),
            "rte_flow_validate: Operation not supported: net_flowtest: no vxlan_decap");
  int installed = 0;
  for (const v1::FlowRule& r : ul.flow_rules()) installed += r.installed();
  EXPECT_EQ(installed, 5);
  EXPECT_EQ(nic.rules().size(), 5u);
}

TEST(PortsApi, ADualStackUnderlayShowsEachClassOncePerFamily) {
  testing::FlowTestPort nic;
  testing::DaemonOptions o;
  o.lease_source = "grpc";
  o.network =
      "{Network: 10.244.0.0/16, EnableIPv6: true, IPv6Network: 'fd00:10:244::/56', "
      "Backend: {Type: vxlan}}";
  o.underlay_yaml = ", ipv6_address: '2001:db8::19/64', ipv6_gateway: '2001:db8::1'";
  o.underlay_device = nic.name();
  DaemonFixture fx(o);
  const v1::Port ul = port(list_ports(fx, true), "underlay");
  ASSERT_EQ(ul.flow_classes_size(), 8);
  const char* names[] = {"tunnel_steering", "slow_path", "sender_filter", "hw_decap"};
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(ul.flow_classes(i).name(), names[i % 4]);
    EXPECT_EQ(ul.flow_classes(i).family(), i < 4 ? "ipv4" : "ipv6");
  }
  EXPECT_EQ(ul.flow_classes(4).placement(), "hardware");
  EXPECT_EQ(ul.flow_classes(7).placement(), "software");
  EXPECT_NE(ul.flow_classes(7).detail().find("flannel-v6's VXLAN is decapsulated by them"),
            std::string::npos);
  int ipv6_rules = 0;
  for (const v1::FlowRule& r : ul.flow_rules()) {
    if (r.family() != "ipv6") continue;
    ++ipv6_rules;
    EXPECT_NE(r.testpmd().find("/ ipv6 "), std::string::npos) << r.testpmd();
  }
  EXPECT_EQ(ipv6_rules, 4) << "steering, two slow path, the drop rule: no node known";
}

}  // namespace
}  // namespace tartan
