// tartan-hostpath-probe: a prototype of the fast host path of issue 19, to
// measure before it is built. Two taps stand for two nodes' overlay
// interfaces (flannel.<VNI>); one busy-polling core relays what the kernel
// writes into one into the other, doing for each packet what tartan's
// workers would do between two nodes:
//
//   plain  taps as DPDK's net_tap opens them (no virtio-net header): the
//          kernel segments and checksums before the tap, one read() and one
//          write() per frame of at most the MTU (today's host path).
//   vnet   taps opened with IFF_VNET_HDR and TUNSETOFFLOAD(CSUM, TSO4,
//          TSO6), what vhost-net does from a kernel thread: the kernel hands
//          over TCP in GSO packets of up to 64 KB with a virtio-net header,
//          one read() each; relayed as they are (the I/O alone).
//   vxlan  vnet, plus the data path: VXLAN encapsulation of each GSO
//          packet, rte_gso into wire-sized VXLAN segments with their
//          checksums (inner TCP, inner and outer IPv4; outer UDP from the
//          inner sums, as Linux's LCO), then on the receiving side the outer
//          UDP checksum verified (--verify), rte_gro back into one packet,
//          decapsulation, and one write() with a virtio-net header.
//
// A measurement prototype, not part of tartand: phase 2 of issue 19 builds
// the host path in the engine from what this measures. It prints, per
// direction, packets, wire segments and the cycles spent outside read() and
// write() per wire segment; iperf3 between namespaces behind the two taps
// gives the throughput (perf/suite/pod_tcp.py). --bench ROUNDS measures the
// vxlan mode's work alone, on synthetic 64 KB GSO packets, without taps.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_gro.h>
#include <rte_gso.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>
#include <rte_vxlan.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "engine/backends/headers.h"
#include "engine/backends/inner_checksum.h"
#include "engine/backends/tunnel_checksum.h"
#include "engine/checksum.h"
#include "engine/eal.h"

namespace {

using namespace tartan;

enum class Mode { kPlain, kVnet, kVxlan };

std::atomic<bool> g_stop{false};

// struct virtio_net_hdr of linux/virtio_net.h, which C++ cannot include
// (a field there is named `class`); native byte order on a little-endian
// host, as a tap without TUNSETVNETBE uses.
struct virtio_net_hdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};
constexpr uint8_t VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
constexpr uint8_t VIRTIO_NET_HDR_GSO_TCPV4 = 1;

constexpr size_t kVnetHdr = sizeof(virtio_net_hdr);
// An mbuf's data room is 16 bits, headroom included: pod_tcp.py gives the
// taps gso_max_size 65000, so a GSO packet fits one mbuf.
constexpr uint16_t kMaxFrame = 65535 - RTE_PKTMBUF_HEADROOM;
constexpr uint16_t kWireFrame = 1514;                    // an outer Ethernet frame at MTU 1500
constexpr uint16_t kInnerL3 = kVxlanOverhead + kEthLen;  // inner IPv4 in a VXLAN frame

struct Tap {
  int fd = -1;
  std::string name;
  rte_ether_addr mac{};
};

