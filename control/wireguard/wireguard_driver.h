// WireguardPeers on a control thread of its own (never a worker): a tick
// every few milliseconds, so handshake messages are answered promptly, and
// the peers resynchronised with the node mirror's routed wireguard nodes
// (public IP, PublicKey) every second.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "control/cluster/node_mirror.h"
#include "control/wireguard/wireguard_peers.h"

namespace tartan {

class WireguardDriver {
 public:
  // Starts the thread at once.
  WireguardDriver(std::unique_ptr<WireguardPeers> peers, const NodeMirror& mirror);
  ~WireguardDriver();  // stops the thread
  WireguardDriver(const WireguardDriver&) = delete;
  WireguardDriver& operator=(const WireguardDriver&) = delete;

  WireguardHandshakeCounters counters() const;

 private:
  void run();

  std::unique_ptr<WireguardPeers> peers_;
  const NodeMirror& mirror_;
  mutable std::mutex mu_;  // peers_ between the thread and counters()
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The routed wireguard nodes of `mirror`, as WireguardPeers takes them.
std::vector<WireguardPeerSpec> wireguard_peer_specs(const NodeMirror& mirror);

}  // namespace tartan
