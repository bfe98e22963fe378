#include "engine/wireguard/reject.h"

namespace tartan::wireguard {

std::string_view reject_name(Reject reason) {
  switch (reason) {
    case Reject::kWrongSize:
      return "wrong_size";
    case Reject::kWrongType:
      return "wrong_type";
    case Reject::kBadMac1:
      return "bad_mac1";
    case Reject::kCookieRequired:
      return "cookie_required";
    case Reject::kUnknownPeer:
      return "unknown_peer";
    case Reject::kUnknownReceiver:
      return "unknown_receiver";
    case Reject::kUnexpectedMessage:
      return "unexpected_message";
    case Reject::kDecryptFailed:
      return "decrypt_failed";
    case Reject::kReplayedTimestamp:
      return "replayed_timestamp";
    case Reject::kInitiationTooFrequent:
      return "initiation_too_frequent";
    case Reject::kBadKey:
      return "bad_key";
    case Reject::kReplayedCounter:
      return "replayed_counter";
    case Reject::kCounterExhausted:
      return "counter_exhausted";
    case Reject::kNoRoom:
      return "no_room";
    case Reject::kCryptoFailed:
      return "crypto_failed";
  }
  return "unknown";
}

}  // namespace tartan::wireguard
