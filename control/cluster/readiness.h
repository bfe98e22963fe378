// What tartand's readiness is made of: named conditions that the daemon sets
// as it comes up (and down), read by the Health API.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

namespace tartan {

struct ReadinessCondition {
  std::string name;
  bool ok = false;
  std::string message;
};

class Readiness {
 public:
  // Declares the conditions, all initially false, in reporting order.
  explicit Readiness(const std::vector<std::string>& names);

  void set(const std::string& name, bool ok, std::string message = "");
  std::vector<ReadinessCondition> conditions() const;
  bool ready() const;
  uint64_t uptime_seconds() const;

 private:
  mutable std::mutex mu_;
  std::vector<ReadinessCondition> conditions_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace tartan
