// How a fuzz target reports a broken invariant: the message on stderr, then
// abort(), which libFuzzer turns into a crash report with the input saved.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace tartan::fuzz {

[[noreturn]] inline void violated(const std::string& what) {
  std::fprintf(stderr, "tartan fuzz invariant violated: %s\n", what.c_str());
  std::abort();
}

}  // namespace tartan::fuzz

// `message` is only built when the check fails.
#define FUZZ_CHECK(condition, message)                   \
  do {                                                   \
    if (!(condition)) ::tartan::fuzz::violated(message); \
  } while (0)
