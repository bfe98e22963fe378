// The wireguard tests' main, and the heap's allocations counted for
// heap_allocations.h: by the sanitizer's hooks in a sanitized build, else
// by this executable's own malloc family, which the dynamic linker binds
// before libc's and which hands on to glibc's __libc_* entry points.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "tests/wireguard/heap_allocations.h"

#if defined(__SANITIZE_ADDRESS__)
#define TARTAN_SANITIZED_HEAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TARTAN_SANITIZED_HEAP 1
#endif
#endif

namespace tartan::wireguard::testing {
namespace {

// Per thread: the test's own calls, not a background thread's. The
// executable's TLS is static: reading it allocates nothing.
thread_local uint64_t allocations = 0;

}  // namespace

uint64_t heap_allocations() {
  return allocations;
}

}  // namespace tartan::wireguard::testing

#ifdef TARTAN_SANITIZED_HEAP
// The sanitizer runtimes' (GCC 12 ships no allocator_interface.h).
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*)(const volatile void*, size_t),
                                                         void (*)(const volatile void*));

namespace {

void count_malloc(const volatile void*, size_t) {
  ++tartan::wireguard::testing::allocations;
}
void ignore_free(const volatile void*) {}

}  // namespace
#else
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);

void* malloc(size_t n) {
  ++tartan::wireguard::testing::allocations;
  return __libc_malloc(n);
}
void* calloc(size_t count, size_t n) {
  ++tartan::wireguard::testing::allocations;
  return __libc_calloc(count, n);
}
void* realloc(void* p, size_t n) {
  ++tartan::wireguard::testing::allocations;
  return __libc_realloc(p, n);
}
void* aligned_alloc(size_t alignment, size_t n) {
  ++tartan::wireguard::testing::allocations;
  return __libc_memalign(alignment, n);
}
void* memalign(size_t alignment, size_t n) {
  ++tartan::wireguard::testing::allocations;
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, size_t alignment, size_t n) {
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return EINVAL;
  ++tartan::wireguard::testing::allocations;
  void* p = __libc_memalign(alignment, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
}
#endif

int main(int argc, char** argv) {
#ifdef TARTAN_SANITIZED_HEAP
  __sanitizer_install_malloc_and_free_hooks(count_malloc, ignore_free);
#endif
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
