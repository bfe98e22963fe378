// The per-node coalescing queue between a source and the mirror: a burst
// converges to the last state of each node, a re-list reconciles, and the
// producer never waits for the consumer.
#include "control/cluster/node_update_queue.h"

#include <gtest/gtest.h>

#include <thread>

#include "control/cluster/node_mirror.h"
#include "tests/support/engine_fixture.h"

namespace tartan {
namespace {

using namespace std::chrono_literals;
using testing::EngineFixture;

MirrorSettings settings() {
  MirrorSettings s;
  s.keys = *annotation_keys("flannel.alpha.coreos.com");
  s.own_node_name = "node-1";
  s.network = *Ipv4Prefix::parse("10.244.0.0/16");
  return s;
}

// Node i with podCIDR 10.244.i.0/24 whose public IP says which update it is.
NodeSpec node(int i, int update) {
  char mac[32];
  std::snprintf(mac, sizeof mac, "0e:00:00:00:%02x:01", i);
  NodeSpec n;
  n.name = "node-" + std::to_string(i);
  n.pod_cidrs = {"10.244." + std::to_string(i) + ".0/24"};
  n.annotations = {
      {"flannel.alpha.coreos.com/backend-data",
       R"({"VNI":1,"VtepMAC":")" + std::string(mac) + "\"}"},
      {"flannel.alpha.coreos.com/backend-type", "vxlan"},
      {"flannel.alpha.coreos.com/kube-subnet-manager", "true"},
      {"flannel.alpha.coreos.com/public-ip",
       "198.18." + std::to_string(update / 250) + "." + std::to_string(update % 250 + 1)},
  };
  return n;
}

std::string public_ip_of(const NodeMirror& m, int i) {
  auto rec = m.get("node-" + std::to_string(i));
  return rec && rec->status.public_ip ? rec->status.public_ip->str() : "";
}

TEST(NodeUpdateQueue, ABurstOfChangesConvergesToTheLastStateOfEachNode) {
  EngineFixture fx;
  NodeMirror mirror(settings(), fx.engine());
  NodeUpdateQueue queue;
  constexpr int kNodes = 100, kRounds = 50;  // 5,000 changes
  std::thread producer([&] {
    for (int round = 0; round < kRounds; ++round) {
      for (int i = 2; i < 2 + kNodes; ++i) {
        // Every seventh node is deleted in odd rounds: its last state (round
        // 49, odd) is "deleted".
        if (i % 7 == 0 && round % 2 == 1)
          queue.remove("node-" + std::to_string(i));
        else
          queue.upsert(node(i, round));
      }
    }
    queue.close();
  });
  size_t applied = 0, batches = 0;
  while (true) {
    NodeUpdateQueue::Batch b = queue.take(1s);
    applied += b.changes.size();
    batches += !b.empty();
    EXPECT_EQ(apply_batch(mirror, b), "");
    if (b.closed && b.empty()) break;
  }
  producer.join();
  EXPECT_LE(applied, size_t{kNodes * kRounds});
  for (int i = 2; i < 2 + kNodes; ++i) {
    if (i % 7 == 0) {
      EXPECT_FALSE(mirror.get("node-" + std::to_string(i))) << i;
    } else {
      EXPECT_EQ(public_ip_of(mirror, i), "198.18.0." + std::to_string(kRounds)) << i;
    }
  }
  std::printf("5,000 changes of 100 nodes applied as %zu node updates in %zu batches\n", applied,
              batches);
}

TEST(NodeUpdateQueue, ASnapshotSupersedesWhatWasQueuedAndReconcilesTheMirror) {
  EngineFixture fx;
  NodeMirror mirror(settings(), fx.engine());
  NodeUpdateQueue queue;
  queue.upsert(node(2, 0));
  queue.upsert(node(3, 0));
  EXPECT_EQ(apply_batch(mirror, queue.take(0ms)), "");
  ASSERT_TRUE(mirror.get("node-3"));

  queue.upsert(node(4, 0));  // superseded by the listing below
  queue.snapshot({node(2, 1), node(5, 0)});
  queue.upsert(node(5, 7));  // after the listing: applied after it
  NodeUpdateQueue::Batch b = queue.take(0ms);
  ASSERT_TRUE(b.snapshot);
  ASSERT_EQ(b.changes.size(), 1u);
  EXPECT_EQ(apply_batch(mirror, b), "");
  EXPECT_FALSE(mirror.get("node-3")) << "not in the listing: deleted";
  EXPECT_FALSE(mirror.get("node-4")) << "queued before the listing, not in it";
  EXPECT_EQ(public_ip_of(mirror, 2), "198.18.0.2");
  EXPECT_EQ(public_ip_of(mirror, 5), "198.18.0.8");
}

TEST(NodeUpdateQueue, TakeWaitsForAChangeAndCloseWakesItForGood) {
  NodeUpdateQueue queue;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(queue.take(50ms).empty());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  std::thread later([&] {
    std::this_thread::sleep_for(20ms);
    queue.remove("node-9");
  });
  NodeUpdateQueue::Batch b = queue.take(10s);
  later.join();
  ASSERT_EQ(b.changes.size(), 1u);
  EXPECT_FALSE(b.changes[0].second) << "a deletion";
  queue.close();
  EXPECT_TRUE(queue.take(10s).closed);
}

}  // namespace
}  // namespace tartan
