// Where the protocol's randomness comes from: ephemeral keys, cookie
// secrets and cookie nonces. Injected so the known-answer tests can replay
// the draws wireguard-go made; os_random() everywhere else.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

namespace tartan::wireguard {

using RandomSource = std::function<void(std::span<uint8_t>)>;

// The kernel's CSPRNG (getrandom(2)); blocks only before it is seeded at boot.
void os_random(std::span<uint8_t> out);

}  // namespace tartan::wireguard
