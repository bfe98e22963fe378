#include "engine/unmap_barrier.h"

#include <dlfcn.h>
#include <rte_interrupts.h>
#include <sys/mman.h>

#include "engine/worker_barrier.h"

namespace tartan::unmap_barrier {

bool interposed() {
  return dlsym(RTLD_DEFAULT, "munmap") == reinterpret_cast<void*>(&::munmap);
}

}  // namespace tartan::unmap_barrier

// libc's munmap, or whatever comes after the executable in the lookup order
// (a sanitizer's interceptor, should one ever take it).
extern "C" int munmap(void* addr, size_t length) noexcept {
  using Munmap = int (*)(void*, size_t);
  static const auto next = reinterpret_cast<Munmap>(dlsym(RTLD_NEXT, "munmap"));
  if (rte_thread_is_intr()) tartan::worker_barrier::wait_for_workers();
  return next(addr, length);
}
