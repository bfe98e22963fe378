// --json FILE: the result as one flat JSON object (perf/README.md lists
// every key).
#pragma once

#include <string>

#include "perf/options.h"
#include "perf/result.h"

namespace tartan::perf {

struct RunInfo {
  uint16_t tx_port = 0, rx_port = 0;
  unsigned lcores = 1;
};

// The JSON text; `search` is null unless --ndr.
std::string result_json(const TrafficOptions& o, const RunInfo& info, const TrialResult& t,
                        const SearchResult* search);
// Writes it to o.json_path; "" or what went wrong.
std::string write_result_json(const TrafficOptions& o, const RunInfo& info, const TrialResult& t,
                              const SearchResult* search);

}  // namespace tartan::perf
