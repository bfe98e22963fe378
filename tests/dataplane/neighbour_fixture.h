// A NeighbourTable on a real mempool and adjacency table whose emit()
// collects what it sends, for the tests of neighbour_table_test.cc and
// nd_test.cc; teardown checks that every mbuf went back to the pool.
#pragma once

#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "engine/neighbours/neighbours.h"
#include "tests/support/nd_packets.h"

namespace tartan::testing {

inline const MacAddr kOurMac = *MacAddr::parse("02:00:00:00:0b:01");
inline const Ipv4Addr kOurIp = *Ipv4Addr::parse("192.0.2.19");
inline const Ipv6Addr kOurIp6 = *Ipv6Addr::parse("2001:db8:0:2::13");
inline const Ipv6Addr kPeer6 = *Ipv6Addr::parse("2001:db8:0:2::bc:de02");
inline const MacAddr kPeerMac = *MacAddr::parse("02:00:00:00:0b:02");
inline const Ipv4Addr kPeer4 = *Ipv4Addr::parse("192.0.2.20");

// A table on a real mempool, whose emit() collects what it sends.
class NeighbourTableFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    static int n = 0;
    const std::string name = "nbr_test_" + std::to_string(n++);
    pool_ =
        rte_pktmbuf_pool_create(name.c_str(), 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
    make_table(true);
  }
  void TearDown() override {
    table_.reset();
    for (rte_mbuf* m : sent_) rte_pktmbuf_free(m);
    sent_.clear();
    EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u) << "an mbuf leaked";
    rte_mempool_free(pool_);
  }

  void make_table(bool with_ip6) {
    NeighbourParams p;
    p.our_ip = kOurIp;
    if (with_ip6) p.our_ip6 = kOurIp6;
    p.our_mac = kOurMac;
    p.retry_ms = 10;
    p.max_retries = 2;
    p.refresh_s = 5;
    p.queue_len = 3;
    table_.reset();
    table_ = std::make_unique<NeighbourTable>(p, adjacency_, pool_, [this](unsigned, rte_mbuf* m) {
      if (refuse_) return false;
      sent_.push_back(m);
      return true;
    });
  }

  // What was sent since the last call, as bytes; the mbufs are freed.
  std::vector<Bytes> take() {
    std::vector<Bytes> out;
    for (rte_mbuf* m : sent_) {
      out.push_back(from_mbuf(m));
      rte_pktmbuf_free(m);
    }
    sent_.clear();
    return out;
  }

  // A packet waiting for a neighbour: an outer frame whose destination MAC
  // is still blank.
  rte_mbuf* waiting(uint8_t mark) {
    Bytes f(64, mark);
    std::fill(f.begin(), f.begin() + 6, 0);
    return to_mbuf(pool_, f);
  }

  rte_mempool* pool_ = nullptr;
  AdjacencyTable adjacency_{64};
  std::unique_ptr<NeighbourTable> table_;
  std::vector<rte_mbuf*> sent_;
  bool refuse_ = false;
};

}  // namespace tartan::testing
