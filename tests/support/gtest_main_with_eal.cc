#include <gtest/gtest.h>

#include "tests/support/dpdk_test_env.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  tartan::testing::init_test_eal();
  return RUN_ALL_TESTS();
}
