// Packet builders shared by tests and benchmarks: frames written into real
// mbufs from a mempool, with correct lengths and checksums.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/net_types.h"

namespace tartan::testing {

struct UdpFrameSpec {
  MacAddr src_mac = *MacAddr::parse("02:00:00:00:00:01");
  MacAddr dst_mac = *MacAddr::parse("02:00:00:00:00:02");
  Ipv4Addr src_ip = *Ipv4Addr::parse("10.244.1.10");
  Ipv4Addr dst_ip = *Ipv4Addr::parse("10.244.2.10");
  uint16_t src_port = 10000;
  uint16_t dst_port = 5001;
  uint8_t ttl = 64;
  uint8_t tos = 0;
  bool dont_fragment = false;
  uint16_t payload_size = 18;  // bytes of UDP payload (18 makes a 64-byte frame with CRC)
  uint8_t payload_fill = 0xab;
};

// Ethernet/IPv4/UDP frame bytes (no CRC), IP and UDP checksums valid.
std::vector<uint8_t> udp_frame(const UdpFrameSpec& spec);

// Copies bytes into a fresh mbuf from `pool`.
rte_mbuf* to_mbuf(rte_mempool* pool, const std::vector<uint8_t>& bytes);

// The bytes of an mbuf chain.
std::vector<uint8_t> from_mbuf(const rte_mbuf* m);

void free_all(const std::vector<rte_mbuf*>& pkts);

}  // namespace tartan::testing
