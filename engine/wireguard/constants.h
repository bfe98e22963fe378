// The protocol's limits and timers, as the whitepaper (section 6) and
// wireguard-go's device/constants.go set them. Written once: the handshake,
// the transport and (later) the timers read them from here.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace tartan::wireguard {

using namespace std::chrono_literals;

inline constexpr uint64_t kRekeyAfterMessages = uint64_t{1} << 60;
// 2^64 - 2^13 - 1: the last counters are left unused so the replay window
// never has to wrap.
inline constexpr uint64_t kRejectAfterMessages = ~uint64_t{0} - (uint64_t{1} << 13);
inline constexpr std::chrono::seconds kRekeyAfterTime = 120s;
inline constexpr std::chrono::seconds kRejectAfterTime = 180s;
inline constexpr std::chrono::seconds kRekeyAttemptTime = 90s;
inline constexpr std::chrono::seconds kRekeyTimeout = 5s;
// Each retry waits kRekeyTimeout plus up to this much more, drawn at random,
// so peers that started together do not keep colliding.
inline constexpr std::chrono::milliseconds kRekeyTimeoutJitterMax = 334ms;
inline constexpr std::chrono::seconds kKeepaliveTimeout = 10s;
// How long a responder's cookie secret, and an initiator's received cookie,
// stay valid.
inline constexpr std::chrono::seconds kCookieRefreshTime = 120s;
// A peer's initiations are consumed at most this often (wireguard-go's
// HandshakeInitationRate, 50 per second): a flood of valid replays of a
// fresh initiation cannot keep resetting the handshake.
inline constexpr std::chrono::milliseconds kInitiationMinInterval = 20ms;
// Transport plaintext is padded to a multiple of this (capped at the MTU).
inline constexpr size_t kPaddingMultiple = 16;

}  // namespace tartan::wireguard
