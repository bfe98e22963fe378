// XChaCha20-Poly1305, for cookie replies only (whitepaper 5.4.7). OpenSSL
// 3.0 has no XChaCha20-Poly1305; libsodium's IETF construction is the one
// the whitepaper and wireguard-go use.
#pragma once

#include "engine/wireguard/bytes.h"

namespace tartan::wireguard {

using XNonce = std::array<uint8_t, 24>;

// `out` has plain.size() + 16 bytes.
bool xaead_seal(const Key& key, const XNonce& nonce, Bytes plain, Bytes ad, uint8_t* out);
// `out` has sealed.size() - 16 bytes; false when the tag does not authenticate.
bool xaead_open(const Key& key, const XNonce& nonce, Bytes sealed, Bytes ad, uint8_t* out);

}  // namespace tartan::wireguard
