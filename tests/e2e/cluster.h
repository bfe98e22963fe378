// A flannel cluster in network namespaces: one L2 underlay segment (a
// bridge in its own namespace, 192.0.2.0/24), kernel-flannel nodes set up
// exactly as flanneld sets up a node, tartan nodes running the real
// tartand, and one pod per node behind a cni0 bridge. Everything is torn
// down with the cluster.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/net_types.h"
#include "tests/support/netns.h"
#include "tests/support/process.h"

namespace tartan::testing {

// The address families a cluster runs (flannel's EnableIPv4, EnableIPv6).
enum class Stack { kIpv4, kDual, kIpv6 };

struct ClusterNode {
  int index = 0;
  std::string name;            // node-<i>
  std::unique_ptr<Netns> ns;   // the node (host) namespace
  std::unique_ptr<Netns> pod;  // its pod
  // IPv4 (unused in an IPv6-only cluster, where no interface has them):
  Ipv4Addr public_ip;   // 192.0.2.(10+i) on eth0
  Ipv4Prefix pod_cidr;  // 10.244.i.0/24
  Ipv4Addr pod_ip;      // 10.244.i.2
  bool tartan = false;
  std::string backend = "vxlan";
  std::unique_ptr<Process> tartand;  // tartan nodes
  std::string dir;                   // tartand's files (config, socket, state)
  std::string vtep_mac;              // flannel.1's (kernel) or tartand's VtepMAC
  // With IPv6: 2001:db8::(10+i) on eth0, fd00:10:244:i::/64 and its ::2 in
  // the pod, flannel-v6.1's VtepMAC (or tartand's v6 one).
  std::optional<Ipv6Addr> public_ipv6;
  std::optional<Ipv6Prefix> pod_cidr_v6;
  std::optional<Ipv6Addr> pod_ip_v6;
  std::string vtep_mac_v6;
  // NAME=value added to tartand's environment (NODE_NAME, as a DaemonSet sets it).
  std::vector<std::string> tartand_env;
  // A wireguard-go node (add_wireguard_go_node): wireguard-go on its
  // device, named per test process (wireguard-go's UAPI socket is not per
  // namespace), its PublicKey and its ListenPort.
  std::unique_ptr<Process> wireguard_go;
  std::string wg_device;
  std::string wg_public_key;    // base64, as backend-data carries it
  uint16_t wg_listen_port = 0;  // backend-data's Port, as flanneld since v0.26.6 writes it
  // With IPv6 its flannel-wg-v6: another wireguard-go on another device,
  // the same key, ListenPortV6 51821.
  std::unique_ptr<Process> wireguard_go_v6;
  std::string wg_device_v6;
};

class Cluster {
 public:
  // With IPv6 every node and pod gets IPv6 (flannel's EnableIPv6), kernel
  // nodes a flannel-v6.1 device as flanneld creates it; IPv6-only clusters
  // (EnableIPv4 false) have no IPv4 address, flannel.1 or IPv4 lease.
  explicit Cluster(const std::string& tag, Stack stack = Stack::kIpv4);
  ~Cluster();

  // A node configured as flanneld configures one (vxlan, VNI 1, port 8472).
  ClusterNode& add_kernel_node(int i);
  // flannel's wireguard Backend.Mode for the whole cluster (net-conf.json
  // is): "separate" (the default), or a one-device mode, "ipv4" or "ipv6",
  // with its ListenPortV6 (what backend-v6-data announces). Before any node.
  void set_wireguard_mode(const std::string& mode, uint16_t listen_port_v6 = 51821);
  // A node of the wireguard backend as flanneld configures flannel-wg, on
  // wireguard-go (no kernel module here): its key, ListenPort
  // `listen_port`, MTU underlay - 80, the lease's first address as a /32
  // and a route to the whole network through the device; with IPv6 (Mode
  // separate, flannel's default) flannel-wg-v6 likewise: the same key,
  // ListenPortV6 51821, the IPv6 lease's first address as a /128, a route
  // to the IPv6 network; in a one-device mode those go on flannel-wg.
  // learn() adds its peers.
  ClusterNode& add_wireguard_go_node(int i, uint16_t listen_port = 51820);
  // A wireguard-go node's new private key, as flanneld makes one when its
  // wgkey is gone: on the device at once (its sessions end); its
  // PublicKey in manifest() from now on, for learn() to announce.
  void change_wireguard_key(ClusterNode& n);
  // A node running tartand with its underlay on eth0 (af_packet) and its
  // overlay a tap named flannel.1 (IPv6 only: flannel-v6.1).
  // `overlay`: the overlay port's device kind, vnet_tap (the fast host
  // path) or net_tap (the fallback).
  // `control_yaml`, `dataplane_yaml`: more keys of tartand's `control` and
  // `dataplane` maps (", probe: {...}").
  ClusterNode& add_tartan_node(int i, const std::string& backend = "vxlan",
                               bool direct_routing = false, const std::string& overlay = "vnet_tap",
                               const std::string& control_yaml = "",
                               const std::string& dataplane_yaml = "");
  // A tartan node that is its pod's IPv4 and IPv6 router, as where pods
  // attach to tartan directly (memif, vhost-user): the pod's veth is
  // tartan's overlay port (af_packet, `routing: tartan`), with no cni0, tap
  // or host routes. The pod's link keeps MTU 1500, above the overlay MTU,
  // and it reaches its gateways through static neighbour entries.
  ClusterNode& add_tartan_router_node(int i);
  // A tartan node whose tartand the test configures: its namespace, underlay
  // port (eth0, for af_packet; no address), pod and directory, with no
  // <dir>/tartan.yaml yet and tartand not started (start_tartand does).
  ClusterNode& add_unstarted_tartan_node(int i);
  ClusterNode& node(int i) { return *nodes_.at(i); }
  // Starts a tartan node's tartand (again, after the test stopped it) and
  // waits until it is ready; it knows no other node yet.
  void start_tartand(ClusterNode& n);
  // tartand as start_tartand runs it in `n`'s namespace, for a test that
  // runs it itself (to see it refuse a config, say).
  std::vector<std::string> tartand_command(const ClusterNode& n) const;

