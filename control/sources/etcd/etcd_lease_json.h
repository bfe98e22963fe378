// flannel's etcd lease records, byte for byte: the key
// "<prefix>/subnets/10.244.1.0-24" (pkg/subnet MakeSubnetKey; dual stack
// "10.244.1.0-24&fd00:10:244:1::-64", IPv6 only "0.0.0.0-0&fd00:10:244:1::-64")
// and the value, Go's json.Marshal of flannel's LeaseAttrs:
//   {"PublicIP":"192.0.2.1","PublicIPv6":null,"BackendType":"vxlan",
//    "BackendData":{"VNI":1,"VtepMAC":"0e:00:00:00:00:01"}}
// (BackendType, BackendData and BackendV6Data are omitempty: a udp lease is
// {"PublicIP":"192.0.2.1","PublicIPv6":null}; a dual-stack vxlan lease has
// "PublicIPv6":"2001:db8::1" and "BackendV6Data" with flannel-v6's VtepMAC
// after BackendData; an IPv6-only one has "PublicIP":"0.0.0.0" and no
// BackendData).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "control/cluster/flannel_annotations.h"
#include "control/cluster/node_spec.h"
#include "control/cluster/pod_cidrs.h"
#include "control/config/config.h"
#include "engine/net_types.h"
#include "engine/status.h"

namespace tartan {

struct FlannelLeaseAttrs {
  Ipv4Addr public_ip;                   // 0.0.0.0 on an IPv6-only node
  std::optional<Ipv6Addr> public_ipv6;  // PublicIPv6; null without IPv6
  std::string backend_type;             // "" when absent (flannel's udp backend sets none)
  std::string backend_data;             // compact JSON; "" when absent
  std::string backend_v6_data;          // BackendV6Data, likewise
};

// The last element of a subnet key: "10.244.1.0-24", "10.244.1.0-24&fd00::-64"
// or, without an IPv4 subnet, "0.0.0.0-0&fd00::-64".
std::string subnet_key_name(const PodCidrs& subnets);
// The subnets of a key's last element, as flannel's ParseSubnetKey reads
// it; "0.0.0.0-0&..." has no IPv4 subnet. Else why the key is not one
// ("IPv6 length 128 > 127", "... has host bits set", ...).
Result<PodCidrs> parse_subnet_key_name(std::string_view name);
// The node a lease is mirrored as: the key's element with '&' and ':' made
// '-' (a node name allows neither): "10.244.1.0-24-fd00---64". One per key.
std::string lease_node_name(const PodCidrs& subnets);

// Go's json.Marshal of LeaseAttrs for a lease of ours: its IPv4 side with
// `public_ip`, its IPv6 side with `ipv6`.
// `wireguard`: the wireguard backend's (BackendData
// {"PublicKey":...,"Port":ListenPort}, BackendV6Data with ListenPortV6).
std::string encode_lease_attrs(std::optional<Ipv4Addr> public_ip, BackendType backend, uint32_t vni,
                               const MacAddr& vtep_mac, const std::optional<OwnIpv6>& ipv6 = {},
                               const std::optional<OwnWireguard>& wireguard = {});
// Ours as `config` has it (the families its network enables).
std::string own_lease_attrs(const Config& config, const MacAddr& vtep_mac);
// Go's json.Unmarshal into LeaseAttrs: keys match case-insensitively,
// unknown keys are ignored; PublicIP is required here (a lease without one
// cannot be routed to), PublicIPv6 is null or an IPv6 address.
Result<FlannelLeaseAttrs> decode_lease_attrs(const std::string& json);

// A remote lease as the node mirror takes it: the annotations flanneld's
// kube subnet manager would write for that lease (each family's only when
// the key has its subnet), so one code path (read_flannel_node,
// NodeMirror::derive) turns both into routes. Named by lease_node_name.
// Without `attrs` (a value that is not used): the podCIDRs alone.
NodeSpec lease_to_node(const PodCidrs& subnets, const std::optional<FlannelLeaseAttrs>& attrs,
                       const AnnotationKeys& keys);

}  // namespace tartan
