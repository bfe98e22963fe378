// Buffer accounting (engine/observe/accounting.h): every fate a packet can meet is
// one term of the books, the books balance after each, and the check every
// EngineFixture runs at teardown catches a packet or an mbuf that went
// missing.
#include <gtest/gtest.h>
#include <rte_ethdev.h>

#include "tests/support/engine_fixture.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::EngineFixture;

const MacAddr kBroadcast = *MacAddr::parse("ff:ff:ff:ff:ff:ff");
const MacAddr kStranger = *MacAddr::parse("02:00:00:00:0c:01");
const Ipv4Addr kStrangerIp = *Ipv4Addr::parse("192.0.2.50");

Ipv4Addr in_subnet_of(int node, uint32_t host) {
  return Ipv4Addr{EngineFixture::node(node).subnet.addr.value + host};
}

TEST(Accounting, EveryFateIsOneTermAndTheBooksBalanceAfterEach) {
  EngineFixture fx({.exception_port = true, .arp_retry_ms = 5, .arp_max_retries = 1});
  fx.add_node(2);
  const auto self = fx.self();
  const auto books = [&] {
    const std::string problems = fx.check_books();
    EXPECT_EQ(problems, "");
    return fx.engine().accounting();
  };

  // Forwarded: overlay -> VXLAN to node 2.
  ASSERT_EQ(fx.from_overlay({fx.pod_frame(in_subnet_of(2, 5))}).size(), 1u);
  Accounting a = books();
  EXPECT_EQ(a.received, 1u);
  EXPECT_EQ(a.transmitted, 1u);

  // Dropped with a reason.
  fx.from_underlay({Bytes(10, 0x11)});
  a = books();
  EXPECT_EQ(a.drops[static_cast<size_t>(DropReason::kRunt)], 1u);
  EXPECT_EQ(a.dropped, 1u);

  // Answered: an ARP request for our public IP.
  fx.from_underlay(
      {testing::arp_frame(1, kBroadcast, kStranger, kStrangerIp, MacAddr{}, self.public_ip)});
  a = books();
  EXPECT_EQ(a.answered, 1u);

  // To the exception port: IPv4 for another address of the host.
  testing::UdpSpec other;
  other.src_mac = kStranger;
  other.dst_mac = self.underlay_mac;
  other.src_ip = kStrangerIp;
  other.dst_ip = *Ipv4Addr::parse("192.0.2.99");
  fx.from_underlay({testing::udp_frame(other)});
  EXPECT_EQ(fx.take_exception().size(), 1u);
  a = books();
  EXPECT_EQ(a.to_exception, 1u);

  // Reassembling: the first of two outer fragments of a node's tunnel
  // packet waits for the other ...
  const auto parts = testing::ipv4_fragments(fx.vxlan_from(2, fx.pod_ip(), 1, 600), 400);
  ASSERT_EQ(parts.size(), 2u);
  const Accounting before = books();
  EXPECT_TRUE(fx.from_underlay({parts[0]}).empty());
  a = books();
  EXPECT_EQ(a.reassembling, 1u);
  // ... which completes it: both consumed, one packet created and delivered.
  EXPECT_EQ(fx.from_underlay({parts[1]}).size(), 1u);
  a = books();
  EXPECT_EQ(a.reassembling, 0u);
  EXPECT_EQ(a.consumed - before.consumed, 2u);
  EXPECT_EQ(a.created - before.created, 1u);

  // Held for ARP: node 3 has no neighbour entry yet; its ARP request is
  // created by the control side.
  fx.add_node(3, /*static_neighbour=*/false);
  fx.from_overlay({fx.pod_frame(in_subnet_of(3, 5), 1), fx.pod_frame(in_subnet_of(3, 5), 2)});
  a = books();
  EXPECT_EQ(a.held, 2u);
  EXPECT_GE(a.created, 1u);

  // Consumed: the reply is learned from (and releases what was held).
  const auto n3 = EngineFixture::node(3);
  const uint64_t consumed = a.consumed;
  fx.from_underlay({testing::arp_frame(2, self.underlay_mac, n3.underlay_mac, n3.public_ip,
                                       self.underlay_mac, self.public_ip)});
  a = books();
  EXPECT_EQ(a.consumed - consumed, 1u);
  EXPECT_EQ(a.held, 0u);
  EXPECT_EQ(fx.take_underlay().size(), 2u) << "the two held packets";

  // Dropped after waiting for an ARP reply that never comes (node 4).
  fx.add_node(4, /*static_neighbour=*/false);
  fx.from_overlay({fx.pod_frame(in_subnet_of(4, 5))});
  ASSERT_TRUE(testing::eventually(
      [&] {
        fx.poll();
        return fx.drops(DropReason::kArpUnresolved) == 1;
      },
      std::chrono::seconds(5)));
  fx.take_underlay();
  a = books();
  EXPECT_EQ(a.held, 0u);
  EXPECT_EQ(a.drops[static_cast<size_t>(DropReason::kArpUnresolved)], 1u);
}

