#include "tests/support/dpdk_test_env.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "engine/eal.h"

namespace tartan::testing {

void init_test_eal(const std::vector<std::string>& extra) {
  static std::unique_ptr<Eal> eal;
  if (eal) return;
  std::vector<std::string> args{"tartan-test",   "-l",
                                "0,1",           "--no-huge",
                                "--no-shconf",   "-m",
                                "512",           "--no-pci",
                                "--file-prefix", "tartan-test-" + std::to_string(getpid()),
                                "--log-level",   "lib.eal:error"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto result = Eal::init(args);
  if (!result) {
    std::fprintf(stderr, "test EAL initialisation failed: %s\n", result.status().message().c_str());
    std::abort();
  }
  eal = std::move(result).value();
}

std::string build_root() {
  const char* root = std::getenv("TARTAN_BUILD_ROOT");
  return root ? root : ".";
}

}  // namespace tartan::testing
