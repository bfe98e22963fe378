// The config of a tartand on net_null devices (no NIC, no namespace): its
// underlay receives zero-filled 64-byte frames without end, which the
// engine drops as not_ipv4, so counters and captures always have packets.
// The lease comes through the API (lease.source grpc).
#pragma once

#include <string>

namespace tartan::testing {

// Writes <dir>/tartan.yaml and <dir>/net-conf.json and returns the first's
// path. `eal` is the eal section as a YAML flow map's contents
// ("hugepages: off, memory_mb: 256"); `control` more keys of the control
// section, as a flow map's contents ("http: {listen: 127.0.0.1:0}"). The
// API socket is <dir>/tartan.sock.
std::string write_null_node_config(const std::string& dir, const std::string& eal,
                                   const std::string& control = "");

}  // namespace tartan::testing
