#include "engine/wireguard/tai64n.h"

#include <cstring>

namespace tartan::wireguard {

Tai64n tai64n(std::chrono::system_clock::time_point wall) {
  using namespace std::chrono;
  const auto since_epoch = duration_cast<nanoseconds>(wall.time_since_epoch());
  const auto secs = floor<seconds>(since_epoch);
  const uint64_t label = (uint64_t{1} << 62) + 10 + static_cast<uint64_t>(secs.count());
  const uint32_t whitener = (uint32_t{1} << 24) - 1;
  const uint32_t nanos = static_cast<uint32_t>((since_epoch - secs).count()) & ~whitener;
  Tai64n out;
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(label >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) out[8 + i] = static_cast<uint8_t>(nanos >> (24 - 8 * i));
  return out;
}

bool tai64n_after(const Tai64n& later, const Tai64n& earlier) {
  return std::memcmp(later.data(), earlier.data(), later.size()) > 0;
}

}  // namespace tartan::wireguard
