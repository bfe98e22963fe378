#include "control/http/control_loop_probe.h"

namespace tartan {

ControlLoopProbe::ControlLoopProbe(std::function<void()> check, std::chrono::milliseconds deadline)
    : check_(std::move(check)), deadline_(deadline), thread_([this] { run(); }) {}

ControlLoopProbe::~ControlLoopProbe() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool ControlLoopProbe::answers() {
  std::unique_lock lock(mu_);
  const uint64_t ticket = ++requested_;
  cv_.notify_all();
  return cv_.wait_for(lock, deadline_, [&] { return completed_ >= ticket; }) && last_ok_;
}

void ControlLoopProbe::run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || requested_ > completed_; });
    if (stop_) return;
    const uint64_t covers = requested_;  // every request made before the check starts
    lock.unlock();
    bool ok = true;
    try {
      check_();
    } catch (...) {  // not out of this thread; the caller hears "no answer"
      ok = false;
    }
    lock.lock();
    completed_ = covers;
    last_ok_ = ok;
    cv_.notify_all();
  }
}

}  // namespace tartan
