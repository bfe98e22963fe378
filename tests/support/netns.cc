#include "tests/support/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <stdexcept>

#include "tests/support/process.h"

namespace tartan::testing {

Netns::Netns(const std::string& tag) : name_("tartan-" + tag + "-" + std::to_string(getpid())) {
  run_command({"ip", "netns", "del", name_});  // left over from a killed run
  const CommandResult r = run_command({"ip", "netns", "add", name_});
  if (r.exit_code != 0) throw std::runtime_error("ip netns add " + name_ + ": " + r.output);
  run_command({"ip", "-n", name_, "link", "set", "lo", "up"});
}

Netns::~Netns() {
  run_command({"ip", "netns", "del", name_});
}

std::vector<std::string> Netns::exec(const std::vector<std::string>& argv) const {
  std::vector<std::string> out{"ip", "netns", "exec", name_};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

InNetns::InNetns(const Netns& ns) {
  own_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  const int fd = open(("/var/run/netns/" + ns.name()).c_str(), O_RDONLY | O_CLOEXEC);
  const bool entered = own_ >= 0 && fd >= 0 && setns(fd, CLONE_NEWNET) == 0;
  if (fd >= 0) close(fd);
  if (!entered) {
    if (own_ >= 0) close(own_);
    throw std::runtime_error("cannot enter " + ns.name());
  }
}

InNetns::~InNetns() {
  setns(own_, CLONE_NEWNET);
  close(own_);
}

}  // namespace tartan::testing
