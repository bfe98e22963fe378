#include "control/wireguard/wireguard_peers.h"

#include <cstring>

#include "engine/wireguard/constants.h"
#include "engine/wireguard/tai64n.h"

namespace tartan {

namespace wg = wireguard;

namespace {

// wireguard-go's: under load while an eighth of its handshake queue
// waits, and for a second after.
constexpr size_t kLoadedBacklog = Engine::kMaxWireguardMessages / 8;
constexpr auto kUnderLoadAfterTime = std::chrono::seconds(1);

}  // namespace

Result<std::unique_ptr<WireguardPeers>> WireguardPeers::create(Engine& engine,
                                                               const WireguardSettings& settings,
                                                               wg::RandomSource random) {
  auto local = wg::LocalIdentity::from_private_key(settings.private_key);
  if (!local) return Status::invalid("the wireguard private key has no public key");
  return std::unique_ptr<WireguardPeers>(
      new WireguardPeers(engine, settings, *local, std::move(random)));
}

void WireguardPeers::set_peers(const std::vector<WireguardPeerSpec>& peers, nanoseconds now) {
  std::map<IpAddr, wg::Key> listed;
  for (const WireguardPeerSpec& p : peers) listed[p.public_ip] = p.public_key;
  for (auto it = peers_.begin(); it != peers_.end();) {
    const auto l = listed.find(it->first);
    if (l != listed.end() && l->second == it->second.noise.public_key) {
      ++it;
      continue;
    }
    // A new key is a new peer (flannel's cleanupEndpointPeers): nothing
    // agreed with the old one may be used. A node gone has no slot left.
    if (l != listed.end()) (void)engine_.wireguard_clear(it->first);
    end_attempt(it->second);
    it = peers_.erase(it);
  }
  for (const auto& [ip, key] : listed) {
    if (peers_.contains(ip)) continue;
    auto noise = wg::Peer::create(local_, key, settings_.preshared_key);
    if (!noise) {
      ++counters_.bad_peer_keys;
      continue;
    }
    PeerState& state = peers_.emplace(ip, PeerState{*noise}).first->second;
    // Two nodes that meet initiate to each other at once, and each answer
    // replaces the answerer's own initiation: neither would complete. The
    // smaller public key goes first; the other initiates only if nothing
    // came within REKEY_TIMEOUT (a peer that waits for traffic, as
    // wireguard-go does without a persistent keepalive).
    state.attempt_start = now;
    state.next_initiation = local_.public_key < key ? now : now + wg::kRekeyTimeout;
  }
}

void WireguardPeers::tick(nanoseconds now, std::chrono::system_clock::time_point wall) {
  const std::vector<WireguardMessage> messages = engine_.take_wireguard_messages();
  for (size_t i = 0; i < messages.size(); ++i)
    on_message(messages[i], messages.size() - i - 1, now);
  if (now >= next_limiter_sweep_) {
    limiter_.forget_idle(now);
    next_limiter_sweep_ = now + kUnderLoadAfterTime;
  }
  for (auto& [ip, peer] : peers_) {
    const auto wants = engine_.wireguard_take_wants(ip);
    if (peer.attempt_start) {
      if (now - *peer.attempt_start >= wg::kRekeyAttemptTime) {
        end_attempt(peer);
        ++counters_.attempts_expired;
      } else if (now >= peer.next_initiation) {
        initiate(ip, peer, now, wall);
      }
    } else if (wants.ok() && *wants != 0) {
      peer.attempt_start = now;
      initiate(ip, peer, now, wall);
    }
    const auto view = engine_.wireguard_peer(ip);
    if (!view.ok()) continue;
    if (view->endpoint_port != 0) follow(ip, peer, view->endpoint_ip, view->endpoint_port);
    keepalive_timers(ip, peer, *view, now);
  }
}

void WireguardPeers::follow(const IpAddr& ip, PeerState& peer, const IpAddr& source,
                            uint16_t port) {
  // A next hop sends over its own family only (Mode separate: flannel-wg's
  // IPv4, flannel-wg-v6's IPv6; the one-device modes: the family the mode
  // picked, whose packets the peer follows): the other family is not
  // followed.
  if (source.index() != ip.index()) return;
  if (peer.endpoint && *peer.endpoint == std::pair{source, port}) return;
  const Status s = engine_.wireguard_set_endpoint(ip, source, port);
  // UNAVAILABLE: the last change is still read; the next tick tries again.
  if (s.code() == ErrorCode::kUnavailable) return;
  if (!s.ok()) ++counters_.send_failures;
  peer.endpoint = {{source, port}};
}

void WireguardPeers::keepalive_timers(const IpAddr& ip, PeerState& peer,
                                      const WireguardPeerView& view, nanoseconds now) {
  // The workers' packet counters are exact; the stamp moves for what this
  // thread sent (handshake messages, keepalives) too. Received data counts
  // packets delivered (keepalives are not).
  const bool sent = view.tx_packets != peer.seen_tx_packets || view.last_tx_tsc != peer.seen_tx_tsc;
  const bool received = view.rx_packets != peer.seen_rx_packets;
  peer.seen_tx_packets = view.tx_packets;
  peer.seen_rx_packets = view.rx_packets;
  peer.seen_tx_tsc = view.last_tx_tsc;
  if (sent) peer.last_sent = now;
  // Both since the last look: the stamps (as coarse as the workers keep
  // them) say which came last.
  if (received && !(sent && view.last_tx_tsc >= view.last_data_rx_tsc)) {
    // The first unanswered data starts the timer; more data does not move it.
    if (!peer.passive_keepalive_due) peer.passive_keepalive_due = now + wg::kKeepaliveTimeout;
  } else if (sent) {
    peer.passive_keepalive_due.reset();
  }
  const bool passive_due = peer.passive_keepalive_due && now >= *peer.passive_keepalive_due;
  const bool persistent_due =
      settings_.persistent_keepalive.count() != 0 &&
      (!peer.last_sent || now - *peer.last_sent >= settings_.persistent_keepalive);
  if (!passive_due && !persistent_due) return;
  peer.passive_keepalive_due.reset();
  // Tried, whatever comes of it: the next try is an interval away.
  peer.last_sent = now;
  keepalive(ip, peer, now);
}

bool WireguardPeers::under_load(size_t backlog, nanoseconds now) {
  if (backlog >= kLoadedBacklog) loaded_until_ = now + kUnderLoadAfterTime;
  return now < loaded_until_;
}

bool WireguardPeers::admit_loaded(const WireguardMessage& message, const wg::Arrival& arrival,
                                  size_t mac1_offset) {
  const auto refused =
      checker_.check(arrival.packet, mac1_offset, arrival.source, true, arrival.now);
  if (refused == wg::Reject::kCookieRequired) {
    // The sender proves it receives at its address by using the cookie
    // (whitepaper 5.4.7); the reply names its sender index.
    const wg::CookieReply reply =
        checker_.create_reply(arrival.packet, mac1_offset, wg::load_le32(arrival.packet.data() + 4),
                              arrival.source, arrival.now, random_);
    if (engine_.wireguard_reply(message, wg::as_bytes(reply)).ok())
      ++counters_.cookie_replies_sent;
    else
      ++counters_.send_failures;
    return false;
  }
  if (refused) {
    reject(*refused);
    return false;
  }
  if (!limiter_.allow(message.source, arrival.now)) {
    ++counters_.handshakes_rate_limited;
    return false;
  }
  return true;
}

void WireguardPeers::on_message(const WireguardMessage& message, size_t backlog, nanoseconds now) {
  // Cookies are keyed by the sender's address and port (network order),
  // as wireguard-go keys them.
  std::array<uint8_t, 18> source;
  size_t address_len = 4;
  if (const auto* v4 = std::get_if<Ipv4Addr>(&message.source)) {
    const uint32_t ip_be = v4->be();
    std::memcpy(source.data(), &ip_be, 4);
  } else {
    address_len = 16;
    std::memcpy(source.data(), std::get<Ipv6Addr>(message.source).bytes.data(), 16);
  }
  source[address_len] = static_cast<uint8_t>(message.source_port >> 8);
  source[address_len + 1] = static_cast<uint8_t>(message.source_port);
  const wg::Arrival arrival{message.bytes, wg::Bytes(source.data(), address_len + 2),
                            under_load(backlog, now), now};
  switch (static_cast<wg::MessageType>(wg::message_type(message.bytes))) {
    case wg::MessageType::kInitiation:
      if (arrival.under_load && !admit_loaded(message, arrival, wg::kMac1Offset<wg::Initiation>))
        return;
      return on_initiation(arrival, message, now);
    case wg::MessageType::kResponse:
      if (arrival.under_load && !admit_loaded(message, arrival, wg::kMac1Offset<wg::Response>))
        return;
      return on_response(arrival, message, now);
    case wg::MessageType::kCookieReply:
      return on_cookie_reply(message.bytes, now);
    default:
      return reject(wg::Reject::kWrongType);
  }
}

WireguardPeers::PeerState* WireguardPeers::by_key(const wg::Key& public_key, size_t family,
                                                  IpAddr* ip) {
  // One device (flannel's one-device modes) hears its peers over either
  // family: flannel's auto may reach us over the family we do not reach
  // it over.
  const bool any_family = engine_.config().dataplane.wireguard_one_device;
  for (auto& [addr, peer] : peers_) {
    if ((!any_family && addr.index() != family) || peer.noise.public_key != public_key) continue;
    *ip = addr;
    return &peer;
  }
  return nullptr;
}

void WireguardPeers::on_initiation(const wg::Arrival& arrival, const WireguardMessage& message,
                                   nanoseconds now) {
  IpAddr ip;
  PeerState* state = nullptr;
  auto consumed = wg::consume_initiation(local_, checker_, arrival, [&](const wg::Key& key) {
    state = by_key(key, message.source.index(), &ip);
    return state != nullptr ? &state->noise : nullptr;
  });
  if (!consumed) return reject(consumed.reason());
  // The response goes where the initiation came from.
  follow(ip, *state, message.source, message.source_port);
  // Answering replaces our own initiation's state: the peer completes the
  // handshake, and its first packet confirms our keypair.
  end_attempt(*state);
  auto index = engine_.wireguard_reserve_index();
  if (!index) {
    ++counters_.send_failures;
    return;
  }
  auto response = wg::create_response(state->noise, *index, now, random_);
  if (!response) {
    engine_.wireguard_release_index(*index);
    return reject(response.reason());
  }
  if (!engine_.wireguard_install(ip, response->keypair).ok()) {
    engine_.wireguard_release_index(*index);
    ++counters_.send_failures;
    return;
  }
  ++counters_.completed;
  ++counters_.responses_sent;
  send(ip, wg::as_bytes(response->message));
}

void WireguardPeers::on_response(const wg::Arrival& arrival, const WireguardMessage& message,
                                 nanoseconds now) {
  auto consumed = wg::consume_response(local_, checker_, arrival, [&](uint32_t index) {
    const auto it = initiations_.find(index);
    return it != initiations_.end() ? &peers_.at(it->second).noise : nullptr;
  });
  if (!consumed) return reject(consumed.reason());
  const uint32_t index = consumed->keypair.local_index;
  const IpAddr ip = initiations_.at(index);
  PeerState& peer = peers_.at(ip);
  initiations_.erase(index);
  peer.pending_index.reset();  // the keypair holds it now
  peer.attempt_start.reset();
  follow(ip, peer, message.source, message.source_port);
  if (!engine_.wireguard_install(ip, consumed->keypair).ok()) {
    engine_.wireguard_release_index(index);
    ++counters_.send_failures;
    return;
  }
  ++counters_.completed;
  // The initiator sends first: a keepalive confirms the responder's keypair
  // when no packet of ours is waiting.
  keepalive(ip, peer, now);
}

void WireguardPeers::on_cookie_reply(wg::Bytes packet, nanoseconds now) {
  if (packet.size() != sizeof(wg::CookieReply)) return reject(wg::Reject::kWrongSize);
  const auto it = initiations_.find(wg::load_le32(packet.data() + 4));
  if (it == initiations_.end()) return reject(wg::Reject::kUnknownReceiver);
  auto taken = wg::consume_cookie_reply(peers_.at(it->second).noise, packet, now);
  if (!taken) return reject(taken.reason());
  ++counters_.cookie_replies;
}

void WireguardPeers::initiate(const IpAddr& ip, PeerState& peer, nanoseconds now,
                              std::chrono::system_clock::time_point wall) {
  drop_pending(peer);
  std::array<uint8_t, 2> draw;
  random_(draw);
  const auto jitter =
      std::chrono::milliseconds((draw[0] << 8 | draw[1]) % wg::kRekeyTimeoutJitterMax.count());
  peer.next_initiation = now + wg::kRekeyTimeout + jitter;
  auto index = engine_.wireguard_reserve_index();
  if (!index) {
    ++counters_.send_failures;
    return;
  }
  auto initiation =
      wg::create_initiation(local_, peer.noise, *index, wg::tai64n(wall), now, random_);
  if (!initiation) {
    engine_.wireguard_release_index(*index);
    return reject(initiation.reason());
  }
  peer.pending_index = *index;
  initiations_[*index] = ip;
  ++counters_.initiations_sent;
  send(ip, wg::as_bytes(*initiation));
}

void WireguardPeers::drop_pending(PeerState& peer) {
  if (!peer.pending_index) return;
  engine_.wireguard_release_index(*peer.pending_index);
  initiations_.erase(*peer.pending_index);
  peer.pending_index.reset();
}

void WireguardPeers::end_attempt(PeerState& peer) {
  drop_pending(peer);
  peer.attempt_start.reset();
}

void WireguardPeers::keepalive(const IpAddr& ip, PeerState& peer, nanoseconds now) {
  const Status s = engine_.wireguard_send_keepalive(ip);
  if (s.ok()) {
    ++counters_.keepalives_sent;
    return;
  }
  // No session to keep alive: make one, as a packet waiting for it would.
  if (s.code() == ErrorCode::kFailedPrecondition && !peer.attempt_start) {
    peer.attempt_start = now;
    peer.next_initiation = now;
  } else if (s.code() != ErrorCode::kFailedPrecondition) {
    ++counters_.send_failures;
  }
}

void WireguardPeers::send(const IpAddr& ip, wg::Bytes message) {
  if (!engine_.wireguard_send(ip, message).ok()) ++counters_.send_failures;
}

}  // namespace tartan
