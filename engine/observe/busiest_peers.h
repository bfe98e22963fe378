// The peers an operator reads first, whatever the cluster's size: the
// busiest by packets both ways, and the rest summed. A node's counters for
// every one of 100,000 peers would outgrow an API message or a scrape.
#pragma once

#include <cstddef>
#include <vector>

#include "engine/observe/stats.h"

namespace tartan {

struct BusiestPeers {
  std::vector<const PeerStats*> shown;  // busiest first, ties by address
  PeerStats rest;                       // the other peers' counters summed
  size_t rest_count = 0;                // how many peers `rest` sums
};

// At most `max_shown` of `peers`, which must outlive the result.
BusiestPeers busiest_peers(const std::vector<PeerStats>& peers, size_t max_shown);

}  // namespace tartan
