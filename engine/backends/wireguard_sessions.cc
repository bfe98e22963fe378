#include "engine/backends/wireguard_sessions.h"

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_malloc.h>

#include <algorithm>
#include <new>
#include <string>

#include "engine/wireguard/constants.h"
#include "engine/wireguard/random.h"

namespace tartan {
namespace {

uint64_t cycles(std::chrono::nanoseconds d) {
  return static_cast<uint64_t>(static_cast<double>(d.count()) * 1e-9 *
                               static_cast<double>(rte_get_tsc_hz()));
}

// How long before `now` the TSC stamp `at` was; nullopt for 0 (never).
std::optional<std::chrono::nanoseconds> since(uint64_t at, uint64_t now) {
  if (at == 0) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(now - at) * 1e9 /
                                                       static_cast<double>(rte_get_tsc_hz())));
}

uint32_t random_u32() {
  uint32_t r;
  wireguard::os_random({reinterpret_cast<uint8_t*>(&r), sizeof r});
  return r;
}

}  // namespace

Result<std::unique_ptr<WireguardSessions>> WireguardSessions::create(uint32_t peers,
                                                                     rte_rcu_qsbr* rcu,
                                                                     const WireguardTimes& times) {
  std::unique_ptr<WireguardSessions> s(new WireguardSessions(peers, rcu));
  s->peers_ = static_cast<WireguardPeer*>(
      rte_zmalloc("tartan_wg_peers", sizeof(WireguardPeer) * peers, RTE_CACHE_LINE_SIZE));
  // Three keypairs a peer and a handshake or two under way; slot 0 is
  // never used, so no index is 0.
  const uint32_t slots = rte_align32pow2(std::max<uint32_t>(4 * peers + 1, 64));
  s->by_index_ = static_cast<std::atomic<WireguardKeypair*>*>(rte_zmalloc(
      "tartan_wg_indexes", sizeof(std::atomic<WireguardKeypair*>) * slots, RTE_CACHE_LINE_SIZE));
  if (s->peers_ == nullptr || s->by_index_ == nullptr)
    return Status(ErrorCode::kResourceExhausted, "cannot allocate the wireguard session table");
  s->index_mask_ = slots - 1;
  s->reserved_.assign(slots, 0);
  for (uint32_t i = slots - 1; i >= 1; --i) s->free_slots_.push_back(i);
  s->rekey_after_cycles_ = cycles(times.rekey_after);
  s->reject_after_cycles_ = cycles(times.reject_after);
  s->rekey_on_receive_cycles_ = cycles(std::max<std::chrono::nanoseconds>(
      times.reject_after - wireguard::kKeepaliveTimeout - wireguard::kRekeyTimeout, {}));
  s->arrival_grain_cycles_ = rte_get_tsc_hz() / 64;
  return s;
}

WireguardSessions::~WireguardSessions() {
  // The workers are gone: nothing waits for a grace period.
  for (uint32_t i = 0; i <= index_mask_ && by_index_ != nullptr; ++i) {
    WireguardKeypair* kp = by_index_[i].load(std::memory_order_relaxed);
    if (kp != nullptr) {
      kp->~WireguardKeypair();
      rte_free(kp);
    }
  }
  for (const Retired& r : retired_) {
    r.keypair->~WireguardKeypair();
    rte_free(r.keypair);
  }
  rte_free(by_index_);
  rte_free(peers_);
}

Result<uint32_t> WireguardSessions::reserve_index() {
  if (free_slots_.empty()) reclaim();
  if (free_slots_.empty())
    return Status(ErrorCode::kResourceExhausted, "every wireguard receiver index is in use");
  const uint32_t slot = free_slots_.back();
  free_slots_.pop_back();
  const uint32_t index = (random_u32() & ~index_mask_) | slot;
  reserved_[slot] = index;
  return index;
}

void WireguardSessions::release_index(uint32_t index) {
  const uint32_t slot = index & index_mask_;
  if (slot == 0 || reserved_[slot] != index) return;
  if (by_index_[slot].load(std::memory_order_relaxed) != nullptr) return;  // installed
  reserved_[slot] = 0;
  free_slots_.push_back(slot);
}

Status WireguardSessions::install(uint32_t slot, const wireguard::Keypair& keypair,
                                  uint8_t families) {
  const uint32_t index = keypair.local_index;
  const uint32_t islot = index & index_mask_;
  if (islot == 0 || reserved_[islot] != index ||
      by_index_[islot].load(std::memory_order_relaxed) != nullptr) {
    return Status::invalid("local_index: " + std::to_string(index) +
                           " was not reserved for a handshake (or is in use)");
  }
  void* mem = rte_zmalloc("tartan_wg_keypair", sizeof(WireguardKeypair), RTE_CACHE_LINE_SIZE);
  if (mem == nullptr) return Status(ErrorCode::kResourceExhausted, "cannot allocate a keypair");
  auto* kp = new (mem) WireguardKeypair;
  kp->send_key = keypair.sending.key;
  kp->receive_key = keypair.receiving.key;
  kp->remote_index = keypair.sending.remote_index;
  kp->local_index = index;
  kp->peer = slot;
  kp->initiator = keypair.initiator;
  kp->families = families;
  kp->birth_tsc = rte_rdtsc();
  held_[slot].handshake_tsc = kp->birth_tsc;
  kp->send_counter.store(keypair.sending.next_counter, std::memory_order_relaxed);
  by_index_[islot].store(kp, std::memory_order_release);
  WireguardPeer& p = peers_[slot];
  Held& h = held_[slot];
  if (keypair.initiator) {
    // Whitepaper 5.4.5: the initiator sends on its new keypair at once.
    retire(h.previous);
    if (h.next != nullptr) {
      retire(h.next);
      h.next = nullptr;
      pending_next_.erase(slot);
    }
    h.previous = p.current.exchange(kp, std::memory_order_acq_rel);
  } else {
    // The responder waits for the initiator's first packet on it.
    retire(h.next);
    h.next = kp;
    pending_next_.insert(slot);
  }
  p.wants.store(0, std::memory_order_relaxed);
  return {};
}

