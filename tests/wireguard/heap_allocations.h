// How many times this thread has allocated from the heap: main.cc counts
// every malloc, calloc, realloc and aligned allocation in the process (its
// own definitions, or the sanitizer's hooks in a sanitized build), so a
// test can prove a code path allocates nothing, whichever library it
// calls.
#pragma once

#include <cstdint>

namespace tartan::wireguard::testing {

uint64_t heap_allocations();

}  // namespace tartan::wireguard::testing
