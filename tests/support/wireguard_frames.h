// WireGuard transport messages as a peer sends them, built byte for byte
// with engine/wireguard's cipher, for the data-path tests and benchmarks.
#pragma once

#include <cstdint>

#include "engine/wireguard/bytes.h"
#include "tests/support/packets.h"

namespace tartan::testing {

// flannel's default ListenPort, which every node of the tests listens on.
inline constexpr uint16_t kWireguardPort = 51820;
// flannel's default ListenPortV6 (flannel-wg-v6, Mode separate), likewise.
inline constexpr uint16_t kWireguardPortV6 = 51821;

// A transport data message: type 4, `receiver`, `counter`, then `plain`
// padded to 16 and sealed under `key`, and its tag.
Bytes wireguard_transport(const wireguard::Key& key, uint32_t receiver, uint64_t counter,
                          Bytes plain);

}  // namespace tartan::testing
