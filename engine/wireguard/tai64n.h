// TAI64N timestamps for handshake initiations (whitepaper 5.1): the
// responder accepts an initiation only if its timestamp is later than the
// last one it accepted from that peer, so a recorded initiation cannot be
// replayed.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

namespace tartan::wireguard {

// 8 bytes of seconds since 1970 plus 2^62 + 10 (TAI64's label and the
// 10 s TAI-UTC offset), 4 bytes of nanoseconds; both big-endian so that a
// byte compare orders them.
using Tai64n = std::array<uint8_t, 12>;

// The nanoseconds are rounded down to a multiple of 2^24 ns (~16.8 ms), as
// wireguard-go and the kernel do, so the timestamp does not give a precise
// clock away to a passive observer.
Tai64n tai64n(std::chrono::system_clock::time_point wall);

// Whether `later` is strictly after `earlier`.
bool tai64n_after(const Tai64n& later, const Tai64n& earlier);

}  // namespace tartan::wireguard
