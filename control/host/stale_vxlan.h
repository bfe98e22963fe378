// A node handed over from kube-flannel keeps kube-flannel's VXLAN device
// (flannel.<VNI>), which holds the name tartand's overlay tap takes: the
// tap could not be created and tartand would crash-loop. That device only
// ever belongs to the flanneld that no longer runs here, so it goes.
#pragma once

#include <string>

#include "engine/status.h"

namespace tartan {

// Deletes the interface `ifname` in this network namespace if, and only
// if, it is a VXLAN device (logging it); anything else of that name, or
// nothing, is left alone. An error names the interface and netlink's cause.
Status remove_stale_vxlan(const std::string& ifname);

}  // namespace tartan
