#include "control/cluster/pod_cidrs.h"

namespace tartan {

std::string PodCidrs::str() const {
  std::string out = v4 ? v4->str() : "";
  if (v6) out += (out.empty() ? "" : ", ") + v6->str();
  return out.empty() ? "(none)" : out;
}

}  // namespace tartan
