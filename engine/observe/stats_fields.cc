#include "engine/observe/stats_fields.h"

namespace tartan {
namespace {

constexpr StatField<PortStats> kPortFields[] = {
    {"rx_packets", "packets received", &PortStats::rx_packets},
    {"rx_bytes", "bytes received (Ethernet header included, no CRC)", &PortStats::rx_bytes},
    {"tx_packets", "packets sent", &PortStats::tx_packets},
    {"tx_bytes", "bytes sent (Ethernet header included, no CRC)", &PortStats::tx_bytes},
    {"hw_rx_missed", "packets the device dropped for want of a free RX descriptor",
     &PortStats::hw_rx_missed},
    {"hw_rx_errors", "erroneous packets the device reported on receive", &PortStats::hw_rx_errors},
    {"hw_tx_errors", "packets the device failed to transmit", &PortStats::hw_tx_errors},
    {"link_downs", "times the link went down (memif, vhost: the peer went away)",
     &PortStats::link_downs},
};

constexpr StatField<WorkerStats> kWorkerFields[] = {
    {"loops", "iterations of the worker's poll loop", &WorkerStats::loops},
    {"busy_loops", "poll loop iterations that received at least one packet",
     &WorkerStats::busy_loops},
    {"packets", "packets received in busy iterations", &WorkerStats::processed},
    {"busy_cycles", "TSC cycles spent in busy iterations", &WorkerStats::busy_cycles},
};

constexpr StatField<EventStats> kEventFields[] = {
    {"arp_replies", "ARP requests answered (our public IP, proxy ARP on the overlay)",
     &EventStats::arp_replies},
    {"arp_requests_sent", "ARP requests sent for underlay neighbours",
     &EventStats::arp_requests_sent},
    {"arp_learned", "neighbour MACs learned from ARP", &EventStats::arp_learned},
    {"arp_wait", "packets handed over to wait for ARP resolution", &EventStats::arp_wait},
    {"arp_released", "waiting packets sent once their neighbour resolved",
     &EventStats::arp_released},
    {"arp_held_now", "packets waiting for ARP resolution now", &EventStats::arp_held_now,
     StatKind::kGauge},
    {"nd_solicits_sent", "neighbour solicitations sent for underlay IPv6 neighbours",
     &EventStats::nd_solicits_sent},
    {"nd_solicits_answered",
     "neighbour solicitations for our underlay IPv6 address answered with an advertisement",
     &EventStats::nd_solicits_answered},
    {"nd_adverts_received", "neighbour advertisements received (learned from or not)",
     &EventStats::nd_adverts_received},
    {"nd_learned", "neighbour MACs learned or confirmed from neighbour discovery",
     &EventStats::nd_learned},
    {"icmp_errors", "ICMP and ICMPv6 errors sent (too big, unreachable, hop limit exceeded)",
     &EventStats::icmp_errors},
    {"to_exception", "packets handed to the exception port", &EventStats::to_exception},
    {"to_slow_path", "underlay frames for ARP or the host handed to the slow-path worker",
     &EventStats::to_slow_path},
    {"decap_offloaded", "VXLAN packets the underlay NIC decapsulated itself",
     &EventStats::decap_offloaded},
    {"reassembled", "packets put together from outer IPv4 fragments", &EventStats::reassembled},
    {"fragments_reassembled", "outer IPv4 fragments in reassembled packets",
     &EventStats::fragments_reassembled},
    {"fragments_held_now", "outer fragments waiting for the rest of their packet now",
     &EventStats::fragments_held_now, StatKind::kGauge},
    {"gso_packets", "GSO packets from a vnet tap cut into segments", &EventStats::gso_packets},
    {"gso_segments", "segments cut from GSO packets", &EventStats::gso_segments},
    {"gro_merged", "packets merged for a vnet tap (one GSO write each)", &EventStats::gro_merged},
    {"gro_segments", "segments merged into them", &EventStats::gro_segments},
    {"probes_sent", "tunnel probes (ICMP echo requests to remote nodes' VTEPs) sent",
     &EventStats::probes_sent},
    {"probe_replies", "tunnel probes' echo replies received", &EventStats::probe_replies},
    {"wg_keepalives", "wireguard keepalives (empty transport messages) received",
     &EventStats::wg_keepalives},
    {"wg_handshakes", "wireguard handshake messages handed to the control thread",
     &EventStats::wg_handshakes},
};

constexpr StatField<PeerStats> kPeerFields[] = {
    {"encap_packets", "packets encapsulated to the remote node", &PeerStats::encap_packets},
    {"encap_bytes", "bytes encapsulated to the remote node", &PeerStats::encap_bytes},
    {"decap_packets", "packets decapsulated from the remote node", &PeerStats::decap_packets},
    {"decap_bytes", "bytes decapsulated from the remote node", &PeerStats::decap_bytes},
};

}  // namespace

std::span<const StatField<PortStats>> port_stat_fields() {
  return kPortFields;
}
std::span<const StatField<WorkerStats>> worker_stat_fields() {
  return kWorkerFields;
}
std::span<const StatField<EventStats>> event_stat_fields() {
  return kEventFields;
}
std::span<const StatField<PeerStats>> peer_stat_fields() {
  return kPeerFields;
}

}  // namespace tartan
