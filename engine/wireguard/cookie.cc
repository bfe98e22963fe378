#include "engine/wireguard/cookie.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

#include "engine/wireguard/blake2s.h"
#include "engine/wireguard/constants.h"
#include "engine/wireguard/xchacha_poly.h"

namespace tartan::wireguard {
namespace {

bool same(const Mac& a, Bytes b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool fresh(const std::optional<nanoseconds>& since, nanoseconds now) {
  return since && now - *since < kCookieRefreshTime;
}

}  // namespace

bool CookieChecker::secret_fresh(nanoseconds now) const {
  return fresh(secret_made_, now);
}

std::optional<Reject> CookieChecker::check(Bytes message, size_t mac1_offset, Bytes source,
                                           bool under_load, nanoseconds now) const {
  const size_t mac2_offset = mac1_offset + sizeof(Mac);
  if (message.size() != mac2_offset + sizeof(Mac)) return Reject::kWrongSize;
  if (!same(mac(mac1_key_, message.first(mac1_offset)), message.subspan(mac1_offset)))
    return Reject::kBadMac1;
  if (!under_load) return std::nullopt;
  if (!secret_fresh(now)) return Reject::kCookieRequired;
  const Mac cookie = mac(secret_, source);
  if (!same(mac(cookie, message.first(mac2_offset)), message.subspan(mac2_offset)))
    return Reject::kCookieRequired;
  return std::nullopt;
}

CookieReply CookieChecker::create_reply(Bytes message, size_t mac1_offset, uint32_t receiver,
                                        Bytes source, nanoseconds now, const RandomSource& random) {
  if (!secret_fresh(now)) {
    random(secret_);
    secret_made_ = now;
  }
  const Mac cookie = mac(secret_, source);
  CookieReply reply;
  set_type(reply.type, MessageType::kCookieReply);
  store_le32(reply.receiver.data(), receiver);
  random(reply.nonce);
  // Cannot fail: libsodium's encrypt fails only on oversized input.
  (void)xaead_seal(cookie_key_, reply.nonce, cookie, message.subspan(mac1_offset, sizeof(Mac)),
                   reply.encrypted_cookie.data());
  return reply;
}

void stamp_macs(Peer& peer, std::span<uint8_t> message, size_t mac1_offset, nanoseconds now) {
  const size_t mac2_offset = mac1_offset + sizeof(Mac);
  const Mac mac1 = mac(peer.mac1_key, message.first(mac1_offset));
  std::copy(mac1.begin(), mac1.end(), message.begin() + mac1_offset);
  peer.cookie.last_mac1 = mac1;
  Mac mac2{};
  if (fresh(peer.cookie.received_at, now))
    mac2 = mac(peer.cookie.cookie, message.first(mac2_offset));
  std::copy(mac2.begin(), mac2.end(), message.begin() + mac2_offset);
}

Outcome<CookieAccepted, Reject> consume_cookie_reply(Peer& peer, Bytes packet, nanoseconds now) {
  if (packet.size() != sizeof(CookieReply)) return Reject::kWrongSize;
  if (message_type(packet) != static_cast<uint32_t>(MessageType::kCookieReply))
    return Reject::kWrongType;
  // A reply we did not ask for (or a second one to the same message).
  if (!peer.cookie.last_mac1) return Reject::kUnexpectedMessage;
  CookieReply reply;
  std::memcpy(&reply, packet.data(), sizeof reply);
  Mac cookie;
  if (!xaead_open(peer.cookie_key, reply.nonce, reply.encrypted_cookie, *peer.cookie.last_mac1,
                  cookie.data()))
    return Reject::kDecryptFailed;
  peer.cookie.cookie = cookie;
  peer.cookie.received_at = now;
  peer.cookie.last_mac1.reset();
  return CookieAccepted{};
}

}  // namespace tartan::wireguard
