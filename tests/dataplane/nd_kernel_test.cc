// Neighbour discovery against the Linux kernel's: a veth pair in a
// namespace of the test's own, our side on DPDK's af_packet, the kernel's
// side with an IPv6 address. The kernel resolves our address from our
// advertisements, we resolve its address from its (and what waited goes
// out and is answered), and the kernel's duplicate address detection sees
// our address defended. Frames are handed to NeighbourTable::on_nd as the
// workers hand them to the control side.
#include <gtest/gtest.h>
#include <rte_bus_vdev.h>
#include <rte_ethdev.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "engine/neighbours/neighbours.h"
#include "tests/support/nd_packets.h"
#include "tests/support/netns.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::Bytes;

const Ipv6Addr kOurs = *Ipv6Addr::parse("2001:db8:0:2::13");
const Ipv6Addr kKernel = *Ipv6Addr::parse("2001:db8:0:2::bc:de02");

std::string ip(const std::string& args) {
  const auto r = testing::run_command({"sh", "-c", "ip " + args + " 2>&1"});
  if (r.exit_code != 0) throw std::runtime_error("ip " + args + ": " + r.output);
  return r.output;
}

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// "ul" (ours, on af_packet, IPv6 off in the kernel) and "peer" (the
// kernel's, 2001:db8:0:2::bc:de02/64), in namespace tartan-v6-nd-<pid>.
class KernelSegment {
 public:
  KernelSegment() {
    ip("link add ul type veth peer name peer");
    testing::run_command({"sysctl", "-qw", "net.ipv6.conf.ul.disable_ipv6=1"});
    ip("link set ul up");
    ip("link set peer up");
    ip("-6 addr add " + kKernel.str() + "/64 dev peer nodad");
    static int n = 0;
    vdev_ = "net_af_packet_v6nd" + std::to_string(n++);
    if (rte_vdev_init(vdev_.c_str(), "iface=ul") != 0)
      throw std::runtime_error("cannot create " + vdev_);
    if (rte_eth_dev_get_port_by_name(vdev_.c_str(), &port_) != 0)
      throw std::runtime_error("no port " + vdev_);
    pool_ = rte_pktmbuf_pool_create((vdev_ + "_pool").c_str(), 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    SOCKET_ID_ANY);
    rte_eth_conf conf{};
    if (pool_ == nullptr || rte_eth_dev_configure(port_, 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(port_, 0, 256, SOCKET_ID_ANY, nullptr, pool_) != 0 ||
        rte_eth_tx_queue_setup(port_, 0, 256, SOCKET_ID_ANY, nullptr) != 0 ||
        rte_eth_dev_start(port_) != 0) {
      throw std::runtime_error("cannot start " + vdev_);
    }
    rte_ether_addr a;
    rte_eth_macaddr_get(port_, &a);
    std::copy(a.addr_bytes, a.addr_bytes + 6, mac_.bytes.begin());
    const std::string link = ip("-o link show peer");
    const auto at = link.find("link/ether ");
    if (at == std::string::npos) throw std::runtime_error("no MAC in: " + link);
    kernel_mac_ = *MacAddr::parse(link.substr(at + 11, 17));
  }
  ~KernelSegment() {
    table_.reset();
    rte_eth_dev_stop(port_);
    rte_eth_dev_close(port_);
    rte_vdev_uninit(vdev_.c_str());
    EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u) << "an mbuf leaked";
    rte_mempool_free(pool_);
  }

  NeighbourTable& table() {
    if (!table_) {
      NeighbourParams p;
      p.our_ip = *Ipv4Addr::parse("192.0.2.19");
      p.our_ip6 = kOurs;
      p.our_mac = mac_;
      p.retry_ms = 200;
      p.max_retries = 10;
      table_ = std::make_unique<NeighbourTable>(
          p, adjacency_, pool_,
          [this](unsigned, rte_mbuf* m) { return rte_eth_tx_burst(port_, 0, &m, 1) == 1; });
    }
    return *table_;
  }

  // Receives what the kernel sent: NS and NA to the table (as a worker
  // hands them over); ICMPv6 echo replies counted; the rest freed.
  void pump() {
    table().tick(now_ms());
    rte_mbuf* pkts[32];
    const uint16_t n = rte_eth_rx_burst(port_, 0, pkts, 32);
    for (uint16_t i = 0; i < n; ++i) {
      const Bytes f = testing::from_mbuf(pkts[i]);
      const bool icmp6 = f.size() >= 55 && f[12] == 0x86 && f[13] == 0xdd && f[20] == 58;
      if (icmp6 && (f[54] == 135 || f[54] == 136)) {
        table().on_nd(pkts[i], 0, now_ms());
        continue;
      }
      if (icmp6 && f[54] == 129) ++echo_replies_;
      rte_pktmbuf_free(pkts[i]);
    }
  }

