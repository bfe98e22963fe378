// main() for Google Benchmark binaries that need DPDK: the test EAL first.
#include <benchmark/benchmark.h>

#include "tests/support/dpdk_test_env.h"

int main(int argc, char** argv) {
  tartan::testing::init_test_eal();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