TEST(Accounting, PacketsLeftInTheEngineAtStopAreStillAccountedFor) {
  EngineFixture fx({.run_workers = true});
  fx.add_node(3, /*static_neighbour=*/false);
  std::vector<rte_mbuf*> pkts;
  for (uint16_t i = 0; i < 5; ++i)
    pkts.push_back(testing::to_mbuf(fx.pool(), fx.pod_frame(in_subnet_of(3, 5), i)));
  ASSERT_EQ(fx.overlay_port().inject(pkts), pkts.size());
  ASSERT_TRUE(testing::eventually([&] { return fx.engine().accounting().held == 5; },
                                  std::chrono::seconds(5)));
  fx.engine().stop();
  const Accounting a = fx.engine().accounting();
  EXPECT_EQ(a.imbalance(), 0) << a.describe();
  EXPECT_EQ(a.held, 5u);
  EXPECT_EQ(fx.check_books(), "");
}

TEST(Accounting, TheTeardownCheckCatchesALeakedMbufAndALostPacket) {
  EngineFixture fx({.check_books = false});
  fx.add_node(2);
  ASSERT_EQ(fx.check_books(), "");

  // A test (or the engine) keeping an mbuf nobody accounts for.
  rte_mbuf* leaked = rte_pktmbuf_alloc(fx.pool());
  ASSERT_NE(leaked, nullptr);
  EXPECT_NE(fx.check_books().find("mbufs leaked or lost: 1 in use"), std::string::npos)
      << fx.check_books();
  rte_pktmbuf_free(leaked);
  EXPECT_EQ(fx.check_books(), "");

  // A packet the workers counted in but nothing counted out.
  Accounting a = fx.engine().accounting();
  a.received += 1;
  EXPECT_EQ(a.imbalance(), 1);
  EXPECT_NE(a.describe().find("(off by 1)"), std::string::npos) << a.describe();
}

TEST(Accounting, TheTeardownCheckCatchesAPortCountTheWorkersDoNotHave) {
  EngineFixture fx({.check_books = false});
  ASSERT_TRUE(fx.from_overlay({fx.pod_frame(fx.pod_ip(20))}).empty()) << "hairpin";
  fx.take_overlay();
  ASSERT_EQ(fx.check_books(), "");

  // A frame received from the overlay port behind the workers' back.
  ASSERT_EQ(fx.overlay_port().inject({testing::to_mbuf(fx.pool(), fx.pod_frame(fx.pod_ip(20)))}),
            1u);
  rte_mbuf* taken = nullptr;
  ASSERT_EQ(rte_eth_rx_burst(fx.overlay_port().port_id(), 0, &taken, 1), 1);
  rte_pktmbuf_free(taken);
  EXPECT_NE(fx.check_books().find("overlay0: the device received 2 and sent 1, the workers "
                                  "counted rx 1 and tx 1"),
            std::string::npos)
      << fx.check_books();
}

}  // namespace
}  // namespace tartan