  // Makes `who` know `peer` the way its kind learns nodes: a tartan node
  // gets `peer`'s Node manifest through tartanctl (with the annotations
  // flanneld, or tartand's own lease, gives); a kernel node gets flanneld's
  // neighbour, FDB entry and route for it.
  void learn(ClusterNode& who, ClusterNode& peer);
  // Both ways.
  void connect(ClusterNode& a, ClusterNode& b) {
    learn(a, b);
    learn(b, a);
  }
  void forget(ClusterNode& who, ClusterNode& peer);  // tartanctl nodes delete
  // Makes a kernel node know a peer from the peer's Node object alone, as
  // flanneld does from a Node event: its podCIDR, public-ip and
  // backend-data's VtepMAC read as flanneld reads them.
  void learn_node_object(ClusterNode& kernel, const nlohmann::json& node);
  // A kernel node whose public IP changed: eth0 re-addressed and flannel.1
  // given the new local address (its FDB entries stay). Its Node's
  // public-ip annotation is the test's to change.
  void readdress(ClusterNode& kernel, Ipv4Addr public_ip);

  CommandResult tartanctl(ClusterNode& n, const std::vector<std::string>& args);
  // Runs `script` with sh in a namespace.
  CommandResult sh(const Netns& ns, const std::string& script,
                   std::chrono::milliseconds timeout = std::chrono::seconds(60));
  const Netns& underlay() const { return *switch_; }
  // A host on the underlay segment that is no node (192.0.2.66 on eth0).
  const Netns& stranger();

  // The Node manifest flanneld would have left on `n`'s Node object.
  std::string manifest(ClusterNode& n);

 private:
  void add_underlay_port(ClusterNode& n);
  void add_pod(ClusterNode& n);
  // The pod of a node whose tartan routes it (add_tartan_router_node).
  void add_routed_pod(ClusterNode& n);
  // <dir>/tartan.yaml for a tartan node: its underlay on eth0, the one
  // overlay port `overlay_port` (a YAML flow map), our network's net-conf
  // with `n.backend`, the static lease of `n`'s podCIDRs.
  void write_tartand_config(ClusterNode& n, const std::string& overlay_port, bool direct_routing,
                            const std::string& control_yaml, const std::string& dataplane_yaml);
  // Node `i`'s addresses in both families (IPv6 only with Stack kDual or kIpv6).
  void assign_addresses(ClusterNode& n, int i);
  bool ipv4() const { return stack_ != Stack::kIpv6; }
  bool ipv6() const { return stack_ != Stack::kIpv4; }
  // flanneld's peers on a wireguard-go node for a wireguard lease: its
  // PublicKey, endpoint <public-ip>:<its backend-data's Port, or our
  // ListenPort without one>, its podCIDR allowed; with IPv6 on
  // flannel-wg-v6 too: the PublicKey of backend-v6-data, endpoint
  // [<public-ipv6>]:<its backend-v6-data's Port, or our ListenPortV6>, its
  // IPv6 podCIDR allowed. In a one-device mode one peer on flannel-wg, both
  // podCIDRs allowed, at the mode's family's endpoint.
  void add_wireguard_peer(ClusterNode& node, ClusterNode& peer);
  // flanneld's setupKeys on a wireguard-go node: a generated key, kept in
  // <dir>/wgkey; its public key in `n.wg_public_key`.
  void generate_wireguard_key(ClusterNode& n);
  // wireguard-go on a new device `device` in `n`'s namespace, up to its UAPI socket.
  std::unique_ptr<Process> start_wireguard_go(ClusterNode& n, const std::string& device);
  // flanneld's neighbour, FDB entry and route on a kernel node for a vxlan peer.
  void add_vxlan_peer(ClusterNode& kernel, const Ipv4Prefix& pod_cidr, const std::string& vtep_mac,
                      Ipv4Addr public_ip);
  // The same for the peer's IPv6 lease, on flannel-v6.1.
  void add_vxlan6_peer(ClusterNode& kernel, const Ipv6Prefix& pod_cidr, const std::string& vtep_mac,
                       const Ipv6Addr& public_ip);

