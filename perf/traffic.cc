#include "perf/traffic.h"

#include <arpa/inet.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <array>
#include <cstdio>
#include <cstring>

namespace tartan::perf {
namespace {

constexpr uint16_t kMaxBurst = 64;

bool setup_port(uint16_t port, rte_mempool* pool) {
  rte_eth_conf conf{};
  if (rte_eth_dev_configure(port, 1, 1, &conf) != 0) return false;
  const int socket = rte_eth_dev_socket_id(port);
  if (rte_eth_rx_queue_setup(port, 0, 1024, socket, nullptr, pool) != 0) return false;
  if (rte_eth_tx_queue_setup(port, 0, 1024, socket, nullptr) != 0) return false;
  return rte_eth_dev_start(port) == 0;
}

// Ethernet/IPv4/UDP with a valid IP checksum; the flow index picks the UDP
// source port so RSS and tartan's flow hash see distinct 5-tuples.
void build_frame(rte_mbuf* m, const TrafficOptions& o, uint32_t dst_ip_be, uint32_t flow) {
  char* p = rte_pktmbuf_append(m, o.frame_size);
  std::memset(p, 0, o.frame_size);
  auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
  eth->dst_addr = {{0x02, 0, 0, 0, 0, 0x02}};
  eth->src_addr = {{0x02, 0, 0, 0, 0, 0x01}};
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = rte_cpu_to_be_16(o.frame_size - sizeof(rte_ether_hdr));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(10, 244, 1, 10));
  ip->dst_addr = dst_ip_be;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  udp->src_port = rte_cpu_to_be_16(static_cast<uint16_t>(10000 + flow % 50000));
  udp->dst_port = rte_cpu_to_be_16(5001);
  udp->dgram_len = rte_cpu_to_be_16(o.frame_size - sizeof(rte_ether_hdr) - sizeof(rte_ipv4_hdr));
}

}  // namespace

int run_traffic(const TrafficOptions& o, volatile std::sig_atomic_t& stop) {
  const bool tx = o.mode == "txonly", rx = o.mode == "rxonly", io = o.mode == "io";
  if (!tx && !rx && !io) {
    std::fprintf(stderr, "tartan-perf: --mode: expected txonly, rxonly or io, got '%s'\n",
                 o.mode.c_str());
    return 2;
  }
  if (o.frame_size < 60 || o.frame_size > 1514) {
    std::fprintf(stderr, "tartan-perf: --size: %u is outside 60..1514\n", o.frame_size);
    return 2;
  }
  if (o.burst == 0 || o.burst > kMaxBurst || o.flows == 0) {
    std::fprintf(stderr, "tartan-perf: --burst must be 1..64 and --flows at least 1\n");
    return 2;
  }
  in_addr dst{};
  if (inet_pton(AF_INET, o.dst_ip.c_str(), &dst) != 1) {
    std::fprintf(stderr, "tartan-perf: --dst-ip: '%s' is not an IPv4 address\n", o.dst_ip.c_str());
    return 2;
  }
  const uint16_t nports = rte_eth_dev_count_avail();
  const uint16_t needed = io ? 2 : static_cast<uint16_t>((tx ? o.tx_port : o.rx_port) + 1);
  if (nports < needed) {
    std::fprintf(stderr,
                 "tartan-perf: mode %s needs port %u but EAL created %u port(s) (add --vdev)\n",
                 o.mode.c_str(), needed - 1, nports);
    return 2;
  }
  rte_mempool* pool = rte_pktmbuf_pool_create(
      "perf_pool", o.mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
  if (pool == nullptr) {
    std::fprintf(
        stderr,
        "tartan-perf: cannot create a mempool of %u mbufs: %s (give EAL more memory with -m)\n",
        o.mbufs, rte_strerror(rte_errno));
    return 1;
  }
  for (uint16_t p = 0; p < needed; ++p) {
    if ((io || p == (tx ? o.tx_port : o.rx_port)) && !setup_port(p, pool)) {
      std::fprintf(stderr, "tartan-perf: cannot set up port %u\n", p);
      return 1;
    }
  }

  TrafficResult r;
  std::array<rte_mbuf*, kMaxBurst> pkts;
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t start = rte_get_tsc_cycles();
  const uint64_t end = o.duration_seconds ? start + o.duration_seconds * hz : UINT64_MAX;
  uint64_t next_report = start + hz;
  uint64_t last_tx = 0, last_rx = 0;
  uint32_t flow = 0;
  while (!stop) {
    const uint64_t now = rte_get_tsc_cycles();
    if (now >= end) break;
    if (tx) {
      if (rte_pktmbuf_alloc_bulk(pool, pkts.data(), o.burst) == 0) {
        for (uint16_t i = 0; i < o.burst; ++i)
          build_frame(pkts[i], o, dst.s_addr, flow++ % o.flows);
        const uint16_t sent = rte_eth_tx_burst(o.tx_port, 0, pkts.data(), o.burst);
        r.tx_packets += sent;
        if (sent < o.burst) rte_pktmbuf_free_bulk(&pkts[sent], o.burst - sent);
      }
    } else if (rx) {
      const uint16_t n = rte_eth_rx_burst(o.rx_port, 0, pkts.data(), o.burst);
      r.rx_packets += n;
      if (n) rte_pktmbuf_free_bulk(pkts.data(), n);
    } else {
      for (uint16_t in = 0; in < 2; ++in) {
        const uint16_t n = rte_eth_rx_burst(in, 0, pkts.data(), o.burst);
        if (n == 0) continue;
        r.rx_packets += n;
        const uint16_t sent = rte_eth_tx_burst(in ^ 1, 0, pkts.data(), n);
        r.tx_packets += sent;
        if (sent < n) rte_pktmbuf_free_bulk(&pkts[sent], n - sent);
      }
    }
    if (now >= next_report) {
      std::printf("tartan-perf: %s tx %.3f Mpps rx %.3f Mpps\n", o.mode.c_str(),
                  (r.tx_packets - last_tx) / 1e6, (r.rx_packets - last_rx) / 1e6);
      std::fflush(stdout);
      last_tx = r.tx_packets;
      last_rx = r.rx_packets;
      next_report += hz;
    }
  }
  r.seconds = static_cast<double>(rte_get_tsc_cycles() - start) / static_cast<double>(hz);
  std::printf(
      "tartan-perf: done: mode %s, %.2f s, tx %llu pkts (%.3f Mpps), rx %llu pkts (%.3f Mpps)\n",
      o.mode.c_str(), r.seconds, static_cast<unsigned long long>(r.tx_packets),
      r.tx_packets / r.seconds / 1e6, static_cast<unsigned long long>(r.rx_packets),
      r.rx_packets / r.seconds / 1e6);
  for (uint16_t p = 0; p < needed; ++p) {
    rte_eth_dev_stop(p);
    rte_eth_dev_close(p);
  }
  rte_mempool_free(pool);
  return 0;
}

}  // namespace tartan::perf
