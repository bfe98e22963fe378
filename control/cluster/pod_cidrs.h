// A node's podCIDRs, one per address family: a lease's subnets.
#pragma once

#include <optional>
#include <string>

#include "engine/net_types.h"

namespace tartan {

struct PodCidrs {
  std::optional<Ipv4Prefix> v4;
  std::optional<Ipv6Prefix> v6;
  friend bool operator==(const PodCidrs&, const PodCidrs&) = default;
  std::string str() const;  // "10.244.1.0/24, fd00:10:244:1::/64"
  // Whether the two share an address of either family.
  bool overlaps(const PodCidrs& other) const;
};

}  // namespace tartan
