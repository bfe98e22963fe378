// Both back-off flavours: etcd's, as it was, and client-go's reflector's.
#include "control/sources/backoff.h"

#include <gtest/gtest.h>

#include <thread>

namespace tartan {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, EtcdFlavourStaysWithinAQuarterOfNominalAndNeverAboveMax) {
  Backoff b(milliseconds(100), milliseconds(1000));
  const int64_t nominal[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (int round = 0; round < 50; ++round) {
    b.reset();
    for (int64_t n : nominal) {
      const int64_t d = b.next().count();
      EXPECT_GE(d, n * 3 / 4);
      EXPECT_LE(d, std::min<int64_t>(n * 5 / 4, 1000));
    }
  }
}

TEST(Backoff, ClientGoFlavourWaitsBetweenDAnd2DUpToTwiceTheCap) {
  // client-go's reflector: 800 ms, x2, jitter 1.0, cap 30 s.
  auto b = Backoff::client_go(milliseconds(800), milliseconds(30000), std::chrono::minutes(2));
  const int64_t nominal[] = {800, 1600, 3200, 6400, 12800, 25600, 30000, 30000};
  for (int round = 0; round < 50; ++round) {
    b.reset();
    for (int64_t n : nominal) {
      const int64_t d = b.next().count();
      EXPECT_GE(d, n);
      EXPECT_LT(d, 2 * n);
    }
  }
}

TEST(Backoff, ClientGoFlavourStartsAgainAfterAQuietPeriod) {
  auto b = Backoff::client_go(milliseconds(100), milliseconds(10000), milliseconds(50));
  for (int i = 0; i < 5; ++i) b.next();  // nominal now 3200 ms
  EXPECT_GE(b.next().count(), 1600);     // failures in a row keep growing
  std::this_thread::sleep_for(milliseconds(60));
  const int64_t d = b.next().count();
  EXPECT_GE(d, 100);
  EXPECT_LT(d, 200);
}

}  // namespace
}  // namespace tartan
