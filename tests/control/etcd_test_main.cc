// The etcd suites' main: one EAL for the process, with room for the LPM
// tables of the several in-process nodes a test runs at once (64 MiB each).
#include <gtest/gtest.h>

#include "tests/support/dpdk_test_env.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  tartan::testing::init_test_eal({"-m", "2048"});
  return RUN_ALL_TESTS();
}
