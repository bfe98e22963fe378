// Handshakes per sender address (wireguard-go's ratelimiter): under load,
// a sender whose handshake messages carried a valid mac2 (so it receives
// at its address) still gets at most kHandshakesPerSecond of them
// consumed, after a burst of kHandshakeBurst. Time comes from the caller.
#pragma once

#include <chrono>
#include <cstdint>
#include <unordered_map>

namespace tartan::wireguard {

using nanoseconds = std::chrono::nanoseconds;

inline constexpr int64_t kHandshakesPerSecond = 20;
inline constexpr int64_t kHandshakeBurst = 5;

class RateLimiter {
 public:
  // Whether one more handshake from `address` (IPv4, host order) may be
  // consumed at `now`; takes its token when it may.
  bool allow(uint32_t address, nanoseconds now);

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

  std::unordered_map<uint32_t, Bucket> buckets_;
};

}  // namespace tartan::wireguard
