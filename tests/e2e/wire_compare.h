// Byte-for-byte interop with the Linux VXLAN driver, shown by tshark: the
// same inner packets (tools/fixed_packets.py: an ICMP echo request and a
// TCP SYN, every field fixed) sent from a kernel-flannel node's pod to a
// tartan node's and back, captured on the underlay, decoded field by field
// and compared, for flannel.1 (IPv4) and flannel-v6.1 (IPv6) alike.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/e2e/cluster.h"
#include "tests/support/capture.h"

namespace tartan::testing {

// One decoded frame: "field#layer" -> tshark's value, the layer numbered
// as Wireshark's layer operator numbers it (a tunnel frame's outer header
// #1, its inner one #2).
using DecodedFrame = std::map<std::string, std::string>;

// `fields` of every frame of `capture` that tshark's display filter
// `filter` takes (VXLAN on port 8472, every checksum verified).
std::vector<DecodedFrame> decode_frames(Capture& capture, const std::string& filter,
                                        const std::vector<std::string>& fields);

// Where `a` and `b` disagree, but for the keys in `may_differ`: a
// "key: a-value | b-value" line each; "" when they agree.
std::string differences(const DecodedFrame& a, const DecodedFrame& b,
                        const std::set<std::string>& may_differ);

// Sends the fixed packets from each node's pod to the other's over IPv4 or
// IPv6, and expects the tunnel frames `tartan` sent to equal `kernel`'s in
// every field but those that name the sender and receiver (underlay MACs
// and addresses, VtepMACs, pod addresses: each checked to be the right
// node's), the outer UDP source port (a flow hash: checked to lie in
// Linux's default port range) and the outer IPv4 id (the sender's pick).
void expect_kernel_wire_format(Cluster& c, ClusterNode& kernel, ClusterNode& tartan, bool ipv6);

}  // namespace tartan::testing
