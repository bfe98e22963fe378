#include "control/wireguard/handshake_counter_fields.h"

namespace tartan {
namespace {

using C = WireguardHandshakeCounters;

constexpr StatField<C> kFields[] = {
    {"initiations_sent", "wireguard handshake initiations sent", &C::initiations_sent},
    {"responses_sent", "wireguard handshake responses sent", &C::responses_sent},
    {"handshakes_completed", "wireguard handshakes completed (keypairs installed)", &C::completed},
    {"cookie_replies", "wireguard cookie replies taken", &C::cookie_replies},
    {"attempts_expired", "wireguard handshake attempts given up after REKEY_ATTEMPT_TIME",
     &C::attempts_expired},
    {"keepalives_sent", "wireguard keepalives sent (passive and persistent)", &C::keepalives_sent},
    {"send_failures", "wireguard handshake messages or keepalives the engine could not send",
     &C::send_failures},
    {"bad_peer_keys", "wireguard PublicKeys with which no handshake is safe", &C::bad_peer_keys},
};

}  // namespace

std::span<const StatField<WireguardHandshakeCounters>> handshake_counter_fields() {
  return kFields;
}

WireguardHandshakeCounters handshake_counters_delta(const WireguardHandshakeCounters& now,
                                                    const WireguardHandshakeCounters& before) {
  WireguardHandshakeCounters d = now;
  for (const StatField<C>& f : kFields) d.*f.field -= before.*f.field;
  for (size_t r = 0; r < d.rejected.size(); ++r) d.rejected[r] -= before.rejected[r];
  return d;
}

}  // namespace tartan
