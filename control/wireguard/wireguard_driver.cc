#include "control/wireguard/wireguard_driver.h"

#include <chrono>

namespace tartan {

namespace {

using namespace std::chrono_literals;

// Handshake messages wait at most this long for an answer.
constexpr auto kTick = 5ms;
// New, changed and gone nodes are followed this often.
constexpr auto kResync = 1s;

}  // namespace

std::vector<WireguardPeerSpec> wireguard_peer_specs(const NodeMirror& mirror) {
  std::vector<WireguardPeerSpec> out;
  for (const NodeRecord& r : mirror.routed()) {
    for (const NodeWireguardPeer& p : wireguard_peers_of(r.status))
      out.push_back({p.public_ip, p.public_key});
  }
  return out;
}

WireguardDriver::WireguardDriver(std::unique_ptr<WireguardPeers> peers, const NodeMirror& mirror)
    : peers_(std::move(peers)), mirror_(mirror), thread_([this] { run(); }) {}

WireguardDriver::~WireguardDriver() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

WireguardHandshakeCounters WireguardDriver::counters() const {
  std::lock_guard lock(mu_);
  return peers_->counters();
}

void WireguardDriver::run() {
  auto next_resync = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  while (!stop_) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_resync) {
      // The mirror's lock is not taken under ours for long: a copy first.
      lock.unlock();
      const auto specs = wireguard_peer_specs(mirror_);
      lock.lock();
      peers_->set_peers(specs, now.time_since_epoch());
      next_resync = now + kResync;
    }
    peers_->tick(now.time_since_epoch(), std::chrono::system_clock::now());
    stop_cv_.wait_for(lock, kTick, [this] { return stop_; });
  }
}

}  // namespace tartan
