// How many times OpenSSL has allocated in this process: main.cc routes
// OpenSSL's allocator through a counter before anything else runs, so a
// test can prove a code path allocates nothing.
#pragma once

#include <cstdint>

namespace tartan::wireguard::testing {

uint64_t openssl_allocations();

}  // namespace tartan::wireguard::testing
