// The flow tests' main: an EAL with lcores 0 (main) and 1-3 (workers),
// mapped onto the CPUs there are, so engines with several workers can be
// built, polled and run on a two-core machine.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

#include "engine/eal.h"
#include "tests/support/engine_fixture.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const unsigned worker_cpu = std::thread::hardware_concurrency() > 1 ? 1 : 0;
  auto eal = tartan::Eal::init(
      {"tartan-flow-test", "--lcores", "0@0,(1-3)@" + std::to_string(worker_cpu), "--no-huge",
       "--no-shconf", "-m", "512", "--no-pci", "--file-prefix",
       "tartan-flow-test-" + std::to_string(getpid()), "--log-level", "lib.eal:error"});
  if (!eal) {
    std::fprintf(stderr, "EAL initialisation failed: %s\n", eal.status().message().c_str());
    return EXIT_FAILURE;
  }
  tartan::testing::EngineFixture::set_books_handler(
      [](const std::string& problems) { ADD_FAILURE() << problems; });
  const int rc = RUN_ALL_TESTS();
  return rc;
}
