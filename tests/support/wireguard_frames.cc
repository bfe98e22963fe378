#include "tests/support/wireguard_frames.h"

#include <stdexcept>

#include "engine/wireguard/chacha_poly.h"
#include "engine/wireguard/messages.h"

namespace tartan::testing {

Bytes wireguard_transport(const wireguard::Key& key, uint32_t receiver, uint64_t counter,
                          Bytes plain) {
  plain.resize((plain.size() + 15) / 16 * 16, 0);
  Bytes msg(wireguard::kTransportHeaderLen + plain.size() + wireguard::kTagLen);
  wireguard::store_le32(msg.data(), static_cast<uint32_t>(wireguard::MessageType::kTransport));
  wireguard::store_le32(msg.data() + 4, receiver);
  wireguard::store_le64(msg.data() + 8, counter);
  auto aead = wireguard::ChaChaPoly::create();
  if (!aead || !aead->seal(key, counter, {}, plain.data(), plain.size(),
                           msg.data() + wireguard::kTransportHeaderLen))
    throw std::runtime_error("ChaCha20-Poly1305 failed");
  return msg;
}

}  // namespace tartan::testing
