// A WireGuard handshake message (initiation, response, cookie reply) a
// worker handed to the control thread, taken out of its frame: the bytes
// the handshake reads and where they came from (the endpoint a response
// or cookie reply goes back to, and what cookies are keyed by).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/net_types.h"

namespace tartan {

struct WireguardMessage {
  IpAddr source;  // the family its frame came in on
  uint16_t source_port = 0;
  MacAddr source_mac;          // the frame's: where an answer to a sender we do not know goes
  std::vector<uint8_t> bytes;  // the UDP payload
};

// The message in an underlay frame (Ethernet/IPv4/UDP or
// Ethernet/IPv6/UDP, checked by the worker); nullopt when its lengths do not hold.
std::optional<WireguardMessage> take_wireguard_message(const rte_mbuf* m);

}  // namespace tartan
