#include "tests/support/netns.h"

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

}  // namespace tartan::testing
