#include "control/host/wireguard_key_store.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "control/host/atomic_file.h"
#include "engine/wireguard/random.h"
#include "engine/wireguard/x25519.h"

namespace tartan {

Result<WireguardKeys> stable_wireguard_keys(const std::string& path) {
  WireguardKeys keys;
  std::ifstream in(path);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    auto key = parse_wireguard_key(text.str());
    if (!key) {
      return Status(ErrorCode::kFailedPrecondition,
                    path + ": not a WireGuard private key: " + key.status().message() +
                        " (delete the file to get a new key)");
    }
    keys.private_key = *key;
  } else if (errno != ENOENT) {
    return Status(ErrorCode::kFailedPrecondition, path + ": " + std::strerror(errno));
  } else {
    keys.private_key = wireguard::generate_private_key(wireguard::os_random);
    if (Status s = write_file_atomically(path, wireguard_key_text(keys.private_key), 0400); !s.ok())
      return s;
  }
  const auto public_key = wireguard::public_key_of(keys.private_key);
  if (!public_key) return Status::internal(path + ": OpenSSL gave no X25519 public key");
  keys.public_key = *public_key;
  return keys;
}

}  // namespace tartan
