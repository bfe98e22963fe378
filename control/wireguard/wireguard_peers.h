// The handshake side of the wireguard backend (whitepaper 5.4, 6): one
// Noise peer per routed wireguard node and device, made from its PublicKey
// and the network's PSK, keyed as the engine keys peers (the node's public
// IP of the device's family, whose next hop is the peer's slot): flannel's
// "separate" mode has a node's IPv4 pods behind flannel-wg, a peer named
// by its public-ip, and its IPv6 pods behind flannel-wg-v6, another peer
// (the same key, sessions of its own) named by its public-ipv6. A
// handshake message belongs to the device of the family it came in on. In
// the one-device modes a node is one peer, named by its address of the
// family the mode picked, whose messages may come over either family (one
// device listens on both). Answers the initiations and
// consumes the responses and cookie replies the workers hand over,
// installs completed keypairs in the engine, initiates when the workers
// want a session or a rekey (and when a peer appears), retries every
// REKEY_TIMEOUT plus jitter for up to REKEY_ATTEMPT_TIME, and sends
// keepalives: passive ones after unanswered data, persistent ones when the
// interval passed with nothing sent. A peer that roams is followed: its
// packets go where its authenticated packets came from. Handshake frames go out through the engine
// (Engine::wireguard_send, through the peer's next hop) to the peer's
// public IP and the Port of its backend-data (our ListenPort when it names
// none), as flannel sets a peer's endpoint.
//
// Under load (whitepaper 5.3, wireguard-go's RoutineHandshake): while the
// engine's handshake queue is deep, and for a second after, an initiation
// or response needs a valid mac2 or gets a cookie reply (to wherever it
// came from) instead of a DH; one with a valid mac2 is still rate-limited
// per sender address.
//
// Not a worker: one control thread calls set_peers() and tick(), with the
// time it gives (the tests step it).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "engine/engine.h"
#include "engine/status.h"
#include "engine/wireguard/cookie.h"
#include "engine/wireguard/handshake.h"
#include "engine/wireguard/peer.h"
#include "engine/wireguard/random.h"
#include "engine/wireguard/rate_limiter.h"
#include "engine/wireguard/reject.h"

namespace tartan {

struct WireguardSettings {
  wireguard::Key private_key{};
  wireguard::Key preshared_key{};  // all zero: none (as wireguard-go treats an unset PSK)
  std::chrono::seconds persistent_keepalive{0};  // 0: off
};

// A routed wireguard node on one device: its public IP of the device's
// family and its PublicKey.
struct WireguardPeerSpec {
  IpAddr public_ip;
  wireguard::Key public_key{};
};

struct WireguardHandshakeCounters {
  uint64_t initiations_sent = 0;
  uint64_t responses_sent = 0;
  uint64_t completed = 0;                // keypairs installed, as initiator or responder
  uint64_t cookie_replies = 0;           // cookie replies taken
  uint64_t cookie_replies_sent = 0;      // under load, to a message without a valid mac2
  uint64_t handshakes_rate_limited = 0;  // under load, over its sender's rate (mac2 valid)
  uint64_t attempts_expired = 0;         // no response within REKEY_ATTEMPT_TIME
  uint64_t keepalives_sent = 0;
  uint64_t send_failures = 0;  // the engine could not frame or queue a message
  uint64_t bad_peer_keys = 0;  // a PublicKey with which no handshake is safe
  std::array<uint64_t, wireguard::kRejectCount> rejected{};  // by wireguard::Reject
};

class WireguardPeers {
 public:
  using nanoseconds = std::chrono::nanoseconds;

  // INVALID_ARGUMENT when the private key has no public key.
  static Result<std::unique_ptr<WireguardPeers>> create(
      Engine& engine, const WireguardSettings& settings,
      wireguard::RandomSource random = wireguard::os_random);

  const wireguard::Key& public_key() const { return local_.public_key; }

  // The routed wireguard nodes as they are now. A new peer is initiated to
  // at once when our public key is the smaller, else after REKEY_TIMEOUT
  // unless it initiated first; a peer whose PublicKey changed starts over, its old keypairs
  // cleared; a peer no longer listed is forgotten.
  void set_peers(const std::vector<WireguardPeerSpec>& peers, nanoseconds now);