void WireguardSessions::sent(uint32_t slot) {
  peers_[slot].last_tx_tsc.store(rte_rdtsc(), std::memory_order_relaxed);
}

void WireguardSessions::clear(uint32_t slot) {
  WireguardPeer& p = peers_[slot];
  Held& h = held_[slot];
  retire(p.current.exchange(nullptr, std::memory_order_acq_rel));
  retire(h.previous);
  retire(h.next);
  h = Held{};
  pending_next_.erase(slot);
  p.wants.store(0, std::memory_order_relaxed);
  p.last_rx_tsc.store(0, std::memory_order_relaxed);
  p.last_data_rx_tsc.store(0, std::memory_order_relaxed);
  p.last_tx_tsc.store(0, std::memory_order_relaxed);
  p.endpoint.store(0, std::memory_order_relaxed);
}

WireguardPeerView WireguardSessions::view(uint32_t slot) const {
  const WireguardPeer& p = peers_[slot];
  const Held& h = held_[slot];
  WireguardPeerView v;
  v.has_current = p.current.load(std::memory_order_relaxed) != nullptr;
  v.has_next = h.next != nullptr;
  v.has_previous = h.previous != nullptr;
  v.wants = p.wants.load(std::memory_order_relaxed);
  const uint64_t now = rte_rdtsc();
  v.last_data_rx_tsc = p.last_data_rx_tsc.load(std::memory_order_relaxed);
  v.last_tx_tsc = p.last_tx_tsc.load(std::memory_order_relaxed);
  v.since_last_rx = since(p.last_rx_tsc.load(std::memory_order_relaxed), now);
  v.since_last_data_rx = since(v.last_data_rx_tsc, now);
  v.since_last_tx = since(v.last_tx_tsc, now);
  v.since_handshake = since(h.handshake_tsc, now);
  // An IPv6 endpoint whose address does not match its hash is being
  // rewritten by another worker: read again (a few times; then it shows as
  // nothing received until next time).
  for (int attempt = 0; attempt < 4; ++attempt) {
    const uint64_t endpoint = p.endpoint.load(std::memory_order_acquire);
    const auto port_be = static_cast<uint16_t>(endpoint);
    if ((endpoint & kWireguardEndpoint6) == 0) {
      v.endpoint_ip = Ipv4Addr::from_be(static_cast<uint32_t>(endpoint >> 16));
      v.endpoint_port = rte_be_to_cpu_16(port_be);
      break;
    }
    const std::array<uint64_t, 2> ip{p.endpoint_ip6[0].load(std::memory_order_relaxed),
                                     p.endpoint_ip6[1].load(std::memory_order_relaxed)};
    if (wireguard_endpoint6(ip, port_be) != endpoint) continue;
    Ipv6Addr a;
    std::memcpy(a.bytes.data(), ip.data(), 16);
    v.endpoint_ip = a;
    v.endpoint_port = rte_be_to_cpu_16(port_be);
    break;
  }
  return v;
}

uint8_t WireguardSessions::take_wants(uint32_t slot) {
  return peers_[slot].wants.exchange(0, std::memory_order_relaxed);
}

void WireguardSessions::tick() {
  for (auto it = pending_next_.begin(); it != pending_next_.end();) {
    const uint32_t slot = *it;
    Held& h = held_[slot];
    if (!h.next->received.load(std::memory_order_acquire)) {
      ++it;
      continue;
    }
    retire(h.previous);
    h.previous = peers_[slot].current.exchange(h.next, std::memory_order_acq_rel);
    h.next = nullptr;
    it = pending_next_.erase(it);
  }
  reclaim();
}

void WireguardSessions::retire(WireguardKeypair* kp) {
  if (kp == nullptr) return;
  const uint32_t islot = kp->local_index & index_mask_;
  by_index_[islot].store(nullptr, std::memory_order_release);
  retired_.push_back({rte_rcu_qsbr_start(rcu_), kp});
}

void WireguardSessions::reclaim() {
  size_t kept = 0;
  for (const Retired& r : retired_) {
    if (rte_rcu_qsbr_check(rcu_, r.token, false) != 1) {
      retired_[kept++] = r;
      continue;
    }
    const uint32_t islot = r.keypair->local_index & index_mask_;
    r.keypair->~WireguardKeypair();
    rte_free(r.keypair);
    reserved_[islot] = 0;
    free_slots_.push_back(islot);
  }
  retired_.resize(kept);
}

}  // namespace tartan
