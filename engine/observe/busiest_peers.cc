#include "engine/observe/busiest_peers.h"

#include <algorithm>

#include "engine/observe/stats_fields.h"

namespace tartan {

BusiestPeers busiest_peers(const std::vector<PeerStats>& peers, size_t max_shown) {
  BusiestPeers out;
  out.shown.reserve(peers.size());
  for (const PeerStats& p : peers) out.shown.push_back(&p);
  const auto packets = [](const PeerStats* p) { return p->encap_packets + p->decap_packets; };
  const size_t shown = std::min(max_shown, out.shown.size());
  std::partial_sort(out.shown.begin(), out.shown.begin() + static_cast<std::ptrdiff_t>(shown),
                    out.shown.end(), [&](const PeerStats* a, const PeerStats* b) {
                      if (packets(a) != packets(b)) return packets(a) > packets(b);
                      return a->address() < b->address();  // a stable choice
                    });
  for (size_t i = shown; i < out.shown.size(); ++i) {
    for (const auto& f : peer_stat_fields()) out.rest.*f.field += out.shown[i]->*f.field;
  }
  out.rest_count = out.shown.size() - shown;
  out.shown.resize(shown);
  return out;
}

}  // namespace tartan
