// flannel's etcd lease records, byte for byte: the key
// "<prefix>/subnets/10.244.1.0-24" (pkg/subnet MakeSubnetKey) and the value,
// Go's json.Marshal of flannel's LeaseAttrs:
//   {"PublicIP":"192.0.2.1","PublicIPv6":null,"BackendType":"vxlan",
//    "BackendData":{"VNI":1,"VtepMAC":"0e:00:00:00:00:01"}}
// (BackendType and BackendData are omitempty: a udp lease is
// {"PublicIP":"192.0.2.1","PublicIPv6":null}).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "control/cluster/flannel_annotations.h"
#include "control/cluster/node_spec.h"
#include "engine/net_types.h"
#include "engine/status.h"

namespace tartan {

struct FlannelLeaseAttrs {
  Ipv4Addr public_ip;
  std::string backend_type;  // "" when absent (flannel's udp backend sets none)
  std::string backend_data;  // compact JSON; "" when absent
};

// "10.244.1.0-24": the last element of a subnet key.
std::string subnet_key_name(const Ipv4Prefix& subnet);
// The IPv4 subnet of a key's last element, as flannel's ParseSubnetKey
// reads it ("10.244.1.0-24", or "10.244.1.0-24&fd00::-64" for dual stack);
// nullopt for anything else.
std::optional<Ipv4Prefix> parse_subnet_key_name(std::string_view name);

// Go's json.Marshal of LeaseAttrs for a lease of ours.
std::string encode_lease_attrs(Ipv4Addr public_ip, BackendType backend, uint32_t vni,
                               const MacAddr& vtep_mac);
// Go's json.Unmarshal into LeaseAttrs: keys match case-insensitively,
// unknown keys are ignored; PublicIP is required here (a lease without one
// cannot be routed to).
Result<FlannelLeaseAttrs> decode_lease_attrs(const std::string& json);

// A remote lease as the node mirror takes it: the annotations flanneld's
// kube subnet manager would write for that lease, so one code path
// (read_flannel_node, NodeMirror::derive) turns both into routes. The node
// is named after the key ("10.244.1.0-24").
NodeSpec lease_to_node(const Ipv4Prefix& subnet, const FlannelLeaseAttrs& attrs,
                       const AnnotationKeys& keys);

}  // namespace tartan
