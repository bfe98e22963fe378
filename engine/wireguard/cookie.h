// mac1, mac2 and cookie replies (whitepaper 5.3, 5.4.4, 5.4.7), both sides.
//
// Responder: mac1 is checked on every handshake message (a message not
// made with our public key costs no DH); under load a message also needs
// a valid mac2, keyed by a cookie only the sender's address can have
// received, else the answer is a cookie reply instead of a handshake.
// Initiator: stamp_macs() puts mac1, and mac2 while a received cookie is
// fresh, on every handshake message we send.
#pragma once

#include <optional>
#include <span>

#include "engine/wireguard/messages.h"
#include "engine/wireguard/outcome.h"
#include "engine/wireguard/peer.h"
#include "engine/wireguard/random.h"
#include "engine/wireguard/reject.h"

namespace tartan::wireguard {

class CookieChecker {
 public:
  explicit CookieChecker(const LocalIdentity& local)
      : mac1_key_(local.mac1_key), cookie_key_(local.cookie_key) {}

  // A handshake message (initiation or response, its mac1 at
  // `mac1_offset`, mac2 right after) with mac1 right, and when `under_load`
  // a mac2 made with the current cookie for `source` (the sender's address
  // and port bytes, as the caller forms them). nullopt when accepted.
  std::optional<Reject> check(Bytes message, size_t mac1_offset, Bytes source, bool under_load,
                              nanoseconds now) const;

  // The cookie reply to `message` (already mac1-checked) from `source`:
  // the cookie, encrypted under our cookie key with the message's mac1 as
  // AD, to `receiver` (the message's sender index). Draws a new secret
  // first when the current one is kCookieRefreshTime old.
  CookieReply create_reply(Bytes message, size_t mac1_offset, uint32_t receiver, Bytes source,
                           nanoseconds now, const RandomSource& random);

 private:
  bool secret_fresh(nanoseconds now) const;

  Key mac1_key_;
  Key cookie_key_;
  Key secret_{};
  std::optional<nanoseconds> secret_made_;
};

// Writes mac1 and mac2 into `message` (mac1 at `mac1_offset`, mac2 after
// it) for sending to `peer`, and remembers the mac1 for a cookie reply.
void stamp_macs(Peer& peer, std::span<uint8_t> message, size_t mac1_offset, nanoseconds now);

struct CookieAccepted {};
// A cookie reply from `peer` to our last handshake message: its cookie is
// kept for mac2 on what we send next.
Outcome<CookieAccepted, Reject> consume_cookie_reply(Peer& peer, Bytes packet, nanoseconds now);

}  // namespace tartan::wireguard
