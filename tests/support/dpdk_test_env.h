// One EAL per test (or benchmark) process: --no-huge, in memory, a unique
// file prefix, lcores 0 and 1, no PCI. Ports are made by the tests.
#pragma once

#include <string>
#include <vector>

namespace tartan::testing {

// Initialises EAL once; aborts the process if that fails (nothing can run).
// `extra` is appended to the EAL arguments (e.g. --vdev ...).
void init_test_eal(const std::vector<std::string>& extra = {});

// Where the test binaries live (meson's build root), from $TARTAN_BUILD_ROOT.
std::string build_root();

}  // namespace tartan::testing