Tap open_tap(const std::string& name, bool vnet) {
  Tap t;
  t.name = name;
  t.fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
  if (t.fd < 0) throw std::runtime_error("/dev/net/tun: " + std::string(strerror(errno)));
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (ioctl(t.fd, TUNSETIFF, &ifr) < 0)
    throw std::runtime_error("TUNSETIFF " + name + ": " + strerror(errno));
  if (vnet) {
    int size = kVnetHdr;
    if (ioctl(t.fd, TUNSETVNETHDRSZ, &size) < 0)
      throw std::runtime_error("TUNSETVNETHDRSZ: " + std::string(strerror(errno)));
    if (ioctl(t.fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0)
      throw std::runtime_error("TUNSETOFFLOAD: " + std::string(strerror(errno)));
  }
  if (ioctl(t.fd, SIOCGIFHWADDR, &ifr) < 0)
    throw std::runtime_error("SIOCGIFHWADDR: " + std::string(strerror(errno)));
  std::memcpy(t.mac.addr_bytes, ifr.ifr_hwaddr.sa_data, 6);
  return t;
}

// An Ethernet header (type IPv4) at `f` and an IPv4 header without options
// after it, carrying `proto`; addresses, length and checksum left to the
// caller.
rte_ipv4_hdr* ethernet_and_ipv4(uint8_t* f, uint8_t proto) {
  reinterpret_cast<rte_ether_hdr*>(f)->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(f + kEthLen);
  std::memset(ip, 0, kIpv4Len);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->time_to_live = 64;
  ip->next_proto_id = proto;
  return ip;
}

struct Direction {
  uint64_t packets = 0, bytes = 0, segments = 0;
  uint64_t send_cycles = 0, receive_cycles = 0;  // outside read() and write()
};

class Relay {
 public:
  Relay(Mode mode, bool verify, rte_mempool* big, rte_mempool* direct, rte_mempool* indirect)
      : mode_(mode), verify_(verify), big_(big) {
    gso_.direct_pool = direct;
    gso_.indirect_pool = indirect;
    gso_.gso_types = RTE_ETH_TX_OFFLOAD_VXLAN_TNL_TSO | RTE_ETH_TX_OFFLOAD_TCP_TSO;
    gso_.gso_size = kWireFrame;
    gso_.flag = 0;
    gro_.gro_types = RTE_GRO_IPV4_VXLAN_TCP_IPV4;
    gro_.max_flow_num = 4;
    gro_.max_item_per_flow = 64;
  }

  // Moves what waits in `from` to `to`; false when nothing was there.
  bool pass(Tap& from, Tap& to, Direction& d) {
    rte_mbuf* m = rte_pktmbuf_alloc(big_);
    if (m == nullptr) return false;
    virtio_net_hdr vh{};
    iovec in[2];
    int n = 0;
    if (mode_ != Mode::kPlain) in[n++] = {&vh, kVnetHdr};
    in[n++] = {rte_pktmbuf_mtod(m, void*), rte_pktmbuf_tailroom(m)};
    const ssize_t got = readv(from.fd, in, n);
    const ssize_t frame = got - (mode_ != Mode::kPlain ? kVnetHdr : 0);
    if (got <= 0 || frame < kEthLen) {
      rte_pktmbuf_free(m);
      return false;
    }
    rte_pktmbuf_append(m, static_cast<uint16_t>(frame));
    ++d.packets;
    d.bytes += frame;
    rte_pktmbuf_mtod(m, rte_ether_hdr*)->dst_addr = to.mac;
    if (mode_ != Mode::kVxlan) {
      ++d.segments;
      write_out(to, m, mode_ == Mode::kVnet ? &vh : nullptr);
      return true;
    }
    std::array<rte_mbuf*, 128> segs;
    std::array<virtio_net_hdr, 128> out;
    const uint16_t merged = carry(m, vh, segs.data(), out.data(), d);
    for (uint16_t i = 0; i < merged; ++i) write_out(to, segs[i], &out[i]);
    return true;
  }

  // What the two nodes' workers do for the GSO packet `m` (virtio-net
  // header `vh`): the sender encapsulates and segments it, the receiver
  // verifies, merges and decapsulates. Returns the packets to write, with
  // their virtio-net headers in `out`.
  uint16_t carry(rte_mbuf* m, const virtio_net_hdr& vh, rte_mbuf** segs, virtio_net_hdr* out,
                 Direction& d) {
    const uint64_t t0 = rte_rdtsc();
    const int nsegs = encapsulate_and_segment(m, vh, segs, 128);
    const uint64_t t1 = rte_rdtsc();
    d.send_cycles += t1 - t0;
    if (nsegs <= 0) return 0;
    d.segments += static_cast<uint64_t>(nsegs);
    // The wire. Then the receiving node.
    const uint16_t merged = receive(segs, static_cast<uint16_t>(nsegs));
    for (uint16_t i = 0; i < merged; ++i) out[i] = decapsulate(segs[i]);
    d.receive_cycles += rte_rdtsc() - t1;
    return merged;
  }

  // A GSO packet as the kernel hands it over a tap: Ethernet, IPv4, TCP
  // with timestamps, `payload` bytes, the TCP checksum left partial.
  rte_mbuf* synthetic_gso_packet(uint16_t payload, virtio_net_hdr& vh) {
    rte_mbuf* m = rte_pktmbuf_alloc(big_);
    constexpr uint16_t kTcpLen = 32;
    auto* f =
        reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kEthLen + kIpv4Len + kTcpLen + payload));
    std::memset(f, 0x5a, rte_pktmbuf_pkt_len(m));
    auto* ip = ethernet_and_ipv4(f, IPPROTO_TCP);
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(kIpv4Len + kTcpLen + payload));
    ip->src_addr = rte_cpu_to_be_32(0x0af40102);
    ip->dst_addr = rte_cpu_to_be_32(0x0af40202);
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    auto* tcp = reinterpret_cast<rte_tcp_hdr*>(ip + 1);
    tcp->data_off = (kTcpLen / 4) << 4;
    tcp->tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG;
    tcp->cksum = rte_ipv4_phdr_cksum(ip, 0);
    vh = {VIRTIO_NET_HDR_F_NEEDS_CSUM,  VIRTIO_NET_HDR_GSO_TCPV4,
          kEthLen + kIpv4Len + kTcpLen, kWireFrame - kInnerL3 - kIpv4Len - kTcpLen,
          kEthLen + kIpv4Len,           offsetof(rte_tcp_hdr, cksum)};
    return m;
  }

 private:
  // Sender side: the GSO packet in `m` (virtio-net header `vh`) gets outer
  // headers and is cut into wire-sized VXLAN segments with checksums.
  int encapsulate_and_segment(rte_mbuf* m, const virtio_net_hdr& vh, rte_mbuf** out, uint16_t max) {
    const auto* inner_ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEthLen);
    if (rte_pktmbuf_mtod(m, rte_ether_hdr*)->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
        inner_ip->next_proto_id != IPPROTO_TCP) {
      rte_pktmbuf_free(m);  // the experiment carries TCP only
      return 0;
    }
    // Outer Ethernet, IPv4, UDP, VXLAN in front of the inner frame.
    auto* h = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kVxlanOverhead));
    auto* oip = ethernet_and_ipv4(h, IPPROTO_UDP);
    oip->src_addr = rte_cpu_to_be_32(0xc000020b);  // 192.0.2.11
    oip->dst_addr = rte_cpu_to_be_32(0xc000020c);  // 192.0.2.12
    oip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - kEthLen));
    auto* udp = reinterpret_cast<rte_udp_hdr*>(h + kEthLen + kIpv4Len);
    udp->src_port = rte_cpu_to_be_16(40000);
    udp->dst_port = rte_cpu_to_be_16(8472);
    udp->dgram_len =
        rte_cpu_to_be_16(static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - kEthLen - kIpv4Len));
    udp->dgram_cksum = 0;
    auto* vx = reinterpret_cast<rte_vxlan_hdr*>(udp + 1);
    vx->vx_flags = rte_cpu_to_be_32(kVxlanFlagsWord);
    vx->vx_vni = rte_cpu_to_be_32(1 << 8);
    set_lengths(m);
    int n = 0;
    if (vh.gso_type == VIRTIO_NET_HDR_GSO_TCPV4) {
      m->ol_flags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_OUTER_IPV4 |
                    RTE_MBUF_F_TX_TUNNEL_VXLAN;
      n = rte_gso_segment(m, &gso_, out, max);
      if (n != 0) rte_pktmbuf_free(m);  // the segments hold what they need of it
      if (n < 0) return n;
    }
    if (n == 0) out[n++] = m;  // nothing to cut
    for (int i = 0; i < n; ++i) finish_segment(out[i]);
    return n;
  }

  // The header lengths of a VXLAN packet whose inner packet is TCP/IPv4,
  // as rte_gso and rte_gro read them.
  static void set_lengths(rte_mbuf* m) {
    const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kInnerL3);
    const auto* tcp =
        rte_pktmbuf_mtod_offset(m, const rte_tcp_hdr*, kInnerL3 + ipv4_header_len(ip));
    m->outer_l2_len = kEthLen;
    m->outer_l3_len = kIpv4Len;
    m->l2_len = kUdpLen + kVxlanLen + kEthLen;
    m->l3_len = ipv4_header_len(ip);
    m->l4_len = static_cast<uint8_t>((tcp->data_off >> 4) * 4);
  }

  // A segment's checksums: inner IPv4 and TCP (summed), outer IPv4, and
  // the outer UDP from the inner sums (Linux's LCO, as tartan's egress).
  static void finish_segment(rte_mbuf* s) {
    auto* oip = rte_pktmbuf_mtod_offset(s, rte_ipv4_hdr*, kEthLen);
    auto* udp = rte_pktmbuf_mtod_offset(s, rte_udp_hdr*, kEthLen + kIpv4Len);
    auto* ip = rte_pktmbuf_mtod_offset(s, rte_ipv4_hdr*, kInnerL3);
    const uint16_t ihl = ipv4_header_len(ip);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    auto* tcp = rte_pktmbuf_mtod_offset(s, rte_tcp_hdr*, kInnerL3 + ihl);
    tcp->cksum = 0;
    tcp->cksum = rte_ipv4_udptcp_cksum_mbuf(s, ip, kInnerL3 + ihl);
    oip->hdr_checksum = 0;
    oip->hdr_checksum = rte_ipv4_cksum(oip);
    udp->dgram_cksum = 0;
    const uint32_t sum =
        ipv4_pseudo_header_sum(oip, IPPROTO_UDP, rte_be_to_cpu_16(udp->dgram_len)) +
        rte_raw_cksum(udp, kUdpLen + kVxlanLen + kEthLen) + *inner_packet_sum(s, ip);
    const uint16_t c = static_cast<uint16_t>(~csum_fold(sum));
    udp->dgram_cksum = c == 0 ? 0xffff : c;
  }

  // Receiving side: outer checksums verified (where the NIC would not),
  // then GRO back into as few packets as the flows allow.
  uint16_t receive(rte_mbuf** segs, uint16_t n) {
    if (n == 1 && !verify_) return 1;
    for (uint16_t i = 0; i < n; ++i) {
      rte_mbuf* s = segs[i];
      if (verify_) {
        const auto* udp = rte_pktmbuf_mtod_offset(s, const rte_udp_hdr*, kEthLen + kIpv4Len);
        if (!tunnel_checksums_ok(s, kEthLen + kIpv4Len, rte_be_to_cpu_16(udp->dgram_len), kInnerL3,
                                 RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN))
          std::fprintf(stderr, "a segment's outer UDP checksum is wrong\n");
      }
      s->packet_type = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_UDP |
                       RTE_PTYPE_TUNNEL_VXLAN | RTE_PTYPE_INNER_L2_ETHER | RTE_PTYPE_INNER_L3_IPV4 |
                       RTE_PTYPE_INNER_L4_TCP;
      s->ol_flags = 0;
      set_lengths(s);
    }
    // Only a burst has anything to merge.
    return n > 1 ? rte_gro_reassemble_burst(segs, n, &gro_) : n;
  }

  // The inner frame of a (merged) VXLAN packet, and the virtio-net header
  // that tells the kernel what it is: a GSO packet when GRO merged
  // segments, its TCP checksum then left partial (the kernel trusts it:
  // the outer checksums vouched for the segments).
  static virtio_net_hdr decapsulate(rte_mbuf* m) {
    rte_pktmbuf_adj(m, kVxlanOverhead);
    virtio_net_hdr vh{};
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, kEthLen);
    const uint16_t ihl = ipv4_header_len(ip);
    auto* tcp = rte_pktmbuf_mtod_offset(m, rte_tcp_hdr*, kEthLen + ihl);
    const uint16_t headers = static_cast<uint16_t>(ihl + (tcp->data_off >> 4) * 4);
    const uint16_t mss = kWireFrame - kInnerL3 - headers;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    if (rte_be_to_cpu_16(ip->total_length) - headers > mss) {
      vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
      vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
      vh.hdr_len = static_cast<uint16_t>(kEthLen + headers);
      vh.gso_size = mss;
      vh.csum_start = static_cast<uint16_t>(kEthLen + ihl);
      vh.csum_offset = offsetof(rte_tcp_hdr, cksum);
      tcp->cksum = rte_ipv4_phdr_cksum(ip, 0);
    }
    return vh;
  }

  void write_out(Tap& to, rte_mbuf* m, virtio_net_hdr* vh) {
    std::array<iovec, 256> out;
    int n = 0;
    if (vh != nullptr) out[n++] = {vh, kVnetHdr};
    for (rte_mbuf* s = m; s != nullptr && n < static_cast<int>(out.size()); s = s->next)
      out[n++] = {rte_pktmbuf_mtod(s, void*), rte_pktmbuf_data_len(s)};
    (void)writev(to.fd, out.data(), n);
    rte_pktmbuf_free(m);
  }

  Mode mode_;
  bool verify_;
  rte_mempool* big_;
  rte_gso_ctx gso_{};
  rte_gro_param gro_{};
};