  // One round: handshake messages, the workers' wants, retries, keepalives.
  // `wall` stamps initiations (TAI64N).
  void tick(nanoseconds now, std::chrono::system_clock::time_point wall);

  const WireguardHandshakeCounters& counters() const { return counters_; }

 private:
  struct PeerState {
    wireguard::Peer noise;
    std::optional<uint32_t> pending_index;     // our initiation's receiver index
    std::optional<nanoseconds> attempt_start;  // REKEY_ATTEMPT_TIME counts from here
    nanoseconds next_initiation{0};
    // The peer's traffic in the engine as last seen (WireguardPeerView),
    // and on our clock when something last went to it and when a
    // keepalive is due for data it sent us (the kernel's send_keepalive
    // timer).
    uint64_t seen_tx_packets = 0;
    uint64_t seen_rx_packets = 0;
    uint64_t seen_tx_tsc = 0;
    std::optional<nanoseconds> last_sent;
    std::optional<nanoseconds> passive_keepalive_due;
    // Where the engine was last told to send to it (endpoint roaming).
    std::optional<std::pair<IpAddr, uint16_t>> endpoint;
  };
  WireguardPeers(Engine& engine, const WireguardSettings& settings,
                 const wireguard::LocalIdentity& local, wireguard::RandomSource random)
      : engine_(engine),
        settings_(settings),
        local_(local),
        checker_(local),
        random_(std::move(random)) {}

  // `backlog`: the messages still waiting behind this one.
  void on_message(const WireguardMessage& message, size_t backlog, nanoseconds now);
  bool under_load(size_t backlog, nanoseconds now);
  // Under load, whether an initiation or response (mac1 at `mac1_offset`)
  // may go on to its DH: else it was answered with a cookie reply, or
  // refused and counted.
  bool admit_loaded(const WireguardMessage& message, const wireguard::Arrival& arrival,
                    size_t mac1_offset);
  void on_initiation(const wireguard::Arrival& arrival, const WireguardMessage& message,
                     nanoseconds now);
  void on_response(const wireguard::Arrival& arrival, const WireguardMessage& message,
                   nanoseconds now);
  void on_cookie_reply(wireguard::Bytes packet, nanoseconds now);
  void initiate(const IpAddr& ip, PeerState& peer, nanoseconds now,
                std::chrono::system_clock::time_point wall);
  // Our initiation in flight is abandoned: its index goes back.
  void drop_pending(PeerState& peer);
  void end_attempt(PeerState& peer);
  // The kernel's keepalive timers (whitepaper 6.5): passive, KEEPALIVE_TIMEOUT
  // after data from the peer that nothing of ours followed; persistent,
  // after its interval with nothing sent.
  void keepalive_timers(const IpAddr& ip, PeerState& peer, const WireguardPeerView& view,
                        nanoseconds now);
  // Endpoint roaming (whitepaper 6.5): the peer's packets go to where its
  // authenticated packets (transport data, handshake messages) last came
  // from.
  void follow(const IpAddr& ip, PeerState& peer, const IpAddr& source, uint16_t port);
  void keepalive(const IpAddr& ip, PeerState& peer, nanoseconds now);
  void send(const IpAddr& ip, wireguard::Bytes message);
  void reject(wireguard::Reject reason) { ++counters_.rejected[static_cast<size_t>(reason)]; }
  // The peer of `public_key` on the device of `family` (IpAddr's index).
  PeerState* by_key(const wireguard::Key& public_key, size_t family, IpAddr* ip);

  Engine& engine_;
  const WireguardSettings settings_;
  const wireguard::LocalIdentity local_;
  wireguard::CookieChecker checker_;
  wireguard::RandomSource random_;
  std::map<IpAddr, PeerState> peers_;
  std::map<uint32_t, IpAddr> initiations_;  // pending receiver index -> peer
  wireguard::RateLimiter limiter_;
  nanoseconds next_limiter_sweep_{0};
  nanoseconds loaded_until_{0};
  WireguardHandshakeCounters counters_;
};

}  // namespace tartan
