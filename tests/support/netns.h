// A network namespace owned by a test: created on construction, deleted
// (with everything in it) on destruction.
#pragma once

#include <string>
#include <vector>

namespace tartan::testing {

class Netns {
 public:
  explicit Netns(const std::string& tag);  // name: "tartan-<tag>-<pid>"
  ~Netns();
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  const std::string& name() const { return name_; }
  // argv prefixed with `ip netns exec <name>`.
  std::vector<std::string> exec(const std::vector<std::string>& argv) const;

 private:
  std::string name_;
};

}  // namespace tartan::testing
