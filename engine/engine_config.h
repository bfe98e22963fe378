// What the engine needs to know to start: plain values, filled in by the
// control plane's config loader (engine/ knows nothing of YAML).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/net_types.h"
#include "engine/wireguard/constants.h"

namespace tartan {

enum class HugepageMode { kAuto, kOn, kOff };

struct EalConfig {
  unsigned main_lcore = 0;
  unsigned memory_mb = 512;  // per process, hugepage or anonymous memory
  HugepageMode hugepages = HugepageMode::kAuto;
  std::string file_prefix;  // empty: "tartan-<pid>", unique per process
  // DPDK secondary processes (dpdk-dumpcap, dpdk-proc-info) may attach:
  // EAL keeps its shared config and hugepage files, and rte_pdump serves
  // dumpcap. Needs hugepages.
  bool secondary_processes = false;
  std::vector<std::string> extra_args;
};

enum class PortRole { kUnderlay, kOverlay, kException };

const char* port_role_name(PortRole role);

// Whether tartan is the IPv4 hop for an overlay port's hosts (decrementing
// TTL, answering with ICMP), or the host kernel is (a tap standing where
// flannel.1 does: the kernel routes between cni0 and the tap itself).
enum class OverlayRouting { kAuto, kTartan, kHost };

struct PortConfig {
  std::string name;    // tartan's name for the port, used in logs, stats and the API
  std::string device;  // PCI address ("0000:3b:00.0[,args]") or vdev devargs ("net_tap0,iface=x")
  PortRole role = PortRole::kOverlay;
  uint16_t mtu = 0;            // 0: leave the device's MTU as it is
  std::optional<MacAddr> mac;  // set the port's MAC; otherwise keep the device's
  OverlayRouting routing = OverlayRouting::kAuto;  // overlay: auto = host for net_tap, else tartan
};

struct UnderlayConfig {
  // Our public IP with its on-link prefix, e.g. 192.0.2.10/24; nullopt on
  // an IPv6-only underlay (no IPv4 tunnels, ARP or IPv4 flow rules then).
  std::optional<Ipv4Prefix> address;
  std::optional<Ipv4Addr> gateway;  // next hop for remote VTEPs outside `address`'s subnet
  // Dual stack (issue 14): our public IPv6 with its on-link prefix, e.g.
  // 2001:db8::10/64, and the router for IPv6 VTEPs outside it.
  std::optional<Ipv6Prefix> ipv6_address;
  std::optional<Ipv6Addr> ipv6_gateway;
};

// flannel's backend types; the engine encapsulates for vxlan, udp and
// wireguard.
enum class BackendType { kVxlan, kUdp, kHostGw, kWireguard };

// flannel's spelling: "vxlan", "udp", "host-gw", "wireguard"
const char* backend_type_name(BackendType type);

struct StaticNeighbour {
  Ipv4Addr ip;
  MacAddr mac;
};

// A static underlay IPv6 neighbour (as StaticNeighbour for IPv4).
struct StaticNeighbour6 {
  Ipv6Addr ip;
  MacAddr mac;
};

// wireguard: how long a keypair sends before its initiator wants a new
// one, and after which it is refused both ways (the whitepaper's
// REKEY_AFTER_TIME and REJECT_AFTER_TIME; shorter only in tests).
struct WireguardTimes {
  std::chrono::nanoseconds rekey_after = wireguard::kRekeyAfterTime;
  std::chrono::nanoseconds reject_after = wireguard::kRejectAfterTime;
};

// How the data plane forwards: flannel's backend settings and the table and
// neighbour limits.
struct DataplaneConfig {
  BackendType backend = BackendType::kVxlan;
  uint32_t vni = 1;          // vxlan network identifier (24 bits)
  uint16_t udp_port = 8472;  // vxlan 8472, udp 8285, wireguard 51820 (ListenPort)
  // wireguard: the port IPv6 peers are sent from and heard on: ListenPortV6,
  // flannel-wg-v6's, in Mode separate; ListenPort in the one-device modes.
  // Other backends' IPv6 tunnels use udp_port.
  uint16_t udp_port_v6 = 51821;
  // wireguard in flannel's one-device modes (auto, ipv4, ipv6): one device
  // for both families, so a peer's messages may come over either.
  bool wireguard_one_device = false;
  uint16_t underlay_mtu = 1500;  // bytes; the overlay MTU is this minus the encapsulation
  bool direct_routing = false;   // vxlan: on-link peers get plain L2 forwarding
  bool udp_checksum = true;      // outer UDP checksum on encapsulated packets (kernel default)
  MacAddr vtep_mac;              // our VTEP MAC (inner source MAC); zero: a random one
  MacAddr vtep_mac_v6;           // flannel-v6's own VTEP MAC (backend-v6-data); zero: a random one
  uint32_t max_routes = 131072;  // remote podCIDRs the tables hold
  uint32_t lpm_tbl8_groups = 4096;  // LPM groups for prefixes longer than /24 (one each)
  uint32_t arp_retry_ms = 1000;     // between ARP requests for an unresolved neighbour
  uint32_t arp_max_retries = 3;     // requests before held packets are dropped
  uint32_t arp_refresh_s = 60;      // re-ARP a resolved neighbour this often
  uint32_t arp_queue_len = 64;      // packets held per unresolved neighbour
  uint32_t icmp_rate_per_s = 1000;  // ICMP errors a worker may send per second
  // Outer IPv4 fragments: packets each worker may have in reassembly (each
  // up to 8 fragments), and how long one may take to come together.
  uint32_t reassembly_max_packets = 256;
  uint32_t reassembly_timeout_ms = 1000;
  std::vector<StaticNeighbour> static_neighbours;      // win over ARP
  std::vector<StaticNeighbour6> static_neighbours_v6;  // win over neighbour discovery
  WireguardTimes wireguard_times;

  // underlay_mtu minus 50 (vxlan), 28 (udp) or 80 (wireguard)
  uint16_t overlay_mtu() const;
  // The IPv6 overlay's: underlay_mtu minus 70 for vxlan over IPv6
  // (kVxlan6MtuOverhead, backends/headers.h, says why not flannel's 50),
  // minus 80 for wireguard; host-gw adds nothing.
  uint16_t overlay_mtu6() const;
  // The UDP port of IPv6 tunnels: udp_port_v6 for wireguard, else udp_port.
  uint16_t tunnel_port6() const {
    return backend == BackendType::kWireguard ? udp_port_v6 : udp_port;
  }
  // Whether a route of one family may leave behind the other family's
  // underlay: wireguard's one-device modes.
  bool cross_family_routes() const {
    return backend == BackendType::kWireguard && wireguard_one_device;
  }
};

struct WorkersConfig {
  std::vector<unsigned> lcores{1};  // one poll-mode worker per lcore
  uint16_t burst_size = 32;         // packets per rx/tx burst
  uint16_t rx_descriptors = 1024;   // per RX queue
  uint16_t tx_descriptors = 1024;   // per TX queue
  uint32_t mempool_size = 32767;    // mbufs per NUMA socket
  uint32_t mempool_cache = 256;     // per-lcore mbuf cache
  // Microseconds a worker sleeps after 64 polls in a row found nothing; 0:
  // never sleep (pure poll mode). For hosts where lcores are shared.
  uint32_t idle_sleep_us = 0;
};

struct EngineConfig {
  EalConfig eal;
  std::vector<PortConfig> ports;  // exactly one underlay; one or more overlays; optional exception
  UnderlayConfig underlay;
  WorkersConfig workers;
  DataplaneConfig dataplane;
};

}  // namespace tartan
