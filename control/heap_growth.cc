#include "control/heap_growth.h"

#include <malloc.h>

namespace tartan {

void grow_heap_in_large_steps() {
  // A thread arena's heap is at most 64 MiB on 64-bit glibc (HEAP_MAX_SIZE):
  // with this top pad it is read-write from the start. Memory is only
  // committed when touched; what the pad keeps after a burst is reused by
  // the next.
  constexpr int kTopPad = 64 << 20;
  // Setting the pad fixes the mmap threshold (no longer raised as large
  // blocks are freed): fixed here at the most glibc would raise it to.
  constexpr int kMmapThreshold = 32 << 20;
  mallopt(M_TOP_PAD, kTopPad);
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
}

}  // namespace tartan
