// The keys of WireGuard's transport on the workers: per peer the keypair it
// sends with, and every keypair of ours found by the receiver index its
// packets carry (whitepaper 5.4.6), published to the workers under the
// tables' RCU and freed a grace period after they go.
//
// A peer is a remote node, so its slot is its next-hop id: egress reaches
// it from the route, ingress from the index (each keypair names its peer),
// and a peer's allowed IPs are exactly the podCIDRs routed to that next hop.
//
// Receiver indexes are ours to choose (the handshake asks reserve_index for
// one): the low bits are the keypair's slot in an array, so a lookup is one
// load, and the rest random, compared in full, so a guessed index finds
// nothing.
//
// Each peer keeps the whitepaper's three keypairs (5.4.5, 6.1): `current`
// (sends and receives), `previous` (receives what was in flight when it was
// replaced) and `next` (a responder's fresh keypair, which receives and
// becomes current once the initiator's first packet on it confirms it).
// Workers only read them, raise flags and record arrivals; every change
// is the control thread's.
#pragma once

#include <rte_hash_crc.h>
#include <rte_rcu_qsbr.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "engine/backends/wireguard_replay.h"
#include "engine/engine_config.h"
#include "engine/net_types.h"
#include "engine/status.h"
#include "engine/wireguard/keypair.h"

namespace tartan {

// One keypair as the workers use it.
struct alignas(64) WireguardKeypair {
  wireguard::Key send_key;
  wireguard::Key receive_key;
  uint32_t remote_index = 0;  // the receiver field of what we send
  uint32_t local_index = 0;   // the receiver field of what we receive
  uint32_t peer = 0;          // the peer's slot (its next-hop id)
  bool initiator = false;     // only the initiator rekeys after REKEY_AFTER_TIME
  // The underlay families its messages may come over, bit 1 << kIndex of
  // each: its device's (Mode separate: flannel-wg's IPv4, flannel-wg-v6's
  // IPv6; in Linux each device has receiver indexes of its own, here they
  // share one index space, so the family is checked), or both in the
  // one-device modes.
  uint8_t families = 0;
  uint64_t birth_tsc = 0;
  std::atomic<bool> received{false};  // a packet authenticated under it (key confirmation)
  // Every worker sending to the peer takes its counters here: its own line.
  alignas(64) std::atomic<uint64_t> send_counter{0};
  alignas(64) SharedReplayWindow replay;
};

// What the workers ask of the control side, raised in WireguardPeer::wants.
inline constexpr uint8_t kWireguardWantsHandshake = 1;  // no usable sending keypair
inline constexpr uint8_t kWireguardWantsRekey = 2;      // REKEY_AFTER_{MESSAGES,TIME} passed

// One peer's slot: one cache line, read by egress, written by ingress at
// most every arrival_grain_cycles().
struct alignas(64) WireguardPeer {
  std::atomic<WireguardKeypair*> current{nullptr};
  std::atomic<uint8_t> wants{0};
  std::atomic<uint64_t> last_rx_tsc{0};       // the last authenticated packet's TSC, 0: none
  std::atomic<uint64_t> last_data_rx_tsc{0};  // likewise, keepalives aside
  std::atomic<uint64_t> last_tx_tsc{0};       // the last packet sealed to it (or sent by control)
  // Its outer source (wireguard_endpoint, wireguard_endpoint6), 0: none yet.
  std::atomic<uint64_t> endpoint{0};
  // An IPv6 endpoint's address, network order, written before `endpoint`,
  // which holds its hash: a reader tells a pair torn by two workers apart.
  std::array<std::atomic<uint64_t>, 2> endpoint_ip6{};
};
static_assert(sizeof(WireguardPeer) == 64, "a peer's slot is one cache line");

// A peer's endpoint as WireguardPeer keeps it, parts in network order. An
// IPv4 one: address << 16 | UDP port. An IPv6 one does not fit a word
// that is written at once: kWireguardEndpoint6 | the address's hash << 16
// | UDP port, the address itself in endpoint_ip6.
inline uint64_t wireguard_endpoint(uint32_t ip_be, uint16_t port_be) {
  return uint64_t{ip_be} << 16 | port_be;
}
inline constexpr uint64_t kWireguardEndpoint6 = uint64_t{1} << 63;
inline uint64_t wireguard_endpoint6(const std::array<uint64_t, 2>& ip, uint16_t port_be) {
  const uint32_t hash = rte_hash_crc_8byte(ip[1], rte_hash_crc_8byte(ip[0], port_be));
  return kWireguardEndpoint6 | uint64_t{hash} << 16 | port_be;
}
// Records that `peer`'s message came from [ip]:port (`ip`: 16 bytes), on
// a worker; written only when it changed.
inline void note_endpoint6(WireguardPeer& peer, const uint8_t* ip, uint16_t port_be) {
  std::array<uint64_t, 2> words;
  std::memcpy(words.data(), ip, 16);
  const uint64_t endpoint = wireguard_endpoint6(words, port_be);
  if (peer.endpoint.load(std::memory_order_relaxed) == endpoint &&
      peer.endpoint_ip6[0].load(std::memory_order_relaxed) == words[0] &&
      peer.endpoint_ip6[1].load(std::memory_order_relaxed) == words[1])
    return;
  peer.endpoint_ip6[0].store(words[0], std::memory_order_relaxed);
  peer.endpoint_ip6[1].store(words[1], std::memory_order_relaxed);
  peer.endpoint.store(endpoint, std::memory_order_release);
}

// A peer as the control side sees it.
struct WireguardPeerView {
  bool has_current = false;
  bool has_next = false;
  bool has_previous = false;
  uint8_t wants = 0;  // kWireguardWants* bits
  // How long ago, each as coarse as arrival_grain_cycles(); nullopt: never.
  std::optional<std::chrono::nanoseconds> since_last_rx;       // any authenticated packet
  std::optional<std::chrono::nanoseconds> since_last_data_rx;  // one that was not a keepalive
  std::optional<std::chrono::nanoseconds> since_last_tx;       // anything sent to the peer
  std::optional<std::chrono::nanoseconds> since_handshake;     // the latest keypair installed
  // The TSC stamps behind since_last_data_rx and since_last_tx (0: never),
  // for the control side's timers: a stamp that moved is traffic since it
  // last looked, and the two compare (which came last).
  uint64_t last_data_rx_tsc = 0;
  uint64_t last_tx_tsc = 0;
  IpAddr endpoint_ip;          // where it last sent from (with endpoint_port)
  uint16_t endpoint_port = 0;  // host order; 0: nothing received
  // The peer's transfer as wg show counts it: the workers' per-peer
  // counters (Engine fills them in).
  uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
};

class WireguardSessions {
 public:
  // `peers`: the next-hop capacity; `rcu`: the tables' (the workers
  // report to it).
  static Result<std::unique_ptr<WireguardSessions>> create(uint32_t peers, rte_rcu_qsbr* rcu,
                                                           const WireguardTimes& times);
  ~WireguardSessions();
  WireguardSessions(const WireguardSessions&) = delete;
  WireguardSessions& operator=(const WireguardSessions&) = delete;

