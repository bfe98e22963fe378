#include <gtest/gtest.h>

#include "tests/support/dpdk_test_env.h"
#include "tests/support/engine_fixture.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  tartan::testing::init_test_eal();
  // Every EngineFixture checks its buffer accounting when it goes.
  tartan::testing::EngineFixture::set_books_handler(
      [](const std::string& problems) { ADD_FAILURE() << problems; });
  return RUN_ALL_TESTS();
}