  std::string tag_;
  Stack stack_;
  std::string wireguard_mode_ = "separate";
  uint16_t wireguard_listen_port_v6_ = 51821;
  std::unique_ptr<Netns> switch_;
  std::unique_ptr<Netns> stranger_;
  std::map<int, std::unique_ptr<ClusterNode>> nodes_;
};

// A kernel-flannel node (node-1) and a tartan node (node-2) of a `kStack`
// cluster, each knowing the other: the interop tests' fixture.
template <Stack kStack>
class KernelAndTartanCluster : public ::testing::Test {
 protected:
  // `tartan_routes_pods`: the tartan node is its pod's router
  // (Cluster::add_tartan_router_node) instead of a tap the host routes.
  explicit KernelAndTartanCluster(bool tartan_routes_pods = false)
      : c(tartan_routes_pods       ? "dr"
          : kStack == Stack::kIpv4 ? "ki"
          : kStack == Stack::kDual ? "dk"
                                   : "d6",
          kStack),
        tartan_routes_pods_(tartan_routes_pods) {}
  void SetUp() override {
    kernel = &c.add_kernel_node(1);
    tartan = tartan_routes_pods_ ? &c.add_tartan_router_node(2) : &c.add_tartan_node(2);
    c.connect(*kernel, *tartan);
  }
  Cluster c;
  ClusterNode* kernel = nullptr;
  ClusterNode* tartan = nullptr;

 private:
  bool tartan_routes_pods_;
};

// A wireguard-go node (node-1) and a tartan node of the wireguard backend
// (node-2), each knowing the other: the wireguard tests' fixture.
class WireguardGoAndTartanCluster : public ::testing::Test {
 protected:
  // `control_yaml`, `dataplane_yaml`: as add_tartan_node takes them;
  // `go_listen_port`: the wireguard-go node's ListenPort.
  explicit WireguardGoAndTartanCluster(const std::string& tag, std::string control_yaml = "",
                                       std::string dataplane_yaml = "",
                                       uint16_t go_listen_port = 51820, Stack stack = Stack::kIpv4)
      : c(tag, stack),
        control_yaml_(std::move(control_yaml)),
        dataplane_yaml_(std::move(dataplane_yaml)),
        go_listen_port_(go_listen_port) {}
  void SetUp() override {
    if (!wireguard_mode_.empty()) c.set_wireguard_mode(wireguard_mode_, listen_port_v6_);
    go = &c.add_wireguard_go_node(1, go_listen_port_);
    tartan = &c.add_tartan_node(2, "wireguard", false, "vnet_tap", control_yaml_, dataplane_yaml_);
    c.connect(*go, *tartan);
  }
  Cluster c;
  ClusterNode* go = nullptr;
  ClusterNode* tartan = nullptr;
  // Set by a test's constructor: Cluster::set_wireguard_mode's.
  std::string wireguard_mode_;
  uint16_t listen_port_v6_ = 51821;

 private:
  std::string control_yaml_, dataplane_yaml_;
  uint16_t go_listen_port_;
};

// Pings `to`'s pod from `from`'s; returns ping's output.
std::string ping(Cluster& c, ClusterNode& from, ClusterNode& to,
                 const std::string& options = "-c 3 -i 0.2 -W 2");
// The same over IPv6, between the pods' IPv6 addresses (clusters with IPv6).
std::string ping6(Cluster& c, ClusterNode& from, ClusterNode& to,
                  const std::string& options = "-c 3 -i 0.2 -W 2");
bool all_replied(const std::string& ping_output);
// Pings until one is answered, for up to 30 s: a path whose first
// packets wait for something (a wireguard handshake) to come up.
bool path_up(Cluster& c, ClusterNode& from, ClusterNode& to);
bool path_up6(Cluster& c, ClusterNode& from, ClusterNode& to);  // over IPv6

// A tartan node's counter of drop reason `reason` (`tartanctl stats`).
uint64_t drop_count(Cluster& c, ClusterNode& n, const std::string& reason);
// A tartan node's count of event `name` (`tartanctl stats`).
uint64_t event_count(Cluster& c, ClusterNode& n, const std::string& name);

// The path of a helper script in tests/e2e/tools.
std::string e2e_tool(const std::string& name);

inline constexpr const char* kPython = "/usr/bin/python3";  // Debian's, where python3-scapy lives
// The command line running tools/<tool> with `args`.
std::string python(const std::string& tool, const std::string& args);

// Sends `bytes` over TCP from `from`'s pod to `to`'s (to its IPv6 address
// with `ipv6`) and checks what arrived; returns the sender's retransmitted
// segments per sent segment.
double tcp_transfer(Cluster& c, ClusterNode& from, ClusterNode& to, uint64_t bytes,
                    bool ipv6 = false);

}  // namespace tartan::testing