  // Workers.
  WireguardPeer& peer(uint32_t slot) const { return peers_[slot]; }
  // The keypair `index` names; null when none does.
  WireguardKeypair* by_index(uint32_t index) const {
    WireguardKeypair* kp = by_index_[index & index_mask_].load(std::memory_order_acquire);
    return kp != nullptr && kp->local_index == index ? kp : nullptr;
  }
  uint64_t rekey_after_cycles() const { return rekey_after_cycles_; }
  uint64_t reject_after_cycles() const { return reject_after_cycles_; }
  // An initiator's keypair this old asks for a rekey when it receives
  // (whitepaper 6.2: REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT),
  // so a peer that only receives is rekeyed before the keypair expires.
  uint64_t rekey_on_receive_cycles() const { return rekey_on_receive_cycles_; }
  // How stale a peer's last-received time may be: its line is written at
  // most this often by each worker, not per packet.
  uint64_t arrival_grain_cycles() const { return arrival_grain_cycles_; }

  // Control thread only (the engine serialises callers).
  // An unused receiver index for a handshake: RESOURCE_EXHAUSTED when
  // every slot is taken.
  Result<uint32_t> reserve_index();
  // Gives back an index whose handshake came to nothing.
  void release_index(uint32_t index);
  // Publishes the keypair a handshake with peer `slot` completed, under
  // the index reserved for it: the initiator's becomes current (the old
  // current previous), the responder's next. Clears the peer's wants.
  Status install(uint32_t slot, const wireguard::Keypair& keypair, uint8_t families);
  // Something of the control thread's (a handshake message, a keepalive)
  // went to peer `slot` now.
  void sent(uint32_t slot);
  // Every keypair of peer `slot` goes (peer removed, key changed, its
  // next hop reused).
  void clear(uint32_t slot);
  WireguardPeerView view(uint32_t slot) const;
  // Returns the peer's wants and clears them.
  uint8_t take_wants(uint32_t slot);
  // Confirmed next keypairs become current; retired ones are freed after
  // their grace period.
  void tick();

 private:
  struct Held {
    WireguardKeypair* previous = nullptr;
    WireguardKeypair* next = nullptr;
    uint64_t handshake_tsc = 0;  // the latest keypair installed, 0: none
  };
  struct Retired {
    uint64_t token;
    WireguardKeypair* keypair;
  };
  WireguardSessions(uint32_t peers, rte_rcu_qsbr* rcu) : rcu_(rcu), held_(peers) {}
  void retire(WireguardKeypair* kp);
  void reclaim();

  rte_rcu_qsbr* rcu_;
  WireguardPeer* peers_ = nullptr;
  std::atomic<WireguardKeypair*>* by_index_ = nullptr;
  uint32_t index_mask_ = 0;
  uint64_t rekey_after_cycles_ = 0;
  uint64_t reject_after_cycles_ = 0;
  uint64_t rekey_on_receive_cycles_ = 0;
  uint64_t arrival_grain_cycles_ = 0;
  std::vector<Held> held_;  // per peer: what the workers do not read
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> reserved_;   // index slot -> the reserved index (0: none)
  std::set<uint32_t> pending_next_;  // peers whose next keypair awaits confirmation
  std::vector<Retired> retired_;
};

}  // namespace tartan
