// Handshakes per sender (wireguard-go's ratelimiter: an IPv4 address, an
// IPv6 /64): under load,
// a sender whose handshake messages carried a valid mac2 (so it receives
// at its address) still gets at most kHandshakesPerSecond of them
// consumed, after a burst of kHandshakeBurst. Time comes from the caller.
#pragma once

#include <chrono>
#include <cstdint>
#include <unordered_map>

#include "engine/net_types.h"

namespace tartan::wireguard {

using nanoseconds = std::chrono::nanoseconds;

inline constexpr int64_t kHandshakesPerSecond = 20;
inline constexpr int64_t kHandshakeBurst = 5;

class RateLimiter {
 public:
  // Whether one more handshake from `source` may be consumed at `now`;
  // takes its token when it may.
  bool allow(const IpAddr& source, nanoseconds now);

  // Forgets the senders idle for a second (their buckets are full again
  // then): the table holds only who sent within the last second.
  void forget_idle(nanoseconds now);

  size_t size() const { return buckets_.size(); }

 private:
  struct Bucket {
    nanoseconds last;
    int64_t tokens;  // nanoseconds of credit; one handshake costs kCost
  };
  static constexpr int64_t kCost = 1'000'000'000 / kHandshakesPerSecond;
  static constexpr int64_t kMaxTokens = kCost * kHandshakeBurst;

  // By IPv4 address (below 2^32) or IPv6 /64 prefix (never below 2^32 for
  // a sender: all of ::/32 is reserved).
  std::unordered_map<uint64_t, Bucket> buckets_;
};

}  // namespace tartan::wireguard
