// The fast host path in-process: an engine whose overlay port is a vnet
// tap, the kernel on the other side of it. A packet socket with virtio-net
// headers (PACKET_VNET_HDR) on the tap's interface stands for the host's
// stack: it hands the tap a GSO packet as TCP would, and sees what tartan
// writes back with the GSO fields the kernel took from it.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <optional>

#include "engine/path/vnet_tap.h"
#include "tests/support/engine_fixture.h"
#include "tests/support/packets.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::EngineFixture;
using testing::FixtureOptions;

constexpr uint16_t kMss = 1398;  // what a 1450-byte overlay MTU leaves TCP with timestamps
constexpr size_t kTcpHeader = 32;

std::string tap_name() {
  return "vtd" + std::to_string(getpid() % 100000);
}

// A packet socket on the tap's interface that sends and receives frames
// with their virtio-net headers.
class HostSide {
 public:
  explicit HostSide(const std::string& iface) {
    fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
    if (fd_ < 0) throw std::runtime_error("packet socket: " + std::string(strerror(errno)));
    int on = 1;
    if (setsockopt(fd_, SOL_PACKET, PACKET_VNET_HDR, &on, sizeof(on)) < 0)
      throw std::runtime_error("PACKET_VNET_HDR: " + std::string(strerror(errno)));
    sockaddr_ll a{};
    a.sll_family = AF_PACKET;
    a.sll_protocol = htons(ETH_P_ALL);
    a.sll_ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) < 0)
      throw std::runtime_error("bind " + iface + ": " + std::string(strerror(errno)));
  }
  ~HostSide() { close(fd_); }

  void send(const VirtioNetHdr& vh, const Bytes& frame) {
    Bytes out(sizeof(vh));
    std::memcpy(out.data(), &vh, sizeof(vh));
    out.insert(out.end(), frame.begin(), frame.end());
    if (::send(fd_, out.data(), out.size(), 0) != static_cast<ssize_t>(out.size()))
      throw std::runtime_error("send: " + std::string(strerror(errno)));
  }

  // The next IPv4 frame the tap handed the kernel (PACKET_HOST), or none
  // after `polls` rounds of `between` (which drives the engine).
  std::optional<std::pair<VirtioNetHdr, Bytes>> receive(const std::function<void()>& between) {
    for (int i = 0; i < 200; ++i) {
      between();
      Bytes buf(sizeof(VirtioNetHdr) + 70000);
      sockaddr_ll from{};
      socklen_t len = sizeof(from);
      const ssize_t n =
          recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) {
        usleep(1000);
        continue;
      }
      if (from.sll_pkttype == PACKET_OUTGOING ||
          n < static_cast<ssize_t>(sizeof(VirtioNetHdr) + 34))
        continue;
      VirtioNetHdr vh;
      std::memcpy(&vh, buf.data(), sizeof(vh));
      Bytes frame(buf.begin() + sizeof(VirtioNetHdr), buf.begin() + n);
      if (frame[12] != 0x08 || frame[13] != 0x00) continue;  // IPv6 noise of a fresh interface
      return std::make_pair(vh, frame);
    }
    return std::nullopt;
  }

 private:
  int fd_ = -1;
};

void put16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}
uint16_t get16(const Bytes& b, size_t at) {
  return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}
uint32_t get32(const Bytes& b, size_t at) {
  return uint32_t{get16(b, at)} << 16 | get16(b, at + 2);
}

// Ethernet/IPv4/TCP (32-byte header with a timestamp option) carrying
// `payload`, starting at sequence `seq`, ACK only. With `checksum` the TCP
// checksum is complete; otherwise it holds the pseudo header's sum, as the
// kernel leaves it for a GSO packet (CHECKSUM_PARTIAL).
Bytes tcp_frame(const testing::Ipv4Spec& ip, uint32_t seq, const Bytes& payload, bool checksum) {
  Bytes tcp(kTcpHeader, 0);
  put16(tcp, 0, 40000);
  put16(tcp, 2, 5201);
  put16(tcp, 4, static_cast<uint16_t>(seq >> 16));
  put16(tcp, 6, static_cast<uint16_t>(seq));
  put16(tcp, 8, 0);
  put16(tcp, 10, 1);                                    // ack number
  tcp[12] = (kTcpHeader / 4) << 4;                      // data offset
  tcp[13] = 0x10;                                       // ACK
  put16(tcp, 14, 502);                                  // window
  tcp[20] = 1, tcp[21] = 1, tcp[22] = 8, tcp[23] = 10;  // NOP NOP TS
  tcp.insert(tcp.end(), payload.begin(), payload.end());
  Bytes frame = testing::ipv4_frame(ip, tcp);
  // Pseudo header: addresses, protocol, TCP length.
  Bytes pseudo(frame.begin() + 26, frame.begin() + 34);
  pseudo.push_back(0);
  pseudo.push_back(6);
  pseudo.push_back(static_cast<uint8_t>(tcp.size() >> 8));
  pseudo.push_back(static_cast<uint8_t>(tcp.size()));
  uint32_t sum = 0;
  for (size_t i = 0; i < pseudo.size(); i += 2) sum += get16(pseudo, i);
  if (checksum) {
    put16(frame, 34 + 16, testing::internet_checksum(frame.data() + 34, tcp.size(), sum));
  } else {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    put16(frame, 34 + 16, static_cast<uint16_t>(sum));
  }
  return frame;
}

