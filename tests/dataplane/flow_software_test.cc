// Dedicated-NIC mode on NICs without rte_flow: every class runs in the
// workers. On net_ring with a queue per worker (the test picks the queue)
// and on af_packet with two queues, which the kernel fans out by flow as a
// NIC's RSS would: traffic spread, the slow path handed to worker 0, and
// spoofed senders dropped and counted.
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <rte_bus_vdev.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "tests/dataplane/flow_frames.h"
#include "tests/support/engine_fixture.h"
#include "tests/support/netns.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::Bytes;
using testing::EngineFixture;

FlowClassView underlay_class(Engine& engine, FlowClass c) {
  for (const PortView& p : engine.port_views()) {
    if (p.role == "underlay") return p.flow_classes.at(static_cast<size_t>(c));
  }
  throw std::runtime_error("no underlay");
}

const WorkerCounters& worker(EngineFixture& fx, size_t w) {
  return fx.engine().workers()[w]->counters();
}

std::vector<rte_mbuf*> mbufs(EngineFixture& fx, const std::vector<Bytes>& frames) {
  std::vector<rte_mbuf*> out;
  for (const Bytes& f : frames) out.push_back(testing::to_mbuf(fx.pool(), f));
  return out;
}

// `n` VXLAN flows from node `from` on each of the ring underlay's two
// queues, then a pass of every worker.
void flows_on_each_queue(EngineFixture& fx, int from, uint16_t n) {
  for (unsigned q = 0; q < 2; ++q) {
    std::vector<Bytes> frames;
    for (uint16_t f = 0; f < n; ++f) frames.push_back(fx.vxlan_flow_from(from, fx.pod_ip(20), f));
    ASSERT_EQ(fx.underlay_port().inject(mbufs(fx, frames), q), n);
  }
  fx.poll();
}

testing::FixtureOptions two_workers(testing::FixtureOptions o = {}) {
  o.workers = 2;
  return o;
}

TEST(FlowSoftware, EveryClassRunsInTheWorkersOnARingPort) {
  EngineFixture fx(two_workers());
  for (FlowClass c : {FlowClass::kTunnelSteering, FlowClass::kSlowPath, FlowClass::kSenderFilter,
                      FlowClass::kHwDecap}) {
    const FlowClassView v = underlay_class(fx.engine(), c);
    EXPECT_FALSE(v.hardware) << flow_class_name(c);
    EXPECT_EQ(v.rules, 0u);
  }
  EXPECT_EQ(underlay_class(fx.engine(), FlowClass::kTunnelSteering).detail,
            "rte_flow_validate: Function not implemented");
  // Still, the rules a real NIC would get are there to print.
  fx.add_node(2);
  const std::vector<FlowRuleView> rules = fx.engine().flow_rules();
  ASSERT_EQ(rules.size(), 6u);  // steering, 2 slow path, admit + drop, decap
  for (const FlowRuleView& r : rules) EXPECT_FALSE(r.installed) << r.testpmd;
}

TEST(FlowSoftware, EachWorkerDecapsulatesTheQueueItPolls) {
  EngineFixture fx(two_workers());
  fx.add_node(2);
  flows_on_each_queue(fx, 2, 10);
  EXPECT_EQ(fx.take_overlay().size(), 20u);
  const uint16_t ul = fx.underlay_port().port_id();
  EXPECT_EQ(worker(fx, 0).ports[ul].rx_packets.get(), 10u);
  EXPECT_EQ(worker(fx, 1).ports[ul].rx_packets.get(), 10u);
  EXPECT_EQ(worker(fx, 1).events.to_slow_path.get(), 0u) << "tunnel traffic stays where it lands";
}

TEST(FlowSoftware, SlowPathFramesAreHandedToWorkerZero) {
  EngineFixture fx(two_workers({.exception_port = true}));
  fx.add_node(2);
  const Bytes ssh = testing::host_udp_from(2, fx, 5000, 22);
  // Both land on worker 1's queue.
  ASSERT_EQ(fx.underlay_port().inject(mbufs(fx, {testing::arp_request_from(2, fx), ssh}), 1), 2u);
  fx.poll();
  EXPECT_EQ(worker(fx, 1).events.to_slow_path.get(), 2u);
  EXPECT_EQ(worker(fx, 1).events.arp_replies.get(), 0u);
  EXPECT_EQ(worker(fx, 1).events.to_exception.get(), 0u);
  EXPECT_EQ(worker(fx, 0).events.arp_replies.get(), 1u);
  EXPECT_EQ(worker(fx, 0).events.to_exception.get(), 1u);
  EXPECT_EQ(fx.take_underlay().size(), 1u) << "the ARP reply";
  EXPECT_EQ(fx.take_exception().size(), 1u);
  // Without an exception port there is nothing to hand over: dropped where it lands.
  EngineFixture bare(two_workers());
  ASSERT_EQ(bare.underlay_port().inject(mbufs(bare, {ssh}), 1), 1u);
  bare.poll();
  EXPECT_EQ(worker(bare, 1).events.to_slow_path.get(), 0u);
  EXPECT_EQ(bare.drops(DropReason::kWrongDstPort), 1u);
}

