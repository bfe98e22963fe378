// tartand's whole configuration: what the engine needs (EngineConfig) plus
// flannel's network config, the control API, the lease source and
// subnet.env. Filled by load_config(); every default lives here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/config/etcd_config.h"
#include "control/config/kube_config.h"
#include "control/config/wireguard_key.h"
#include "engine/engine_config.h"
#include "engine/log.h"
#include "engine/net_types.h"
#include "engine/observe/shown_peers.h"

namespace tartan {

// The underlay MTUs tartan takes (ports.underlay.mtu, Backend.MTU in the
// config file and in net-conf.json): at least the datagram every IPv4 host
// must take (RFC 791), so that an overlay MTU is left after any tunnel's
// headers; at most a jumbo frame.
inline constexpr uint16_t kMinUnderlayMtu = 576;
inline constexpr uint16_t kMaxUnderlayMtu = 9216;

// flannel's wireguard backend (pkg/backend/wireguard): which devices
// carry which family. separate: flannel-wg for IPv4 on ListenPort and
// flannel-wg-v6 for IPv6 on ListenPortV6; auto, ipv4, ipv6: one device on
// ListenPort for both, each peer reached at its public IPv4 (ipv4), its
// public IPv6 (ipv6) or whichever flannel's selectPublicEndpoint prefers.
enum class WireguardMode { kSeparate, kAuto, kIpv4, kIpv6 };
const char* wireguard_mode_name(WireguardMode mode);  // flannel's spelling: "separate", ...

// The wireguard backend's keys, with flannel's defaults.
struct WireguardBackendConfig {
  uint16_t listen_port = 51820;     // ListenPort
  uint16_t listen_port_v6 = 51821;  // ListenPortV6: separate mode's IPv6 device
  std::optional<WireguardKey> psk;  // PSK: one preshared key for every peer
  // PersistentKeepaliveInterval in seconds (flannel multiplies the number
  // by time.Second); 0: off.
  uint16_t persistent_keepalive_s = 0;
  WireguardMode mode = WireguardMode::kSeparate;
  // Ours, not a net-conf key: settled at launch from the key store
  // (node.state_dir/wgkey), announced in our PublicKey.
  std::optional<WireguardKey> public_key;
};

// flannel's net-conf.json "Backend" object.
struct BackendConfig {
  BackendType type = BackendType::kVxlan;
  uint32_t vni = 1;             // 24-bit VXLAN network identifier
  uint16_t port = 0;            // UDP port; 0 until defaulted: 8472 (vxlan) or 8285 (udp)
  uint16_t mtu = 0;             // underlay MTU in bytes; 0: the underlay port's mtu
  bool direct_routing = false;  // vxlan: same-subnet peers get plain L2 forwarding
  WireguardBackendConfig wireguard;
};

// flannel's net-conf.json, with flannel's defaults applied.
struct NetworkConfig {
  bool enable_ipv4 = true;
  bool enable_ipv6 = false;
  Ipv4Prefix network;      // the cluster's pod network, e.g. 10.244.0.0/16
  uint8_t subnet_len = 0;  // prefix length of each node's podCIDR
  Ipv4Addr subnet_min;     // first podCIDR handed out
  Ipv4Addr subnet_max;     // last podCIDR handed out
  std::optional<Ipv6Prefix> ipv6_network;
  uint8_t ipv6_subnet_len = 0;
  Ipv6Addr ipv6_subnet_min;  // first IPv6 podCIDR handed out (etcd leases)
  Ipv6Addr ipv6_subnet_max;  // last IPv6 podCIDR handed out
  BackendConfig backend;
};

// The `control.http` section: plain HTTP for probes and scrapers
// (/healthz, /readyz, /metrics), as flanneld's --healthz-ip / --healthz-port.
struct HttpConfig {
  // "" (the default): off, as flanneld's --healthz-port 0. Else
  // "IPv4:PORT" or "[IPv6]:PORT" (control/http/listen_address.h); port 0
  // takes a free one.
  std::string listen;
  // /metrics: the remote nodes with the most packets that get their own
  // tunnel counter series; the rest are summed under node="other".
  uint32_t metrics_peers = kDefaultShownPeers;
};

// The `control.probe` section: tunnel probes (control/cluster/tunnel_prober.h).
struct ProbeConfig {
  // Every this many ms, each routed node gets one ICMP echo request through
  // the tunnel; 0 (the default): no probes.
  uint32_t interval_ms = 0;
  // An unanswered probe is lost after this long; at most interval_ms.
  uint32_t timeout_ms = 1000;
};

struct ControlConfig {
  // "unix:///run/tartan/tartan.sock" (default) or "HOST:PORT" for TCP, which
  // requires tls_cert and tls_key.
  std::string listen = "unix:///run/tartan/tartan.sock";
  std::string tls_cert;       // PEM server certificate (TCP)
  std::string tls_key;        // PEM server key (TCP)
  std::string tls_client_ca;  // PEM CA; when set, clients must present a certificate it signed
  // Node events kept for WatchNodes: a watch starting further back is
  // resynced; an open watch whose client falls further behind is ended.
  uint32_t watch_history = 16384;
  // ... and at most this many MiB of them: one node's changes cost its whole
  // object each, so a count alone does not bound the memory.
  uint32_t watch_history_mb = 16;
  // Group owning the unix socket (mode 0660): who may use the API without
  // being root. "" keeps tartand's own group; `socket_gid` is resolved from
  // it when the config is loaded.
  std::string socket_group;
  std::optional<uint32_t> socket_gid;
  uint32_t max_message_bytes = 4 << 20;  // largest request or response; above: RESOURCE_EXHAUSTED
  uint32_t max_concurrent_streams = 64;  // calls open at once on one client connection
  // A stream (WatchNodes) whose client takes none of its messages for this
  // long is ended, so a stopped client holds nothing for ever.
  uint32_t stream_write_timeout_ms = 30000;
  HttpConfig http;
  ProbeConfig probe;
};

enum class LeaseSource { kStatic, kGrpc, kEtcd, kKube };

const char* lease_source_name(LeaseSource source);

struct LeaseConfig {
  LeaseSource source = LeaseSource::kStatic;
  std::optional<Ipv4Prefix> subnet;     // static: our podCIDR (with EnableIPv4)
  std::optional<Ipv6Prefix> subnet_v6;  // static: our IPv6 podCIDR (with EnableIPv6)
  EtcdConfig etcd;                      // etcd: where and how
  KubeConfig kube;                      // kube: the API server and timings
};

// This node as the cluster knows it.
struct NodeConfig {
  std::string name;  // the Kubernetes Node name; default $NODE_NAME, else the hostname
  std::string annotation_prefix = "flannel.alpha.coreos.com";  // flannel's --kube-annotation-prefix
  std::string state_dir = "/var/lib/tartan";                   // keeps the VtepMAC across restarts
};

// The `log` section; tartand's --log-level, --log-format and
// --stats-interval override it.
struct LogConfig {
  uint32_t level = RTE_LOG_INFO;
  LogFormat format = LogFormat::kText;  // text: "TIME LEVEL COMPONENT: MESSAGE"; json: one object
  uint32_t stats_interval = 5;          // seconds between counter summaries; 0: none
};

struct Config {
  std::string source_name;  // file path, or "<embedded configs/tartan.yaml>"
  EngineConfig engine;      // eal, ports, workers, dataplane
  NetworkConfig network;
  // lease.source etcd with neither `network` nor `network_file`: as for
  // flanneld, <prefix>/config in etcd is the network config and must exist;
  // `network` is filled from it at start.
  bool network_from_etcd = false;
  // The net-conf.json `network` was read from (kube-flannel's ConfigMap,
  // mounted); "" when the config holds the `network` section itself.
  std::string network_file;
  NodeConfig node;
  ControlConfig control;
  LeaseConfig lease;
  std::string subnet_file = "/run/flannel/subnet.env";
  bool ip_masq = false;  // FLANNEL_IPMASQ in subnet.env (flannel's --ip-masq)
  // The kernel interface of the first overlay port when tartan programs the
  // host's routes into it (a net_tap with host_routes on); "" otherwise.
  std::string host_tap;
  LogConfig log;
};

}  // namespace tartan