bool tcp_checksum_ok(const Bytes& frame, size_t l3) {
  const size_t ihl = (frame[l3] & 0x0f) * 4u;
  const size_t len = get16(frame, l3 + 2) - ihl;
  uint32_t sum = get16(frame, l3 + 12) + get16(frame, l3 + 14) + get16(frame, l3 + 16) +
                 get16(frame, l3 + 18) + 6 + static_cast<uint32_t>(len);
  return testing::internet_checksum(frame.data() + l3 + ihl, len, sum) == 0;
}

Bytes payload_of(size_t n, uint8_t seed) {
  Bytes p(n);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(seed + i * 7);
  return p;
}

class VnetTapPort : public ::testing::Test {
 protected:
  VnetTapPort()
      : fx(FixtureOptions{.overlay_routing = OverlayRouting::kAuto,
                          .overlay_device = "vnet_tap0,iface=" + tap_name()}) {
    // A fresh interface sends IPv6 router solicitations; not this test's.
    std::system(("sysctl -qw net.ipv6.conf." + tap_name() + ".disable_ipv6=1").c_str());
    fx.add_node(2);
    host = std::make_unique<HostSide>(tap_name());
  }
  EngineFixture fx;
  std::unique_ptr<HostSide> host;
};

TEST_F(VnetTapPort, AGsoPacketFromTheHostLeavesAsWireSizedVxlanSegmentsWithGoodChecksums) {
  const Bytes data = payload_of(20000, 3);
  testing::Ipv4Spec ip;
  ip.src_mac = *MacAddr::parse("02:00:00:00:01:99");
  ip.dst_mac = EngineFixture::kOverlayMac;
  ip.protocol = 6;
  ip.dont_fragment = true;
  ip.src_ip = fx.pod_ip();
  ip.dst_ip = *Ipv4Addr::parse("10.244.2.10");
  const uint32_t first_seq = 1000;
  const Bytes gso = tcp_frame(ip, first_seq, data, false);
  host->send({1, 1, static_cast<uint16_t>(14 + 20 + kTcpHeader), kMss, 34, 16}, gso);

  std::vector<Bytes> wire;
  for (int i = 0; i < 200 && wire.size() < 15; ++i) {
    fx.poll();
    for (Bytes& f : fx.take_underlay()) wire.push_back(std::move(f));
    if (wire.size() < 15) usleep(1000);
  }
  ASSERT_EQ(wire.size(), (data.size() + kMss - 1) / kMss) << "segments on the wire";
  Bytes carried;
  uint32_t seq = first_seq;
  for (const Bytes& f : wire) {
    ASSERT_LE(f.size(), 1514u);
    const size_t inner_l3 = 14 + 20 + 8 + 8 + 14;
    EXPECT_EQ(testing::internet_checksum(f.data() + 14, 20), 0) << "outer IPv4 checksum";
    EXPECT_EQ(testing::internet_checksum(f.data() + inner_l3, 20), 0) << "inner IPv4 checksum";
    EXPECT_TRUE(tcp_checksum_ok(f, inner_l3)) << "inner TCP checksum";
    EXPECT_EQ(get32(f, inner_l3 + 20 + 4), seq) << "sequence numbers follow on";
    const size_t payload = get16(f, inner_l3 + 2) - 20 - kTcpHeader;
    EXPECT_LE(payload, kMss);
    carried.insert(carried.end(), f.begin() + inner_l3 + 20 + kTcpHeader,
                   f.begin() + inner_l3 + 20 + kTcpHeader + payload);
    seq += static_cast<uint32_t>(payload);
  }
  EXPECT_EQ(carried, data) << "the segments carry the GSO packet's payload, in order";
  const EventStats e = fx.engine().stats().events;
  EXPECT_EQ(e.gso_packets, 1u);
  EXPECT_EQ(e.gso_segments, wire.size());
  // The fixture's teardown checks the books: the GSO packet consumed, its
  // segments created and sent, every mbuf back (check_books()).
}

