#include "control/host/tap_watchdog.h"

#include <net/if.h>

#include "engine/log.h"

namespace tartan {

TapWatchdog::TapWatchdog(Engine& engine, size_t port, HostNetwork& host,
                         std::chrono::milliseconds interval)
    : engine_(engine), port_(port), host_(host), interval_(interval) {
  thread_ = std::thread([this] { run(); });
}

TapWatchdog::~TapWatchdog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void TapWatchdog::run() {
  std::unique_lock lock(mu_);
  while (!wake_.wait_for(lock, interval_, [this] { return stop_; })) {
    lock.unlock();
    check();
    lock.lock();
  }
}

void TapWatchdog::check() {
  const std::string& name = host_.ifname();
  if (static_cast<int>(if_nametoindex(name.c_str())) == host_.ifindex()) {
    const auto restored = host_.restore_link();
    if (!restored) {
      TARTAN_LOG(ERR, kControl, "overlay interface %s: %s", name.c_str(),
                 restored.status().message().c_str());
    } else if (!restored->empty()) {
      TARTAN_LOG(WARNING, kControl, "overlay interface %s: %s", name.c_str(), restored->c_str());
    }
    return;
  }
  TARTAN_LOG(WARNING, kControl, "overlay interface %s was deleted from outside: creating it again",
             name.c_str());
  if (Status s = engine_.reopen_port(port_); !s.ok()) {
    TARTAN_LOG(ERR, kControl, "overlay interface %s: %s", name.c_str(), s.message().c_str());
    return;
  }
  if (Status s = host_.reattach(); !s.ok()) {
    TARTAN_LOG(ERR, kControl, "overlay interface %s: %s", name.c_str(), s.message().c_str());
    return;
  }
  TARTAN_LOG(NOTICE, kControl, "overlay interface %s is back with its address and routes",
             name.c_str());
}

}  // namespace tartan
