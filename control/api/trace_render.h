// A worker's trace record (engine/observe/trace.h) in the API's words: the
// names the engine does not know (ports, the prefixes and nodes behind a
// next-hop id) are resolved here, on the control side.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/net_types.h"
#include "engine/observe/trace.h"
#include "tartan/v1/trace.pb.h"

namespace tartan {

struct TraceNames {
  std::vector<std::string> ports;  // by ethdev port id
  struct Route {
    Ipv4Prefix prefix;
    std::string node;  // "" when no mirrored node owns it (our own podCIDR)
  };
  std::unordered_map<uint32_t, std::vector<Route>> next_hops;  // routes by next-hop id
  struct Route6 {
    Ipv6Prefix prefix;
    std::string node;
    Ipv6Addr public_ip;  // the node's, where its tunnel packets go (zero: local)
  };
  std::unordered_map<uint32_t, std::vector<Route6>> next_hops6;  // IPv6 routes by next-hop id
  uint16_t tunnel_port = 0;  // the backend's UDP port, to show a tunnel's inner packet
  bool vxlan = true;         // tunnel packets carry an Ethernet frame (else IPv4: udp backend)
};

// Everything but index and timestamp, which the caller knows.
void render_trace(const TraceRecord& r, const TraceNames& names, v1::TracedPacket* out);

// Whether `r` names a next hop `names` does not know (a route added since).
bool names_stale(const TraceRecord& r, const TraceNames& names);

// Headers of a frame's first bytes, as tcpdump -n prints them in short.
std::string summarize_frame(const uint8_t* data, size_t len, const TraceNames& names);

}  // namespace tartan
