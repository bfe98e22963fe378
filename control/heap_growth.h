// How the daemon's heap grows: glibc's malloc told to take memory in large
// steps, for the control plane's bursts (a source's initial list, an
// ApplyNodes call of 10,000 nodes).
#pragma once

namespace tartan {

// Each thread arena (the gRPC server threads') is mapped read-write whole
// when it is made, instead of one mprotect call per page as it grows; and
// blocks up to 32 MiB (a large request's buffers) come from the heap and
// are reused, instead of an mmap and its page faults each time. Applying
// 100,000 nodes made ~39,000 mprotect calls (perf/RESULTS.md, "ApplyNodes:
// the heap grown in large steps"). Process-wide: call before the threads
// start.
void grow_heap_in_large_steps();

}  // namespace tartan
