#include "engine/wireguard/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdlib>

namespace tartan::wireguard {

void os_random(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0 && errno == EINTR) continue;
    // getrandom fails only on a kernel without it (before 3.17) or bad
    // arguments: keys made without randomness would be worse than no keys.
    if (n < 0) std::abort();
    done += static_cast<size_t>(n);
  }
}

}  // namespace tartan::wireguard
