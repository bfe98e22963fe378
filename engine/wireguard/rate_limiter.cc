#include "engine/wireguard/rate_limiter.h"

#include <algorithm>
#include <variant>

namespace tartan::wireguard {

using namespace std::chrono_literals;

namespace {

uint64_t sender_key(const IpAddr& source) {
  if (const auto* v4 = std::get_if<Ipv4Addr>(&source)) return v4->value;
  uint64_t prefix = 0;
  for (int i = 0; i < 8; ++i) prefix = prefix << 8 | std::get<Ipv6Addr>(source).bytes[i];
  return prefix;
}

}  // namespace

bool RateLimiter::allow(const IpAddr& source, nanoseconds now) {
  const auto [it, added] =
      buckets_.try_emplace(sender_key(source), Bucket{now, kMaxTokens - kCost});
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
