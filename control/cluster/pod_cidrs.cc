#include "control/cluster/pod_cidrs.h"

namespace tartan {

std::string PodCidrs::str() const {
  std::string out = v4 ? v4->str() : "";
  if (v6) out += (out.empty() ? "" : ", ") + v6->str();
  return out.empty() ? "(none)" : out;
}

bool PodCidrs::overlaps(const PodCidrs& other) const {
  return (v4 && other.v4 && v4->overlaps(*other.v4)) || (v6 && other.v6 && v6->overlaps(*other.v6));
}

}  // namespace tartan
