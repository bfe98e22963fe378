// The throughput search FD.io CSIT runs, as a plain binary search: the
// highest offered rate with no loss (NDR) and with at most --pdr-loss (PDR,
// 0.5% by default), each to within --search-precision of the maximum rate.
// Every trial narrows both intervals (a rate that loses more than PDR allows
// also fails NDR), PDR's first, then NDR's below it.
#pragma once

#include <functional>

#include "perf/options.h"
#include "perf/result.h"

namespace tartan::perf {

// `trial(rate)` runs one trial (rate 0: as fast as possible);
// `on_trial(n, result)` is told about each; `stopped()` ends the search
// early. The maximum is --rate-pps when given, else what a flat-out trial
// sent.
SearchResult ndr_search(const TrafficOptions& o, const std::function<TrialResult(double)>& trial,
                        const std::function<void(unsigned, const TrialResult&)>& on_trial,
                        const std::function<bool()>& stopped);

}  // namespace tartan::perf
