#include "engine/wireguard/transport.h"

#include <algorithm>
#include <cstring>

#include "engine/wireguard/constants.h"

namespace tartan::wireguard {

size_t padded_length(size_t len, size_t mtu) {
  const size_t rounded = (len + kPaddingMultiple - 1) / kPaddingMultiple * kPaddingMultiple;
  if (mtu == 0) return rounded;
  return std::max(len, std::min(rounded, mtu));
}

Outcome<PacketSpan, Reject> seal_transport(ChaChaPoly& aead, SendingKey& key, uint8_t* payload,
                                           size_t len, size_t headroom, size_t tailroom,
                                           size_t mtu) {
  const size_t padded = padded_length(len, mtu);
  if (headroom < kTransportHeaderLen || tailroom < padded - len + kTagLen) return Reject::kNoRoom;
  if (key.next_counter >= kRejectAfterMessages) return Reject::kCounterExhausted;
  const uint64_t counter = key.next_counter++;
  std::memset(payload + len, 0, padded - len);
  uint8_t* header = payload - kTransportHeaderLen;
  store_le32(header, static_cast<uint32_t>(MessageType::kTransport));
  store_le32(header + 4, key.remote_index);
  store_le64(header + 8, counter);
  if (!aead.seal(key.key, counter, Bytes(), payload, padded, payload)) return Reject::kCryptoFailed;
  return PacketSpan{header, kTransportHeaderLen + padded + kTagLen};
}

std::optional<uint32_t> transport_receiver(Bytes packet) {
  if (packet.size() < kTransportMinLen ||
      message_type(packet) != static_cast<uint32_t>(MessageType::kTransport))
    return std::nullopt;
  return load_le32(packet.data() + 4);
}

Outcome<PacketSpan, Reject> open_transport(ChaChaPoly& aead, ReceivingKey& key, uint8_t* packet,
                                           size_t len) {
  if (len < kTransportMinLen) return Reject::kWrongSize;
  if (message_type(Bytes(packet, len)) != static_cast<uint32_t>(MessageType::kTransport))
    return Reject::kWrongType;
  const uint64_t counter = load_le64(packet + 8);
  if (counter >= kRejectAfterMessages) return Reject::kCounterExhausted;
  uint8_t* plain = packet + kTransportHeaderLen;
  const size_t sealed_len = len - kTransportHeaderLen;
  if (!aead.open(key.key, counter, Bytes(), plain, sealed_len, plain))
    return Reject::kDecryptFailed;
  // After authentication: a forged counter must not move the window.
  if (!key.replay.accept(counter)) return Reject::kReplayedCounter;
  return PacketSpan{plain, sealed_len - kTagLen};
}

}  // namespace tartan::wireguard