  // An ICMPv6 echo request from us to the kernel, its destination MAC
  // still blank (as a packet waiting for its neighbour).
  rte_mbuf* echo_request() {
    testing::Ipv6Spec s;
    s.src_mac = mac_;
    s.dst_mac = MacAddr{};
    s.src_ip = kOurs;
    s.dst_ip = kKernel;
    s.next_header = 58;
    Bytes f =
        testing::ipv6_frame(s, {128, 0, 0, 0, 0x12, 0x34, 0, 1, 't', 'a', 'r', 't', 'a', 'n'});
    testing::seal_icmp6(f);
    return testing::to_mbuf(pool_, f);
  }

  const MacAddr& mac() const { return mac_; }
  const MacAddr& kernel_mac() const { return kernel_mac_; }
  int echo_replies() const { return echo_replies_; }
  // ND we found invalid: none of the kernel's should be. (Solicitations
  // for its own addresses, such as the DAD of its link-local one when
  // "peer" comes up, are not for us and counted as such.)
  uint64_t invalid_nd() const {
    uint64_t n = 0;
    const auto& drops = table_->counters().nd_drops;
    for (size_t r = 0; r < drops.size(); ++r) {
      if (static_cast<DropReason>(r) != DropReason::kNdNotForUs) n += drops[r];
    }
    return n;
  }

 private:
  testing::Netns ns_{"v6-nd"};
  testing::InNetns in_{ns_};  // `ip`, sysctl, ping and af_packet's socket run in ns_
  std::string vdev_;
  uint16_t port_ = 0;
  rte_mempool* pool_ = nullptr;
  MacAddr mac_, kernel_mac_;
  AdjacencyTable adjacency_{64};
  std::unique_ptr<NeighbourTable> table_;
  int echo_replies_ = 0;
};

TEST(NdWithTheKernel, KernelResolvesOurAddressFromOurAdvertisement) {
  KernelSegment seg;
  // ping makes the kernel solicit our address; it exits on its own.
  testing::run_command(
      {"sh", "-c", "ping -6 -c 4 -i 0.5 -W 1 " + kOurs.str() + " >/dev/null 2>&1 &"});
  std::string neigh;
  EXPECT_TRUE(testing::eventually(
      [&] {
        seg.pump();
        neigh = ip("-6 neigh show " + kOurs.str() + " dev peer");
        return neigh.find("lladdr " + seg.mac().str()) != std::string::npos;
      },
      10s))
      << "the kernel's entry: " << neigh;
  EXPECT_GE(seg.table().counters().nd_answered, 1u);
  EXPECT_EQ(seg.invalid_nd(), 0u) << "the kernel's NS were all valid";
}

TEST(NdWithTheKernel, WeResolveTheKernelAndWhatWaitedIsAnswered) {
  KernelSegment seg;
  NeighbourTable& t = seg.table();
  const uint32_t id = t.acquire(kKernel, now_ms()).value();
  t.hold(id, seg.echo_request(), 0);
  EXPECT_TRUE(testing::eventually(
      [&] {
        seg.pump();
        return t.mac_of(id).has_value() && seg.echo_replies() == 1;
      },
      10s));
  EXPECT_EQ(t.mac_of(id), seg.kernel_mac());
  EXPECT_EQ(t.counters().held_released, 1u);
  EXPECT_GE(t.counters().nd.requests_sent, 1u);
  EXPECT_EQ(t.counters().nd.replies_learned, 1u);
  EXPECT_EQ(seg.invalid_nd(), 0u);
}

TEST(NdWithTheKernel, KernelsDuplicateAddressDetectionSeesOurAddressDefended) {
  KernelSegment seg;
  seg.table();
  ip("-6 addr add " + kOurs.str() + "/64 dev peer");  // with DAD this time
  std::string addrs;
  EXPECT_TRUE(testing::eventually(
      [&] {
        seg.pump();
        addrs = ip("-6 addr show dev peer");
        return addrs.find("dadfailed") != std::string::npos;
      },
      10s))
      << addrs;
  EXPECT_GE(seg.table().counters().nd_answered, 1u);
}

}  // namespace
}  // namespace tartan
