// Transport data messages (whitepaper 5.4.6): sealed and opened in place
// in a packet buffer, so the worker can call these on an mbuf's data with
// its headroom and tailroom. No allocation: the AEAD is the caller's
// per-thread ChaChaPoly.
//
// Not here: finding the keypair by receiver index, and the keypair's age
// (REJECT_AFTER_TIME) and rekey decisions, which belong to the caller's
// tables and timers.
#pragma once

#include <optional>

#include "engine/wireguard/chacha_poly.h"
#include "engine/wireguard/keypair.h"
#include "engine/wireguard/messages.h"
#include "engine/wireguard/outcome.h"
#include "engine/wireguard/reject.h"

namespace tartan::wireguard {

// A message or plaintext within the caller's buffer.
struct PacketSpan {
  uint8_t* data;
  size_t len;
};

// The plaintext length once padded: a multiple of kPaddingMultiple, but not
// past `mtu` (0: no cap), as wireguard-go pads.
size_t padded_length(size_t len, size_t mtu);

// Encrypts the `len` plaintext bytes at `payload` under `key`'s next
// counter: the header goes in the 16 bytes of headroom before `payload`,
// the padding and tag in the tailroom after. Returns the whole message.
Outcome<PacketSpan, Reject> seal_transport(ChaChaPoly& aead, SendingKey& key, uint8_t* payload,
                                           size_t len, size_t headroom, size_t tailroom,
                                           size_t mtu);

// The receiver index of a transport message, for the caller to find its
// keypair; nullopt when the packet is not a well-formed transport message.
std::optional<uint32_t> transport_receiver(Bytes packet);

// Authenticates and decrypts the transport message at `packet` in place,
// then checks its counter against `key`'s replay window. Returns the
// plaintext (still padded; empty for a keepalive).
Outcome<PacketSpan, Reject> open_transport(ChaChaPoly& aead, ReceivingKey& key, uint8_t* packet,
                                           size_t len);

}  // namespace tartan::wireguard
