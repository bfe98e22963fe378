// Watches the overlay tap's kernel interface: when someone deletes it
// (`ip link del flannel.1`) the tap port is probed again, which creates the
// interface anew, and the host side (address, MTU, neighbours, routes) is
// programmed into it again; when someone changes its MTU or MAC, they are
// put back (HostNetwork::restore_link). Each is logged. Polls: a tap is
// changed rarely, and a poll costs an ioctl and a netlink request.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "control/host/host_network.h"
#include "engine/engine.h"

namespace tartan {

class TapWatchdog {
 public:
  // `port` is the engine's index of the tap port behind `host`.
  TapWatchdog(Engine& engine, size_t port, HostNetwork& host,
              std::chrono::milliseconds interval = std::chrono::milliseconds(500));
  ~TapWatchdog();  // stops
  TapWatchdog(const TapWatchdog&) = delete;
  TapWatchdog& operator=(const TapWatchdog&) = delete;

 private:
  void run();
  void check();

  Engine& engine_;
  const size_t port_;
  HostNetwork& host_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace tartan
