// The worker loop moves real packets between real (ring-backed) DPDK ports,
// and every mbuf it touches goes back to the mempool.
#include <gtest/gtest.h>
#include <rte_lcore.h>
#include <rte_mempool.h>

#include <chrono>
#include <thread>

#include "engine/engine.h"
#include "tests/support/packets.h"
#include "tests/support/process.h"
#include "tests/support/ring_port.h"

namespace tartan {
namespace {

using testing::RingPort;

EngineConfig ring_engine_config(const RingPort& underlay, const RingPort& overlay) {
  EngineConfig c;
  c.ports = {{"underlay", underlay.name(), PortRole::kUnderlay, 0},
             {"overlay0", overlay.name(), PortRole::kOverlay, 0}};
  c.underlay.address = *Ipv4Prefix::parse("192.0.2.10/24", true);
  c.workers.lcores = {1};
  c.workers.mempool_size = 4095;
  c.workers.mempool_cache = 0;  // in_use counts must not hide mbufs in lcore caches
  c.workers.rx_descriptors = 256;
  c.workers.tx_descriptors = 256;
  return c;
}

std::vector<rte_mbuf*> frames(rte_mempool* pool, int n) {
  std::vector<rte_mbuf*> out;
  for (int i = 0; i < n; ++i) {
    testing::UdpFrameSpec spec;
    spec.src_port = static_cast<uint16_t>(1000 + i);
    out.push_back(testing::to_mbuf(pool, testing::udp_frame(spec)));
  }
  return out;
}

TEST(WorkerLoop, BurstFromOverlayLeavesOnUnderlayUnchangedAndMbufsReturn) {
  RingPort underlay("wl1_ul"), overlay("wl1_ol");
  auto engine = Engine::create(ring_engine_config(underlay, overlay));
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  ASSERT_TRUE((*engine)->start_ports().ok());
  rte_mempool* pool = (*engine)->mempool();
  const unsigned baseline = rte_mempool_in_use_count(pool);

  std::vector<rte_mbuf*> in = frames(pool, 32);
  std::vector<std::vector<uint8_t>> sent;
  for (rte_mbuf* m : in) sent.push_back(testing::from_mbuf(m));
  ASSERT_EQ(overlay.inject(in), 32u);
  EXPECT_EQ((*engine)->workers()[0]->poll_once(), 32u);

  std::vector<rte_mbuf*> out = underlay.drain();
  ASSERT_EQ(out.size(), 32u);
  for (size_t i = 0; i < out.size(); ++i)
    EXPECT_EQ(testing::from_mbuf(out[i]), sent[i]) << "packet " << i;
  EXPECT_TRUE(overlay.drain().empty());
  testing::free_all(out);
  EXPECT_EQ(rte_mempool_in_use_count(pool), baseline);

  const StatsSnapshot s = (*engine)->stats();
  EXPECT_EQ(s.ports[1].rx_packets, 32u);
  EXPECT_EQ(s.ports[0].tx_packets, 32u);
  EXPECT_EQ(s.ports[0].tx_bytes, 32u * sent[0].size());
}

TEST(WorkerLoop, UnderlayTrafficGoesToTheOverlay) {
  RingPort underlay("wl2_ul"), overlay("wl2_ol");
  auto engine = Engine::create(ring_engine_config(underlay, overlay));
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  ASSERT_TRUE((*engine)->start_ports().ok());
  ASSERT_EQ(underlay.inject(frames((*engine)->mempool(), 5)), 5u);
  EXPECT_EQ((*engine)->workers()[0]->poll_once(), 5u);
  std::vector<rte_mbuf*> out = overlay.drain();
  EXPECT_EQ(out.size(), 5u);
  testing::free_all(out);
}

TEST(WorkerLoop, FullTxRingDropsAreCountedAndFreed) {
  RingPort underlay("wl3_ul", 64), overlay("wl3_ol");
  auto engine = Engine::create(ring_engine_config(underlay, overlay));
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  ASSERT_TRUE((*engine)->start_ports().ok());
  rte_mempool* pool = (*engine)->mempool();
  const unsigned baseline = rte_mempool_in_use_count(pool);
  // The underlay's TX ring holds 63; three bursts of 32 overflow it.
  for (int b = 0; b < 3; ++b) {
    ASSERT_EQ(overlay.inject(frames(pool, 32)), 32u);
    (*engine)->workers()[0]->poll_once();
  }
  std::vector<rte_mbuf*> out = underlay.drain();
  EXPECT_EQ(out.size(), 63u);
  testing::free_all(out);
  const StatsSnapshot s = (*engine)->stats();
  EXPECT_EQ(s.drops[static_cast<size_t>(DropReason::kTxQueueFull)], 96u - 63u);
  EXPECT_EQ(s.ports[0].tx_packets, 63u);
  EXPECT_EQ(rte_mempool_in_use_count(pool), baseline);
}

TEST(WorkerLoop, WorkerOnItsOwnLcoreForwardsUntilStopped) {
  RingPort underlay("wl4_ul"), overlay("wl4_ol");
  auto engine = Engine::create(ring_engine_config(underlay, overlay));
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  ASSERT_TRUE((*engine)->start().ok());
  rte_mempool* pool = (*engine)->mempool();
  size_t received = 0;
  for (int round = 0; round < 20; ++round) {
    ASSERT_EQ(overlay.inject(frames(pool, 50)), 50u);
    ASSERT_TRUE(testing::eventually(
        [&] {
          std::vector<rte_mbuf*> out = underlay.drain();
          received += out.size();
          testing::free_all(out);
          return received == static_cast<size_t>(50 * (round + 1));
        },
        std::chrono::seconds(5)));
  }
  (*engine)->stop();
  EXPECT_EQ(received, 1000u);
  EXPECT_GT((*engine)->stats().workers[0].loops, 0u);
}

}  // namespace
}  // namespace tartan