void print(const char* name, const Direction& d) {
  const double hz = static_cast<double>(rte_get_tsc_hz()) / 1e9;
  const double segs = d.segments ? static_cast<double>(d.segments) : 1.0;
  std::printf(
      "%s: %lu packets, %.1f MB, %lu wire segments, %.0f bytes/packet; per wire segment, "
      "outside read/write: send %.0f cycles (%.0f ns), receive %.0f cycles (%.0f ns)\n",
      name, d.packets, static_cast<double>(d.bytes) / 1e6, d.segments,
      d.packets ? static_cast<double>(d.bytes) / static_cast<double>(d.packets) : 0.0,
      static_cast<double>(d.send_cycles) / segs, static_cast<double>(d.send_cycles) / segs / hz,
      static_cast<double>(d.receive_cycles) / segs,
      static_cast<double>(d.receive_cycles) / segs / hz);
}

// The data path's work alone, without taps: `rounds` synthetic 64 KB GSO
// packets through carry(); the fastest round per side is the cost with
// nothing else on the core.
void bench(Relay& relay, int rounds) {
  uint64_t best_send = UINT64_MAX, best_receive = UINT64_MAX, segments = 0;
  std::array<rte_mbuf*, 128> segs;
  std::array<virtio_net_hdr, 128> out;
  for (int r = 0; r < rounds; ++r) {
    virtio_net_hdr vh{};
    rte_mbuf* m = relay.synthetic_gso_packet(64000 - kEthLen - kIpv4Len - 32, vh);
    Direction d;
    const uint16_t merged = relay.carry(m, vh, segs.data(), out.data(), d);
    for (uint16_t i = 0; i < merged; ++i) rte_pktmbuf_free(segs[i]);
    segments = d.segments;
    best_send = std::min(best_send, d.send_cycles);
    best_receive = std::min(best_receive, d.receive_cycles);
  }
  const double hz = static_cast<double>(rte_get_tsc_hz()) / 1e9;
  const double n = static_cast<double>(segments);
  std::printf(
      "bench: 64000-byte GSO packet -> %lu VXLAN segments; best of %d: send %.0f cycles "
      "(%.0f ns) per segment, receive %.0f cycles (%.0f ns) per segment\n",
      segments, rounds, static_cast<double>(best_send) / n, static_cast<double>(best_send) / n / hz,
      static_cast<double>(best_receive) / n, static_cast<double>(best_receive) / n / hz);
}

}  // namespace

