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

// Puts the calling thread in a namespace until it goes: sockets made
// meanwhile (af_packet's among them) stay in it, and commands it runs
// (`ip` included) run in it.
class InNetns {
 public:
  explicit InNetns(const Netns& ns);
  ~InNetns();
  InNetns(const InNetns&) = delete;
  InNetns& operator=(const InNetns&) = delete;

 private:
  int own_ = -1;
};

}  // namespace tartan::testing