TEST(FlowSoftware, SpoofedSendersAreDroppedAndCountedOnEveryQueue) {
  EngineFixture fx(two_workers());
  fx.add_node(2);
  flows_on_each_queue(fx, 9, 5);
  EXPECT_TRUE(fx.take_overlay().empty());
  EXPECT_EQ(worker(fx, 0).drops[static_cast<size_t>(DropReason::kUnknownSender)].get(), 5u);
  EXPECT_EQ(worker(fx, 1).drops[static_cast<size_t>(DropReason::kUnknownSender)].get(), 5u);
  EXPECT_EQ(fx.drops(DropReason::kUnknownSender), 10u);
}

// A veth pair in its own namespace, which the test thread is in while the
// segment exists (af_packet configures its interface by name): tartan's
// underlay on "ul" through af_packet with two queues, and a raw socket on
// "peer" standing for the rest of the segment.
class AfPacketSegment {
 public:
  AfPacketSegment() {
    static int n = 0;
    vdev_ = "net_af_packet" + std::to_string(90 + n++);
    const auto ip = [](const std::string& args) {
      return testing::run_command({"sh", "-c", "ip " + args}).exit_code;
    };
    if (ip("link add ul type veth peer name peer") != 0 || ip("link set ul up") != 0 ||
        ip("link set peer up") != 0) {
      throw std::runtime_error("cannot make the veth pair");
    }
    if (rte_vdev_init(vdev_.c_str(), "iface=ul,qpairs=2") != 0)
      throw std::runtime_error("cannot create " + vdev_);
    raw_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_ifindex = static_cast<int>(if_nametoindex("peer"));
    if (raw_ < 0 || bind(raw_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("cannot open a raw socket on the peer");
  }
  ~AfPacketSegment() {
    close(raw_);
    rte_vdev_uninit(vdev_.c_str());
  }

  const std::string& vdev() const { return vdev_; }
  void send(const Bytes& frame) const {
    if (::send(raw_, frame.data(), frame.size(), 0) != static_cast<ssize_t>(frame.size()))
      throw std::runtime_error("send on the peer failed");
  }

 private:
  testing::Netns ns_{"flowsw"};
  testing::InNetns in_{ns_};  // commands run by this thread (`ip` included) run in ns_
  std::string vdev_;
  int raw_ = -1;
};

TEST(FlowSoftware, AfPacketQueuesSpreadFlowsAndTheWorkersDoTheRest) {
  AfPacketSegment segment;
  EngineFixture fx(two_workers({.underlay_device = segment.vdev()}));
  fx.add_node(2);
  for (uint16_t f = 0; f < 64; ++f) segment.send(fx.vxlan_flow_from(2, fx.pod_ip(20), f));
  for (uint16_t f = 0; f < 6; ++f) segment.send(fx.vxlan_flow_from(9, fx.pod_ip(20), f));
  segment.send(testing::arp_request_from(2, fx));
  size_t delivered = 0;
  uint64_t arp_replies = 0;
  EXPECT_TRUE(testing::eventually(
      [&] {
        fx.poll();
        delivered += fx.take_overlay().size();
        arp_replies = worker(fx, 0).events.arp_replies.get();
        return delivered == 64 && fx.drops(DropReason::kUnknownSender) == 6 && arp_replies == 1;
      },
      10s));
  EXPECT_EQ(delivered, 64u);
  EXPECT_EQ(fx.drops(DropReason::kUnknownSender), 6u);
  EXPECT_EQ(arp_replies, 1u) << "answered by the slow-path worker, wherever it landed";
  EXPECT_EQ(worker(fx, 1).events.arp_replies.get(), 0u);
  // The kernel's fanout hashed the flows (their outer source ports differ)
  // over both queues.
  const uint16_t ul = fx.engine().underlay().id();
  EXPECT_GT(worker(fx, 0).ports[ul].rx_packets.get(), 8u);
  EXPECT_GT(worker(fx, 1).ports[ul].rx_packets.get(), 8u);
}

}  // namespace
}  // namespace tartan
