// What every worker reads and nobody writes while they run: addresses,
// backend parameters, port roles and the table readers.
#pragma once

#include <rte_ether.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include <array>
#include <atomic>
#include <cstdint>

#include "engine/engine_config.h"
#include "engine/tables/tables.h"

namespace tartan {

class CaptureSession;
class TraceSession;
class VnetTap;
class WireguardSessions;

inline constexpr uint16_t kNoPort = UINT16_MAX;

struct PortContext {
  PortRole role = PortRole::kOverlay;
  bool tartan_routes = false;  // overlay: tartan is the IPv4 hop (TTL, ICMP)
  rte_ether_addr mac{};        // the port's own MAC
  // A tap with virtio-net headers (vnet_tap.h): the worker polling its RX
  // queue 0 moves its frames, it takes GRO-merged TCP, and what it sends
  // may be a GSO packet to segment.
  VnetTap* vnet_tap = nullptr;
};

struct DatapathContext {
  BackendType backend = BackendType::kVxlan;
  uint16_t underlay_port = kNoPort;
  uint16_t exception_port = kNoPort;
  rte_ether_addr underlay_mac{};
  uint32_t underlay_ip_be = 0;  // network order; 0 on an IPv6-only underlay
  uint16_t tunnel_port_be = 0;  // UDP destination port of the backend, network order
  uint32_t vni_be = 0;          // VNI << 8, network order, as in the VXLAN header
  rte_ether_addr vtep_mac{};
  uint16_t overlay_mtu = 1450;
  // IPv6 (flannel-v6), fixed at launch: off (and nothing of it tested per
  // IPv4 packet) while the underlay has no IPv6 address; then IPv6 frames
  // are handled as before it existed (not_ipv4, or the exception port).
  bool ipv6 = false;
  std::array<uint8_t, 16> underlay_ip6{};  // our public IPv6, network order
  rte_ether_addr vtep_mac6{};              // flannel-v6's VTEP MAC (inner destination)
  uint16_t overlay_mtu6 = 1430;            // DataplaneConfig::overlay_mtu6()
  // The UDP destination port of the backend over IPv6, network order:
  // wireguard's ListenPortV6, else tunnel_port_be.
  uint16_t tunnel_port6_be = 0;
  bool udp_checksum = true;
  bool direct_routing = false;  // vxlan DirectRouting: accept unencapsulated pod traffic too
  // DataplaneConfig::cross_family_routes: a packet of either family may be
  // sealed behind either family's underlay (its next hop's).
  bool cross_family_routes = false;
  bool tx_ipv4_cksum_offload = false;  // underlay port computes outer IPv4 checksums
  bool tx_udp_cksum_offload = false;   // underlay port computes outer UDP checksums
  bool rx_udp_cksum_offload = false;   // underlay port verifies UDP checksums (mbuf flags)
  uint32_t icmp_rate_per_s = 1000;
  uint32_t idle_sleep_us = 0;  // workers.idle_sleep_us
  // The underlay NIC decapsulates known nodes' VXLAN and marks it with the
  // next-hop id (flow_offload.h): marked packets skip software decap.
  bool hw_decap = false;
  uint32_t next_hop_capacity = 0;  // bound of a valid mark
  std::array<PortContext, RTE_MAX_ETHPORTS> ports{};
  TableReaders tables;
  // The wireguard backend's keys (null on other backends).
  const WireguardSessions* wireguard = nullptr;
  rte_rcu_qsbr* rcu = nullptr;
  // Where segmentation takes its mbufs: headers are copied into `pool`'s,
  // payload is referenced by `indirect_pool`'s (rte_gso).
  rte_mempool* pool = nullptr;
  rte_mempool* indirect_pool = nullptr;
  // Our address on the overlay (our podCIDR's network address, as flannel.1
  // has), the source of ICMP errors where tartan is the hop; 0 until a
  // lease is set.
  const std::atomic<uint32_t>* overlay_address_be = nullptr;
  // The same for IPv6: our IPv6 podCIDR's network address, as flannel-v6's
  // device (and the host side of our tap) holds it; null until an IPv6
  // lease is set. Too wide for one atomic store, it is published as the
  // capture is: a worker reads what it loaded within one loop, and the
  // engine rewrites an address only a grace period after replacing it.
  const std::atomic<const Ipv6Addr*>* overlay_address6 = nullptr;
  // The ICMP identifier of our tunnel probes (probe.h), network order: an
  // echo reply for our overlay address that carries it (and the probes'
  // marker) goes to the control side, not to the host.
  uint16_t probe_ident_be = 0;
  // The capture workers offer packets to (Engine::set_capture); null: none.
  const std::atomic<CaptureSession*>* capture = nullptr;
  // The trace whose packets workers follow (Engine::set_trace); null: none.
  const std::atomic<TraceSession*>* trace = nullptr;
};

}  // namespace tartan
