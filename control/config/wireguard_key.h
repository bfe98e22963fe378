// WireGuard keys as text: 32 bytes in standard base64 (44 characters), as
// `wg genkey` prints them and flannel reads and writes them (wgtypes
// ParseKey and Key.String): the PSK in net-conf.json, the PublicKey in
// backend-data, the private key file.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace tartan {

using WireguardKey = std::array<uint8_t, 32>;

// INVALID_ARGUMENT saying what is wrong ("not base64", "decodes to 31
// bytes, not 32"); whitespace around the text (a file's newline) is ignored.
Result<WireguardKey> parse_wireguard_key(std::string_view text);

std::string wireguard_key_text(const WireguardKey& key);

}  // namespace tartan
