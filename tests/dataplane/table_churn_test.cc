// Thousands of route changes while a worker on its own lcore forwards a
// steady stream: untouched flows lose nothing and are never misdelivered,
// changed routes take effect, and nothing leaks.
#include <gtest/gtest.h>
#include <rte_malloc.h>

#include <atomic>
#include <map>
#include <thread>

#include "tests/support/engine_fixture.h"
#include "tests/support/process.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::EngineFixture;

constexpr int kFlowNodes = 4;  // nodes 2..5 carry the steady traffic
constexpr int kFlowsPerNode = 8;
constexpr int kChurnNodes = 20;  // nodes 6..25 are churned onto 10.244.100-199
constexpr int kRounds = 1500;    // bursts of 32, at least
constexpr int kChanges = 6000;

size_t heap_allocated() {
  rte_malloc_socket_stats st{};
  rte_malloc_get_socket_stats(static_cast<int>(rte_socket_id()), &st);
  return st.heap_allocsz_bytes;
}

uint32_t be32_at(const Bytes& b, size_t at) {
  return uint32_t(b[at]) << 24 | uint32_t(b[at + 1]) << 16 | uint32_t(b[at + 2]) << 8 | b[at + 3];
}

TEST(TableChurn, UntouchedFlowsLoseNothingWhileRoutesChangeThousandsOfTimes) {
  EngineFixture fx({.run_workers = true});
  for (int n = 2; n < 2 + kFlowNodes; ++n) fx.add_node(n);
  TableDelta neighbours;
  for (int n = 6; n < 6 + kChurnNodes; ++n) {
    neighbours.set_neighbours.push_back(
        {EngineFixture::node(n).public_ip, EngineFixture::node(n).underlay_mac});
  }
  ASSERT_TRUE(fx.engine().apply(neighbours).ok());
  const size_t heap_before = heap_allocated();

  std::atomic<bool> churn_failed{false};
  std::atomic<bool> abandon{false};
  std::atomic<int> changes{0};
  std::atomic<bool> churn_done{false};
  struct Joiner {
    std::thread& t;
    std::atomic<bool>& stop;
    ~Joiner() {
      stop = true;
      if (t.joinable()) t.join();
    }
  };
  std::thread churn([&] {
    for (int j = 0; j < kChanges && !churn_failed && !abandon; ++j) {
      const int slot = j % 100;
      const Ipv4Prefix prefix{
          Ipv4Addr{(10u << 24) | (244u << 16) | (static_cast<uint32_t>(100 + slot) << 8)}, 24};
      const auto n = EngineFixture::node(6 + (j / 100 + slot) % kChurnNodes);
      TableDelta d;
      if ((j / 100) % 3 == 2) {
        d.remove_routes.push_back(prefix);  // third pass over the slots: remove
      } else {
        d.upsert_routes.push_back(
            {prefix, n.public_ip, n.vtep_mac, BackendType::kVxlan, 1});  // add, then replace
      }
      if (!fx.engine().apply(d).ok()) churn_failed = true;
      ++changes;
    }
    churn_done = true;
  });
  Joiner joiner{churn, abandon};

  // Sequence numbers per flow ride in the first 4 payload bytes.
  std::map<int, uint32_t> next_seq;
  size_t delivered = 0, misdelivered = 0, out_of_order = 0;
  // Traffic runs at least kRounds bursts and until the churn is over.
  int rounds = 0;
  for (int round = 0; round < kRounds || !churn_done; ++round, ++rounds) {
    std::vector<rte_mbuf*> burst;
    for (int i = 0; i < 32; ++i) {
      const int flow = (round * 32 + i) % (kFlowNodes * kFlowsPerNode);
      const int node = 2 + flow / kFlowsPerNode;
      testing::UdpSpec s;
      s.src_mac = EngineFixture::kPodMac;
      s.dst_mac = EngineFixture::kOverlayMac;
      s.src_ip = fx.pod_ip();
      s.dst_ip = Ipv4Addr{EngineFixture::node(node).subnet.addr.value + 10};
      s.src_port = static_cast<uint16_t>(1000 + flow);
      const uint32_t seq = static_cast<uint32_t>(round * 32 + i);
      Bytes payload(18, 0);
      payload[0] = uint8_t(seq >> 24), payload[1] = uint8_t(seq >> 16),
      payload[2] = uint8_t(seq >> 8), payload[3] = uint8_t(seq);
      burst.push_back(testing::to_mbuf(fx.pool(), testing::udp_frame(s, payload)));
    }
    ASSERT_EQ(fx.overlay_port().inject(burst), 32u);
    size_t got = 0;
    ASSERT_TRUE(testing::eventually(
        [&] {
          for (const Bytes& f : fx.take_underlay()) {
            if (f[12] == 0x08 && f[13] == 0x06) continue;  // our gratuitous ARP at start
            ++got;
            const uint16_t flow =
                static_cast<uint16_t>(f[50 + 14 + 20] << 8 | f[50 + 14 + 21]) - 1000;
            const int node = 2 + flow / kFlowsPerNode;
            if (be32_at(f, 30) != EngineFixture::node(node).public_ip.value) ++misdelivered;
            const uint32_t seq = be32_at(f, 50 + 14 + 28);
            if (next_seq.count(flow) && seq < next_seq[flow]) ++out_of_order;
            next_seq[flow] = seq + 1;
            ++delivered;
          }
          return got == 32;
        },
        std::chrono::seconds(10), std::chrono::microseconds(100)))
        << "round " << round << ": " << got << " of 32 arrived";
  }
  churn.join();
  ASSERT_FALSE(churn_failed);
  EXPECT_EQ(changes.load(), kChanges);
  EXPECT_EQ(delivered, size_t(rounds) * 32);
  EXPECT_EQ(misdelivered, 0u);
  EXPECT_EQ(out_of_order, 0u);
  EXPECT_EQ(fx.total_drops(), 0u);

  // The last pass removed every churned route; one more change takes effect.
  const auto n7 = EngineFixture::node(7);
  const Ipv4Prefix p150 = *Ipv4Prefix::parse("10.244.150.0/24");
  ASSERT_TRUE(fx.engine()
                  .apply({{{p150, n7.public_ip, n7.vtep_mac, BackendType::kVxlan, 1}}, {}, {}, {}})
                  .ok());
  ASSERT_EQ(fx.overlay_port().inject(
                {testing::to_mbuf(fx.pool(), fx.pod_frame(*Ipv4Addr::parse("10.244.150.9")))}),
            1u);
  std::vector<Bytes> out;
  ASSERT_TRUE(testing::eventually(
      [&] {
        for (const Bytes& f : fx.take_underlay()) {
          if (!(f[12] == 0x08 && f[13] == 0x06)) out.push_back(f);
        }
        return !out.empty();
      },
      std::chrono::seconds(5)));
  EXPECT_EQ(be32_at(out[0], 30), n7.public_ip.value);

  // Everything replaced was freed after its grace period.
  ASSERT_TRUE(fx.engine().apply({{}, {p150}, {}, {}}).ok());
  EXPECT_TRUE(
      testing::eventually([&] { return heap_allocated() <= heap_before; }, std::chrono::seconds(5)))
      << heap_allocated() << " bytes allocated vs " << heap_before << " before the churn";
  fx.engine().stop();
  EXPECT_EQ(fx.mbufs_in_use(), 0);
}

}  // namespace
}  // namespace tartan
