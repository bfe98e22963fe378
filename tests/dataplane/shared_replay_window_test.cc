// The data path's replay window (backends/wireguard_replay.h) gives
// WireGuard's verdicts, and keeps giving them with several workers
// accepting for one keypair at once: every counter accepted exactly once.
#include "engine/backends/wireguard_replay.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <thread>
#include <vector>

namespace tartan {
namespace {

using W = SharedReplayWindow;

TEST(SharedReplayWindow, AcceptsEachCounterOnceInAnyOrderWithinTheWindow) {
  W window;
  for (uint64_t c = 0; c < 3 * 8192; ++c) ASSERT_TRUE(window.accept(c)) << c;
  for (uint64_t c = 3 * 8192 - W::kWindow; c < 3 * 8192; c += 37) ASSERT_FALSE(window.accept(c));
  W out_of_order;
  const uint64_t top = 20000;
  EXPECT_TRUE(out_of_order.accept(top));
  for (uint64_t back = 1; back <= W::kWindow; back += 97) {
    EXPECT_TRUE(out_of_order.accept(top - back)) << back;
    EXPECT_FALSE(out_of_order.accept(top - back)) << back;
  }
}

TEST(SharedReplayWindow, RefusesCountersBehindTheWindowAndPastTheLimits) {
  W window;
  const uint64_t top = 5 * 8192;
  EXPECT_TRUE(window.accept(top));
  EXPECT_TRUE(window.accept(top - W::kWindow));
  EXPECT_FALSE(window.accept(top - W::kWindow - 1));
  EXPECT_FALSE(window.accept(0));
  EXPECT_FALSE(window.accept(wireguard::kRejectAfterMessages));
  EXPECT_FALSE(window.accept(W::kCounterBound));
  EXPECT_TRUE(window.accept(W::kCounterBound - 1));
}

TEST(SharedReplayWindow, AJumpForgetsTheSlotsItPassesWithoutForgettingTheWindow) {
  W window;
  for (uint64_t c = 0; c < 200; ++c) ASSERT_TRUE(window.accept(c));
  const uint64_t far = 200 + 10 * 8192;
  EXPECT_TRUE(window.accept(far));
  // Same slots as counters seen before the jump, but new counters.
  EXPECT_TRUE(window.accept(far - 1));
  EXPECT_TRUE(window.accept(far - 40));
  EXPECT_FALSE(window.accept(150));
}

TEST(SharedReplayWindow, WorkersRacingOverOneKeypairAcceptEachCounterExactlyOnce) {
  // Every thread offers every counter (a replay of each, from each other
  // thread), shuffled within a span the window covers, so slots are
  // claimed, filled and moved on concurrently.
  constexpr uint64_t kCounters = 200000;
  constexpr unsigned kThreads = 4;
  W window;
  std::vector<std::unique_ptr<std::atomic<unsigned>>> accepted;
  for (uint64_t c = 0; c < kCounters; ++c)
    accepted.push_back(std::make_unique<std::atomic<unsigned>>(0));
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<uint64_t> order(kCounters);
      for (uint64_t c = 0; c < kCounters; ++c) order[c] = c;
      std::mt19937_64 rng(t);
      for (uint64_t start = 0; start < kCounters; start += 1024)
        std::shuffle(order.begin() + start, order.begin() + std::min(start + 1024, kCounters), rng);
      for (uint64_t c : order) {
        if (window.accept(c)) accepted[c]->fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  uint64_t total = 0;
  for (uint64_t c = 0; c < kCounters; ++c) {
    ASSERT_LE(accepted[c]->load(), 1u) << "counter " << c << " accepted twice";
    total += accepted[c]->load();
  }
  // Racing threads may push the window past a counter before anyone takes
  // it; most are taken.
  EXPECT_GT(total, kCounters / 2);
}

}  // namespace
}  // namespace tartan
