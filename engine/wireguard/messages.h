// WireGuard's four messages as they are on the wire (whitepaper 5.4).
// Byte arrays only, so the structs have no padding and can be copied to and
// from packets; integers are read and written little-endian (bytes.h).
#pragma once

#include <cstddef>

#include "engine/wireguard/bytes.h"

namespace tartan::wireguard {

// The first 4 bytes of every message: the type, then three reserved zero
// bytes (read as one little-endian word, so a nonzero reserved byte is an
// unknown type).
enum class MessageType : uint32_t {
  kInitiation = 1,
  kResponse = 2,
  kCookieReply = 3,
  kTransport = 4,
};

struct Initiation {
  std::array<uint8_t, 4> type;
  std::array<uint8_t, 4> sender;
  Key ephemeral;
  std::array<uint8_t, 32 + kTagLen> encrypted_static;
  std::array<uint8_t, 12 + kTagLen> encrypted_timestamp;
  Mac mac1;
  Mac mac2;
};
static_assert(sizeof(Initiation) == 148);

struct Response {
  std::array<uint8_t, 4> type;
  std::array<uint8_t, 4> sender;
  std::array<uint8_t, 4> receiver;
  Key ephemeral;
  std::array<uint8_t, kTagLen> encrypted_nothing;
  Mac mac1;
  Mac mac2;
};
static_assert(sizeof(Response) == 92);

struct CookieReply {
  std::array<uint8_t, 4> type;
  std::array<uint8_t, 4> receiver;
  std::array<uint8_t, 24> nonce;
  std::array<uint8_t, 16 + kTagLen> encrypted_cookie;
};
static_assert(sizeof(CookieReply) == 64);

// A transport data message is this header, then the padded ciphertext,
// then the tag.
struct TransportHeader {
  std::array<uint8_t, 4> type;
  std::array<uint8_t, 4> receiver;
  std::array<uint8_t, 8> counter;
};
inline constexpr size_t kTransportHeaderLen = sizeof(TransportHeader);
static_assert(kTransportHeaderLen == 16);
// A keepalive: header and tag around an empty plaintext.
inline constexpr size_t kTransportMinLen = kTransportHeaderLen + kTagLen;

// mac1 covers the message up to mac1, mac2 up to mac2 (whitepaper 5.4.4).
template <class Message>
constexpr size_t kMac1Offset = offsetof(Message, mac1);
template <class Message>
constexpr size_t kMac2Offset = offsetof(Message, mac2);

inline void set_type(std::array<uint8_t, 4>& field, MessageType type) {
  store_le32(field.data(), static_cast<uint32_t>(type));
}
// The type of the message in `packet`, read as wireguard-go does (a
// little-endian word); 0 when shorter than 4 bytes.
inline uint32_t message_type(Bytes packet) {
  return packet.size() < 4 ? 0 : load_le32(packet.data());
}

inline Bytes as_bytes(const auto& message) {
  return Bytes(reinterpret_cast<const uint8_t*>(&message), sizeof message);
}

}  // namespace tartan::wireguard
