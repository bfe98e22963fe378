#include "control/config/wireguard_key.h"

#include <cstring>

#include "control/config/base64.h"

namespace tartan {

Result<WireguardKey> parse_wireguard_key(std::string_view text) {
  const auto bytes = decode_base64(text);
  if (!bytes)
    return Status::invalid("not base64 (a WireGuard key is 44 characters, as wg genkey prints)");
  WireguardKey key;
  if (bytes->size() != key.size()) {
    return Status::invalid("decodes to " + std::to_string(bytes->size()) +
                           " bytes; a WireGuard key has 32");
  }
  std::memcpy(key.data(), bytes->data(), key.size());
  return key;
}

std::string wireguard_key_text(const WireguardKey& key) {
  return encode_base64(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
}

}  // namespace tartan