TEST_F(VnetTapPort, AGsoPacketThatCannotBeSegmentedForWantOfMbufsIsDroppedAndCounted) {
  testing::Ipv4Spec ip;
  ip.dst_mac = EngineFixture::kOverlayMac;
  ip.protocol = 6;
  ip.dont_fragment = true;
  ip.src_ip = fx.pod_ip();
  ip.dst_ip = *Ipv4Addr::parse("10.244.2.10");
  // Every free mbuf taken: the tap reads into the chain it keeps ready,
  // but rte_gso finds none for the segments' headers.
  std::vector<rte_mbuf*> hoard;
  while (rte_mbuf* m = rte_pktmbuf_alloc(fx.pool())) hoard.push_back(m);
  host->send({1, 1, static_cast<uint16_t>(14 + 20 + kTcpHeader), kMss, 34, 16},
             tcp_frame(ip, 1, payload_of(20000, 1), false));
  for (int i = 0; i < 200 && fx.drops(DropReason::kGsoFailed) == 0; ++i) {
    fx.poll();
    usleep(1000);
  }
  EXPECT_EQ(fx.drops(DropReason::kGsoFailed), 1u);
  EXPECT_TRUE(fx.take_underlay().empty());
  testing::free_all(hoard);
  fx.poll();  // the tap's chain fills up again before the books are checked
}

TEST_F(VnetTapPort, DecapsulatedSegmentsOfAFlowReachTheHostMergedAndABadOneApart) {
  constexpr int kSegments = 8;
  testing::Ipv4Spec inner;
  inner.protocol = 6;
  inner.dont_fragment = true;
  inner.src_ip = *Ipv4Addr::parse("10.244.2.10");
  inner.dst_ip = fx.pod_ip();
  inner.dst_mac = EngineFixture::node(1).vtep_mac;
  std::vector<Bytes> frames;
  Bytes sent;
  for (int i = 0; i < kSegments; ++i) {
    const Bytes part = payload_of(kMss, static_cast<uint8_t>(i));
    sent.insert(sent.end(), part.begin(), part.end());
    inner.id = static_cast<uint16_t>(100 + i);
    Bytes f = tcp_frame(inner, 5000 + i * kMss, part, true);
    testing::UdpSpec outer;
    outer.src_mac = EngineFixture::node(2).underlay_mac;
    outer.dst_mac = EngineFixture::node(1).underlay_mac;
    outer.src_ip = EngineFixture::node(2).public_ip;
    outer.dst_ip = EngineFixture::node(1).public_ip;
    outer.src_port = 40000;
    outer.dst_port = 8472;
    outer.checksum = false;
    frames.push_back(testing::udp_frame(outer, testing::concat(testing::vxlan_header(1), f)));
  }
  // A ninth segment, its payload corrupted after its checksum was made.
  Bytes bad = frames.back();
  bad[bad.size() - 1] = static_cast<uint8_t>(bad[bad.size() - 1] ^ 0xff);
  frames.push_back(bad);
  std::vector<rte_mbuf*> pkts;
  for (const Bytes& f : frames) pkts.push_back(testing::to_mbuf(fx.pool(), f));
  ASSERT_EQ(fx.underlay_port().inject(pkts), pkts.size());

  std::vector<std::pair<VirtioNetHdr, Bytes>> got;
  for (int i = 0; i < 2; ++i) {
    auto r = host->receive([&] { fx.poll(); });
    if (r) got.push_back(*r);
  }
  ASSERT_EQ(got.size(), 2u) << "one merged packet and the corrupt segment apart";
  const auto& [vh, merged] = got[0];
  EXPECT_EQ(vh.gso_type, 1) << "TCPv4 GSO";
  EXPECT_EQ(vh.gso_size, kMss);
  EXPECT_EQ(merged.size(), 14 + 20 + kTcpHeader + sent.size());
  EXPECT_EQ(Bytes(merged.begin() + 14 + 20 + kTcpHeader, merged.end()), sent);
  EXPECT_EQ(testing::internet_checksum(merged.data() + 14, 20), 0) << "merged IPv4 checksum";
  EXPECT_EQ(got[1].first.gso_type, 0) << "not merged";
  EXPECT_FALSE(tcp_checksum_ok(got[1].second, 14)) << "left for the host's TCP to drop";
  const EventStats e = fx.engine().stats().events;
  EXPECT_EQ(e.gro_merged, 1u);
  EXPECT_EQ(e.gro_segments, static_cast<uint64_t>(kSegments));
}

TEST_F(VnetTapPort, AWriteTheTapRefusesIsCountedAsThePortsTxError) {
  std::system(("ip link set " + tap_name() + " down").c_str());
  ASSERT_EQ(fx.underlay_port().inject({testing::to_mbuf(fx.pool(), fx.vxlan_from(2, fx.pod_ip()))}),
            1u);
  fx.poll(3);
  const StatsSnapshot s = fx.engine().stats();
  uint64_t tx_errors = 0;
  for (const PortStats& p : s.ports) {
    if (p.name == "overlay0") tx_errors = p.hw_tx_errors;
  }
  EXPECT_EQ(tx_errors, 1u);
}

}  // namespace
}  // namespace tartan
