// The per-sender handshake rate under load (wireguard-go's ratelimiter):
// a burst, then kHandshakesPerSecond, each sender on its own, and idle
// senders forgotten; an IPv6 sender is its /64.
#include "engine/wireguard/rate_limiter.h"

#include <gtest/gtest.h>

namespace tartan::wireguard {
namespace {

using namespace std::chrono_literals;

const IpAddr kA = Ipv4Addr{0xc0000201}, kB = Ipv4Addr{0xc0000202};

int allowed_at(RateLimiter& limiter, const IpAddr& address, nanoseconds now, int tries) {
  int n = 0;
  for (int i = 0; i < tries; ++i) n += limiter.allow(address, now) ? 1 : 0;
  return n;
}

TEST(RateLimiter, ABurstThenOneEveryFiftyMilliseconds) {
  RateLimiter limiter;
  const nanoseconds t0 = 10s;
  EXPECT_EQ(allowed_at(limiter, kA, t0, 10), 4);
  // What is left of the burst goes with the next nanosecond's credit.
  EXPECT_EQ(allowed_at(limiter, kA, t0 + 1ms, 10), 1);
  EXPECT_EQ(allowed_at(limiter, kA, t0 + 50ms, 10), 0);
  EXPECT_EQ(allowed_at(limiter, kA, t0 + 52ms, 10), 1);
  // A full second refills the bucket to its burst, not beyond.
  EXPECT_EQ(allowed_at(limiter, kA, t0 + 10s, 100), kHandshakeBurst - 1);
}

TEST(RateLimiter, SendersHaveBucketsOfTheirOwn) {
  RateLimiter limiter;
  EXPECT_EQ(allowed_at(limiter, kA, 1s, 10), 4);
  EXPECT_EQ(allowed_at(limiter, kB, 1s, 10), 4);
}

TEST(RateLimiter, AnIpv6SendersBucketIsItsSlash64s) {
  RateLimiter limiter;
  EXPECT_EQ(allowed_at(limiter, *Ipv6Addr::parse("2001:db8:1:2::a"), 1s, 10), 4);
  // Another address in the same /64 has no fresh burst; the next /64 has.
  EXPECT_EQ(allowed_at(limiter, *Ipv6Addr::parse("2001:db8:1:2:ffff::b"), 1s, 10), 0);
  EXPECT_EQ(allowed_at(limiter, *Ipv6Addr::parse("2001:db8:1:3::a"), 1s, 10), 4);
}

TEST(RateLimiter, SendersIdleForASecondAreForgotten) {
  RateLimiter limiter;
  limiter.allow(kA, 1s);
  limiter.allow(kB, 1500ms);
  limiter.forget_idle(2100ms);
  EXPECT_EQ(limiter.size(), 1u);
  limiter.forget_idle(2600ms);
  EXPECT_EQ(limiter.size(), 0u);
}

}  // namespace
}  // namespace tartan::wireguard
