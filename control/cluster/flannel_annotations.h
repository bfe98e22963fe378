// flannel's node annotations, read and written exactly as flanneld's kube
// subnet manager does (pkg/subnet/kube/annotations.go): keys under a prefix
// (default "flannel.alpha.coreos.com/"), backend-data as compact JSON.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "control/cluster/node_spec.h"
#include "control/config/wireguard_key.h"
#include "engine/engine_config.h"
#include "engine/net_types.h"
#include "engine/status.h"

namespace tartan {

struct AnnotationKeys {
  std::string kube_subnet_manager;
  std::string backend_type;
  std::string backend_data;
  std::string backend_v6_data;
  std::string public_ip;
  std::string public_ip_overwrite;
  std::string public_ipv6;
  std::string public_ipv6_overwrite;
  // Set by users on a node to choose its public IP(v6), as flanneld's
  // --public-ip(v6) (read only, never written).
  std::string node_public_ip;
  std::string node_public_ipv6;
};

// flannel's rules for --kube-annotation-prefix: at most one '/', appended
// when absent; a prefix not ending in '/' gets a '-'; the result must match
// fqdn/[0-9a-z-_]*. "example.com/foo" gives "example.com/foo-backend-data".
Result<AnnotationKeys> annotation_keys(const std::string& prefix);

// What a node's flannel annotations say, checked for well-formedness.
struct FlannelNodeInfo {
  bool subnet_manager = false;              // kube-subnet-manager == "true"
  std::optional<std::string> backend_type;  // absent annotation: nullopt
  std::optional<uint32_t> vni;              // vxlan backend-data
  std::optional<MacAddr> vtep_mac;          // vxlan backend-data
  std::optional<WireguardKey> public_key;   // wireguard backend-data
  // wireguard backend-data's Port: where the node listens (its ListenPort);
  // 0 when absent (flannel before v0.26.6), and peers send to their own.
  uint16_t wireguard_port = 0;
  // public-ip: where peers send, read as flanneld reads it (never the
  // overwrite, which only the node itself turns into its public-ip).
  std::optional<Ipv4Addr> public_ip;
  std::optional<Ipv4Addr> public_ip_overwrite;  // public-ip-overwrite, set by users
  std::optional<Ipv4Prefix> pod_cidr;           // the IPv4 entry of pod_cidrs
  std::optional<Ipv6Prefix> pod_cidr_v6;        // the IPv6 entry
  // Dual stack: backend-v6-data (vxlan: VNI and the flannel-v6 device's
  // VtepMAC; wireguard: PublicKey), public-ipv6 and public-ipv6-overwrite, read as the IPv4 ones.
  std::optional<uint32_t> vni_v6;
  std::optional<MacAddr> vtep_mac_v6;
  std::optional<WireguardKey> public_key_v6;  // wireguard's backend-v6-data (the same key)
  uint16_t wireguard_port_v6 = 0;             // its Port (ListenPortV6); 0 when absent
  std::optional<Ipv6Addr> public_ipv6;
  std::optional<Ipv6Addr> public_ipv6_overwrite;
  // node-public-ip, node-public-ipv6: the node's own choice of public IP.
  std::optional<Ipv4Addr> node_public_ip;
  std::optional<Ipv6Addr> node_public_ipv6;
  // What is wrong with the IPv6 annotations ("annotations[...public-ipv6]:
  // ..."), kept apart: only a node's IPv6 route depends on them.
  std::optional<std::string> ipv6_invalid;
};

// Parses the node's podCIDRs and flannel annotations. Malformed values are
// INVALID_ARGUMENT naming the field and value ("annotations[...backend-data]:
// ..."), except the IPv6 ones' (FlannelNodeInfo::ipv6_invalid); missing
// ones are left unset for the caller to judge.
Result<FlannelNodeInfo> read_flannel_node(const NodeSpec& node, const AnnotationKeys& keys);

// Our IPv6 side, as flanneld advertises it with EnableIPv6: the public
// IPv6 and the flannel-v6 device's VtepMAC.
struct OwnIpv6 {
  Ipv6Addr public_ip;
  MacAddr vtep_mac;
};

// flannel's wireguardLeaseAttrs: what one family's wireguard backend-data says.
struct WireguardLeaseAttrs {
  WireguardKey public_key;
  uint16_t port = 0;  // where the node listens for the family (ListenPort, ListenPortV6)
};

// What our wireguard backend announces: its one PublicKey, and the port of
// each family's device (flannel-wg's ListenPort in backend-data,
// flannel-wg-v6's ListenPortV6 in backend-v6-data).
struct OwnWireguard {
  WireguardKey public_key;
  uint16_t listen_port = 0;
  uint16_t listen_port_v6 = 0;
  WireguardLeaseAttrs v4() const { return {public_key, listen_port}; }
  WireguardLeaseAttrs v6() const { return {public_key, listen_port_v6}; }
};

// The annotations flanneld writes on its own Node for these settings:
// backend-type, backend-data ({"VNI":1,"VtepMAC":"..."} for vxlan,
// {"PublicKey":"...","Port":51820} for wireguard, null otherwise),
// public-ip and kube-subnet-manager; with IPv6, backend-v6-data (the same
// shape, flannel-v6's VtepMAC; wireguard's one key and ListenPortV6) and
// public-ipv6. Without `public_ip` (IPv6 only) a vxlan node writes no
// IPv4 side, as flanneld; other backends write public-ip 0.0.0.0 and
// backend-data null, as flanneld does too. `wireguard`: our announcement.
std::map<std::string, std::string> own_annotations(
    const AnnotationKeys& keys, BackendType backend, uint32_t vni, const MacAddr& vtep_mac,
    std::optional<Ipv4Addr> public_ip, const std::optional<OwnIpv6>& ipv6 = {},
    const std::optional<OwnWireguard>& wireguard = {});

// The backend-data value flanneld writes: {"VNI":1,"VtepMAC":"..."} for
// vxlan, {"PublicKey":"...","Port":51820} for wireguard, "null" otherwise
// (also the BackendData of its etcd leases).
std::string flannel_backend_data(BackendType backend, uint32_t vni, const MacAddr& vtep_mac,
                                 const std::optional<WireguardLeaseAttrs>& wireguard = {});

// The backend-type value flanneld writes ("" for udp, which never sets one).
std::string flannel_backend_type(BackendType backend);

}  // namespace tartan
