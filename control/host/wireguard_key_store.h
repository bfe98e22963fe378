// Our WireGuard private key stays the same across restarts, so peers keep
// the PublicKey our Node announces: kept in a file as flanneld keeps it
// (setupKeys: /run/flannel/wgkey, or WIREGUARD_KEY_FILE): the key's base64
// text, no newline, mode 0400. A node taken over from flanneld can point
// tartan at flanneld's file and keep its key.
#pragma once

#include <string>

#include "control/config/wireguard_key.h"
#include "engine/status.h"

namespace tartan {

struct WireguardKeys {
  WireguardKey private_key;
  WireguardKey public_key;
};

// The key in `path`, or a new one (32 random bytes, clamped, as `wg
// genkey` and wgtypes.GeneratePrivateKey make them) written there first.
// A file that does not hold a key is an error naming it, never replaced:
// replacing it would change our identity behind the operator's back.
Result<WireguardKeys> stable_wireguard_keys(const std::string& path);

}  // namespace tartan
