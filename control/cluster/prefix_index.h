// Which node holds which podCIDR, per address family: ranges keyed by their
// first address, so an overlap is found in O(log n) (stored ranges never
// overlap each other) and a batch's changes can be undone.
#pragma once

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/net_types.h"

namespace tartan {

inline uint32_t range_first(const Ipv4Prefix& p) {
  return p.addr.value;
}
inline uint32_t range_last(const Ipv4Prefix& p) {
  return p.addr.value | ~p.mask();
}
inline Ipv6Addr range_first(const Ipv6Prefix& p) {
  return p.network().addr;
}
inline Ipv6Addr range_last(const Ipv6Prefix& p) {
  Ipv6Addr last = p.network().addr;
  for (int i = 0; i < 16; ++i) {
    const int host_bits = 8 - std::max(0, std::min(8, p.len - 8 * i));
    last.bytes[i] |= static_cast<uint8_t>((1u << host_bits) - 1);
  }
  return last;
}

template <class Prefix>
class PrefixIndex {
 public:
  using Addr = decltype(range_first(std::declval<Prefix>()));
  using Range = std::pair<Addr, std::string>;  // last address, node
  // Entries a batch replaced, oldest first.
  using Undo = std::vector<std::pair<Addr, std::optional<Range>>>;

  // The node other than `name` whose podCIDR overlaps `p`.
  std::optional<std::string> overlapping(const std::string& name, const Prefix& p) const {
    const Addr first = range_first(p), last = range_last(p);
    // The entry starting at or before `last` with the highest start is the
    // only one that can overlap, as stored ranges do not overlap each other.
    auto it = ranges_.upper_bound(last);
    if (it == ranges_.begin()) return std::nullopt;
    --it;
    if (it->second.first >= first && it->second.second != name) return it->second.second;
    // A range of this same node may sit just below; look one further.
    if (it->second.second == name && it != ranges_.begin()) {
      auto prev = std::prev(it);
      if (prev->second.first >= first) return prev->second.second;
    }
    return std::nullopt;
  }

  // Any node but `except` whose podCIDR overlaps `p` (our own lease against
  // every node's, where `p` may span several).
  std::optional<std::string> any_overlapping(const Prefix& p, const std::string& except) const {
    const Addr first = range_first(p), last = range_last(p);
    for (const auto& [start, range] : ranges_) {
      if (start <= last && range.first >= first && range.second != except) return range.second;
    }
    return std::nullopt;
  }

  void set(const std::optional<Prefix>& p, const std::string& name, bool add, Undo& undo) {
    if (!p) return;
    const Addr first = range_first(*p);
    auto it = ranges_.find(first);
    undo.emplace_back(first, it == ranges_.end() ? std::nullopt : std::optional(it->second));
    if (add) {
      ranges_[first] = {range_last(*p), name};
    } else if (it != ranges_.end()) {
      ranges_.erase(it);
    }
  }

  void undo(const Undo& undo) {
    for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
      if (it->second) {
        ranges_[it->first] = *it->second;
      } else {
        ranges_.erase(it->first);
      }
    }
  }

 private:
  std::map<Addr, Range> ranges_;
};

}  // namespace tartan
