#include "engine/wireguard/peer.h"

#include <string_view>

#include "engine/wireguard/blake2s.h"
#include "engine/wireguard/x25519.h"

namespace tartan::wireguard {
namespace {

Key labelled_hash(std::string_view label, const Key& public_key) {
  return hash({Bytes(reinterpret_cast<const uint8_t*>(label.data()), label.size()), public_key});
}

}  // namespace

Key mac1_key_for(const Key& public_key) {
  return labelled_hash("mac1----", public_key);
}
Key cookie_key_for(const Key& public_key) {
  return labelled_hash("cookie--", public_key);
}

std::optional<LocalIdentity> LocalIdentity::from_private_key(const Key& private_key) {
  std::optional<Key> pub = public_key_of(private_key);
  if (!pub) return std::nullopt;
  return LocalIdentity{private_key, *pub, mac1_key_for(*pub), cookie_key_for(*pub)};
}

std::optional<Peer> Peer::create(const LocalIdentity& local, const Key& public_key,
                                 const Key& preshared_key) {
  std::optional<Key> ss = dh(local.private_key, public_key);
  if (!ss) return std::nullopt;
  return Peer{public_key,
              preshared_key,
              *ss,
              mac1_key_for(public_key),
              cookie_key_for(public_key),
              {},
              {},
              {},
              {}};
}

}  // namespace tartan::wireguard
