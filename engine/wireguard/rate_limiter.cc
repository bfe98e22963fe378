#include "engine/wireguard/rate_limiter.h"

#include <algorithm>

namespace tartan::wireguard {

using namespace std::chrono_literals;

bool RateLimiter::allow(uint32_t address, nanoseconds now) {
  const auto [it, added] = buckets_.try_emplace(address, Bucket{now, kMaxTokens - kCost});
  if (added) return true;
  Bucket& b = it->second;
  b.tokens = std::min(kMaxTokens, b.tokens + (now - b.last).count());
  b.last = now;
  if (b.tokens <= kCost) return false;
  b.tokens -= kCost;
  return true;
}

void RateLimiter::forget_idle(nanoseconds now) {
  std::erase_if(buckets_, [now](const auto& entry) { return now - entry.second.last > 1s; });
}

}  // namespace tartan::wireguard
