// The wireguard tests' main: OpenSSL's allocator is counted from the
// first call (CRYPTO_set_mem_functions works only before OpenSSL's first
// allocation, hence a main of its own rather than unit_tests').
#include <gtest/gtest.h>
#include <openssl/crypto.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "tests/wireguard/openssl_allocations.h"

namespace tartan::wireguard::testing {
namespace {

std::atomic<uint64_t> allocations{0};

void* counted_malloc(size_t n, const char*, int) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n);
}
void* counted_realloc(void* p, size_t n, const char*, int) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return std::realloc(p, n);
}
void plain_free(void* p, const char*, int) {
  std::free(p);
}

}  // namespace

uint64_t openssl_allocations() {
  return allocations.load(std::memory_order_relaxed);
}

}  // namespace tartan::wireguard::testing

int main(int argc, char** argv) {
  using namespace tartan::wireguard::testing;
  if (CRYPTO_set_mem_functions(counted_malloc, counted_realloc, plain_free) != 1) {
    std::fprintf(stderr, "OpenSSL allocated before main: cannot count its allocations\n");
    return 1;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
