#include "control/cluster/readiness.h"

namespace tartan {

Readiness::Readiness(const std::vector<std::string>& names) {
  for (const auto& n : names) conditions_.push_back({n, false, "not yet"});
}

void Readiness::set(const std::string& name, bool ok, std::string message) {
  std::lock_guard lock(mu_);
  for (auto& c : conditions_) {
    if (c.name == name) {
      c.ok = ok;
      c.message = std::move(message);
      return;
    }
  }
  conditions_.push_back({name, ok, std::move(message)});
}

std::vector<ReadinessCondition> Readiness::conditions() const {
  std::lock_guard lock(mu_);
  return conditions_;
}

bool Readiness::ready() const {
  std::lock_guard lock(mu_);
  for (const auto& c : conditions_) {
    if (!c.ok) return false;
  }
  return true;
}

uint64_t Readiness::uptime_seconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                          started_)
      .count();
}

}  // namespace tartan
