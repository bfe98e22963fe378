// flannel's net-conf.json as flanneld reads it (Go's encoding/json: keys
// case-insensitive, unknown keys ignored, null leaves a value unset): the
// file kube-flannel mounts (`network_file`) and etcd's `<prefix>/config`.
#pragma once

#include <string>

#include "control/config/netconf.h"
#include "engine/status.h"

namespace tartan {

// Parses the JSON into net-conf values (before flannel's defaults). Errors
// name the key ("Backend.VNI: ...").
Result<RawNetworkConfig> parse_netconf_json(const std::string& json);

// The file at `path` (flanneld's --net-config-path), parsed as above.
// Errors name the file, then the key ("<path>: Backend.VNI: ...").
Result<RawNetworkConfig> read_netconf_file(const std::string& path);

}  // namespace tartan