int main(int argc, char** argv) {
  remove_runtime_dir_at_exit();
  const int eal = rte_eal_init(argc, argv);
  if (eal < 0) {
    std::fprintf(stderr, "EAL init failed\n");
    return 1;
  }
  note_eal_started();
  argc -= eal;
  argv += eal;
  std::string tap_a = "hpa", tap_b = "hpb", mode_name = "vnet";
  bool verify = false;
  int bench_rounds = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--tap-a" && i + 1 < argc)
      tap_a = argv[++i];
    else if (a == "--tap-b" && i + 1 < argc)
      tap_b = argv[++i];
    else if (a == "--mode" && i + 1 < argc)
      mode_name = argv[++i];
    else if (a == "--verify")
      verify = true;
    else if (a == "--bench" && i + 1 < argc)
      bench_rounds = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr,
                   "usage: %s [EAL] -- [--tap-a N] [--tap-b N] [--mode plain|vnet|vxlan] "
                   "[--verify] [--bench ROUNDS]\n",
                   argv[0]);
      return 2;
    }
  }
  const Mode mode = mode_name == "plain"   ? Mode::kPlain
                    : mode_name == "vxlan" ? Mode::kVxlan
                                           : Mode::kVnet;
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGTERM, [](int) { g_stop = true; });
  // Mbufs that hold a whole GSO packet, for reading into without a copy;
  // small ones for rte_gso's headers and its references into them.
  rte_mempool* big = rte_pktmbuf_pool_create("probe_big", 511, 0, 0,
                                             RTE_PKTMBUF_HEADROOM + kMaxFrame, rte_socket_id());
  rte_mempool* direct = rte_pktmbuf_pool_create("probe_direct", 8191, 256, 0,
                                                RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
  rte_mempool* indirect =
      rte_pktmbuf_pool_create("probe_indirect", 8191, 256, 0, 0, rte_socket_id());
  if (big == nullptr || direct == nullptr || indirect == nullptr) {
    std::fprintf(stderr, "cannot create mempools\n");
    return 1;
  }
  if (bench_rounds > 0) {
    Relay relay(Mode::kVxlan, verify, big, direct, indirect);
    bench(relay, bench_rounds);
    rte_eal_cleanup();
    return 0;
  }
  Tap a = open_tap(tap_a, mode != Mode::kPlain);
  Tap b = open_tap(tap_b, mode != Mode::kPlain);
  std::printf("ready: %s and %s (%s)\n", a.name.c_str(), b.name.c_str(), mode_name.c_str());
  std::fflush(stdout);
  Relay relay(mode, verify, big, direct, indirect);
  Direction ab, ba;
  while (!g_stop.load(std::memory_order_relaxed)) {
    relay.pass(a, b, ab);
    relay.pass(b, a, ba);
  }
  print("a->b", ab);
  print("b->a", ba);
  rte_eal_cleanup();
  return 0;
}
