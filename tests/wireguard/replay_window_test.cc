// The replay window accepts each counter once, in any order within the
// window, and nothing older or past the limit.
#include "engine/wireguard/replay_window.h"

#include <gtest/gtest.h>

namespace tartan::wireguard {
namespace {

TEST(ReplayWindow, AcceptsCountersInOrder) {
  ReplayWindow window;
  for (uint64_t c = 0; c < 3 * ReplayWindow::kTotalBits; ++c) ASSERT_TRUE(window.accept(c)) << c;
}

TEST(ReplayWindow, RejectsADuplicate) {
  ReplayWindow window;
  EXPECT_TRUE(window.accept(0));
  EXPECT_FALSE(window.accept(0));
  EXPECT_TRUE(window.accept(7));
  EXPECT_FALSE(window.accept(7));
  EXPECT_TRUE(window.accept(5));
  EXPECT_FALSE(window.accept(5));
}

TEST(ReplayWindow, AcceptsOutOfOrderWithinTheWindowOnce) {
  ReplayWindow window;
  const uint64_t top = 10000;
  EXPECT_TRUE(window.accept(top));
  for (uint64_t back = 1; back <= ReplayWindow::kWindow; back += 97) {
    EXPECT_TRUE(window.accept(top - back)) << back;
    EXPECT_FALSE(window.accept(top - back)) << back;
  }
  EXPECT_TRUE(window.accept(top - ReplayWindow::kWindow + 1));
}

TEST(ReplayWindow, RejectsCountersOlderThanTheWindow) {
  ReplayWindow window;
  const uint64_t top = 3 * ReplayWindow::kTotalBits;
  EXPECT_TRUE(window.accept(top));
  EXPECT_TRUE(window.accept(top - ReplayWindow::kWindow));
  EXPECT_FALSE(window.accept(top - ReplayWindow::kWindow - 1));
  EXPECT_FALSE(window.accept(0));
}

TEST(ReplayWindow, AJumpPastTheWholeWindowForgetsEverySeenCounter) {
  ReplayWindow window;
  for (uint64_t c = 0; c < 200; ++c) ASSERT_TRUE(window.accept(c));
  const uint64_t far = 200 + 10 * ReplayWindow::kTotalBits;
  EXPECT_TRUE(window.accept(far));
  // The ring's blocks were reused: counters just below `far` that land on
  // the same bits as the old ones are new, not duplicates.
  EXPECT_TRUE(window.accept(far - 1));
  EXPECT_TRUE(window.accept(far - 64));
  EXPECT_FALSE(window.accept(150));
}

TEST(ReplayWindow, RejectsTheRejectLimitAndAbove) {
  ReplayWindow window;
  EXPECT_EQ(kRejectAfterMessages, ~uint64_t{0} - 8192);
  EXPECT_TRUE(window.accept(kRejectAfterMessages - 1));
  EXPECT_FALSE(window.accept(kRejectAfterMessages));
  EXPECT_FALSE(window.accept(~uint64_t{0}));
  EXPECT_TRUE(window.accept(kRejectAfterMessages - 2));
}

}  // namespace
}  // namespace tartan::wireguard
