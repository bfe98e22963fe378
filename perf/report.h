// What tartan-perf prints: a line per second while it runs, a line per
// search trial, and the summary at the end.
#pragma once

#include <cstdint>

#include "perf/options.h"
#include "perf/result.h"

namespace tartan::perf {

// `prev` and `cur`: the counts at the last line and now, `interval_s` apart.
void print_progress(const TrafficOptions& o, double elapsed_s, double interval_s,
                    const Counts& prev, const Counts& cur, uint64_t p99_ns);
void print_trial(const TrafficOptions& o, unsigned n, const TrialResult& t);
void print_summary(const TrafficOptions& o, const TrialResult& t);
void print_search(const TrafficOptions& o, const SearchResult& s);

}  // namespace tartan::perf
