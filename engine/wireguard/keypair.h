// The transport keys a completed handshake derives (whitepaper 5.4.5):
// one key and counter per direction, and the indexes that name the pair
// in each side's transport headers.
#pragma once

#include <chrono>

#include "engine/wireguard/bytes.h"
#include "engine/wireguard/replay_window.h"

namespace tartan::wireguard {

struct SendingKey {
  Key key;
  uint32_t remote_index;  // the receiver field of every packet we send
  uint64_t next_counter = 0;
};

struct ReceivingKey {
  Key key;
  ReplayWindow replay;
};

struct Keypair {
  SendingKey sending;
  ReceivingKey receiving;
  uint32_t local_index;              // the receiver field of the packets the peer sends us
  std::chrono::nanoseconds created;  // monotonic: for REKEY/REJECT_AFTER_TIME
  bool initiator;                    // only the initiator rekeys after REKEY_AFTER_TIME
};

}  // namespace tartan::wireguard
