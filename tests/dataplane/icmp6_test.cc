// ICMPv6 errors (RFC 4443) as tartan sends them where it routes IPv6: Time
// Exceeded, Packet Too Big with the MTU, Destination Unreachable (no
// route), each built in place from the offending frame and compared byte
// for byte with one built here (checksum by this file's own sum), cut to
// the IPv6 minimum MTU; and when 2.4(e) forbids sending one at all.
#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <unistd.h>

#include <cstdio>
#include <string>

#include "engine/path/icmp6.h"
#include "tests/support/nd_packets.h"
#include "tests/support/pcap_file.h"

namespace tartan {
namespace {

using testing::Bytes;

const MacAddr kPodMac = *MacAddr::parse("02:00:00:00:01:99");
const MacAddr kRouterMac = *MacAddr::parse("02:00:00:00:01:01");
const Ipv6Addr kPod = *Ipv6Addr::parse("fd00:10:244:1::10");
const Ipv6Addr kRemote = *Ipv6Addr::parse("fd00:10:244:2::10");
const Ipv6Addr kRouter = *Ipv6Addr::parse("fd00:10:244:1::");

// A pod's IPv6 packet to kRemote: `next_header` then `l4` (`l4` verbatim).
Bytes pod_packet(uint8_t next_header, const Bytes& l4, uint8_t hop_limit = 64) {
  testing::Ipv6Spec s;
  s.src_mac = kPodMac;
  s.dst_mac = kRouterMac;
  s.src_ip = kPod;
  s.dst_ip = kRemote;
  s.next_header = next_header;
  s.hop_limit = hop_limit;
  return testing::ipv6_frame(s, l4);
}

Bytes udp_payload(size_t size) {
  Bytes l4(size);
  for (size_t i = 0; i < size; ++i) l4[i] = static_cast<uint8_t>(i * 7 + 3);
  l4[4] = static_cast<uint8_t>(size >> 8);  // UDP length, for a plausible header
  l4[5] = static_cast<uint8_t>(size);
  return l4;
}

// The error RFC 4443 has a router at kRouter send about `offending`: its
// IPv6 packet from byte 14, quoted up to 1232 bytes.
Bytes expected_error(const Bytes& offending, uint8_t type, uint8_t code, uint32_t word) {
  return testing::icmp6_error_frame(offending, type, code, word, kRouter);
}

class Icmp6 : public ::testing::Test {
 protected:
  void SetUp() override {
    static int n = 0;
    const std::string name = "icmp6_test_" + std::to_string(n++);
    pool_ =
        rte_pktmbuf_pool_create(name.c_str(), 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
  }
  void TearDown() override {
    EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u) << "an mbuf leaked";
    rte_mempool_free(pool_);
  }

  // make_icmp6_error() on `frame`; the mbuf is freed.
  Bytes error_of(const Bytes& frame, uint8_t type, uint8_t code, uint32_t word,
                 uint16_t l3_offset = 14) {
    rte_mbuf* m = testing::to_mbuf(pool_, frame);
    make_icmp6_error(m, l3_offset, type, code, word, kRouter);
    EXPECT_EQ(m->nb_segs, 1);
    EXPECT_EQ(rte_pktmbuf_pkt_len(m), rte_pktmbuf_data_len(m));
    Bytes out = testing::from_mbuf(m);
    rte_pktmbuf_free(m);
    return out;
  }

  bool allowed(const Bytes& frame, uint8_t type = kIcmp6TimeExceeded) {
    rte_mbuf* m = testing::to_mbuf(pool_, frame);
    const bool ok = icmp6_error_allowed(m, 14, type);
    rte_pktmbuf_free(m);
    return ok;
  }

  rte_mempool* pool_ = nullptr;
};

TEST_F(Icmp6, TimeExceededQuotesTheWholeSmallPacket) {
  const Bytes offending = pod_packet(17, udp_payload(26), 1);
  const Bytes out = error_of(offending, kIcmp6TimeExceeded, kIcmp6HopLimitExceeded, 0);
  EXPECT_EQ(out, expected_error(offending, 3, 0, 0)) << testing::hex(out);
  // Field by field, what the comparison above holds.
  ASSERT_EQ(out.size(), 14u + 40 + 8 + 66);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 6), Bytes(kPodMac.bytes.begin(), kPodMac.bytes.end()));
  EXPECT_EQ(Bytes(out.begin() + 6, out.begin() + 12),
            Bytes(kRouterMac.bytes.begin(), kRouterMac.bytes.end()));
  EXPECT_EQ(out[12] << 8 | out[13], 0x86dd);
  EXPECT_EQ(out[14], 0x60) << "version 6, traffic class 0";
  EXPECT_EQ(out[18] << 8 | out[19], 8 + 66) << "payload length";
  EXPECT_EQ(out[20], 58);
  EXPECT_EQ(out[21], 64) << "hop limit";
  EXPECT_EQ(Bytes(out.begin() + 22, out.begin() + 38),
            Bytes(kRouter.bytes.begin(), kRouter.bytes.end()));
  EXPECT_EQ(Bytes(out.begin() + 38, out.begin() + 54), Bytes(kPod.bytes.begin(), kPod.bytes.end()));
  EXPECT_EQ(out[54], 3);
  EXPECT_EQ(out[55], 0);
  EXPECT_EQ(testing::icmp6_checksum(out), out[56] << 8 | out[57]);
  EXPECT_EQ(Bytes(out.begin() + 58, out.begin() + 62), Bytes(4, 0)) << "unused";
  EXPECT_EQ(Bytes(out.begin() + 62, out.end()), Bytes(offending.begin() + 14, offending.end()));
}

TEST_F(Icmp6, PacketTooBigCarriesTheMtuAndStaysWithin1280Bytes) {
  const Bytes offending = pod_packet(17, udp_payload(1500 - 40));
  const Bytes out = error_of(offending, kIcmp6PacketTooBig, 0, 1450);
  EXPECT_EQ(out, expected_error(offending, 2, 0, 1450)) << testing::hex(out);
  ASSERT_EQ(out.size(), 14u + 1280) << "the IPv6 minimum MTU, exactly";
  EXPECT_EQ(out[18] << 8 | out[19], 1280 - 40);
  EXPECT_EQ(out[58] << 24 | out[59] << 16 | out[60] << 8 | out[61], 1450);
  EXPECT_EQ(testing::icmp6_checksum(out), out[56] << 8 | out[57]);
  EXPECT_EQ(Bytes(out.begin() + 62, out.end()),
            Bytes(offending.begin() + 14, offending.begin() + 14 + 1232));
}

TEST_F(Icmp6, DestinationUnreachableNoRoute) {
  const Bytes offending = pod_packet(6, udp_payload(40));
  const Bytes out = error_of(offending, kIcmp6DestUnreachable, kIcmp6NoRoute, 0);
  EXPECT_EQ(out, expected_error(offending, 1, 0, 0)) << testing::hex(out);
}

TEST_F(Icmp6, EthernetPaddingIsNotQuoted) {
  const Bytes offending = pod_packet(17, udp_payload(8));  // 62 bytes
  Bytes padded = offending;
  padded.resize(80, 0xee);
  EXPECT_EQ(error_of(padded, 3, 0, 0), expected_error(offending, 3, 0, 0));
}

TEST_F(Icmp6, OffendingPacketDeeperInTheFrameOrInAChain) {
  // Decapsulated packets may start further in (the outer headers still
  // ahead of the inner Ethernet header): only l3_offset says where.
  const Bytes offending = pod_packet(17, udp_payload(300));
  Bytes deeper(offending.begin(), offending.begin() + 14);
  deeper.insert(deeper.end(), 8, 0x55);
  deeper.insert(deeper.end(), offending.begin() + 14, offending.end());
  EXPECT_EQ(error_of(deeper, 3, 0, 0, 22), expected_error(offending, 3, 0, 0));

  // The same packet in three segments, as a merged or reassembled one.
  rte_mbuf* head = testing::to_mbuf(pool_, Bytes(offending.begin(), offending.begin() + 50));
  rte_mbuf* mid = testing::to_mbuf(pool_, Bytes(offending.begin() + 50, offending.begin() + 200));
  rte_mbuf* tail = testing::to_mbuf(pool_, Bytes(offending.begin() + 200, offending.end()));
  ASSERT_EQ(rte_pktmbuf_chain(mid, tail), 0);
  ASSERT_EQ(rte_pktmbuf_chain(head, mid), 0);
  make_icmp6_error(head, 14, 3, 0, 0, kRouter);
  EXPECT_EQ(head->nb_segs, 1) << "the chain's other segments are freed";
  EXPECT_EQ(testing::from_mbuf(head), expected_error(offending, 3, 0, 0));
  rte_pktmbuf_free(head);
}

Bytes with_chain(const std::vector<std::pair<uint8_t, Bytes>>& headers, uint8_t last,
                 const Bytes& l4) {
  // headers: (this header's next-header value is the following one's kind)
  Bytes body;
  for (size_t i = 0; i < headers.size(); ++i) {
    Bytes h = headers[i].second;
    h[0] = i + 1 < headers.size() ? headers[i + 1].first : last;
    body.insert(body.end(), h.begin(), h.end());
  }
  body.insert(body.end(), l4.begin(), l4.end());
  return pod_packet(headers.empty() ? last : headers[0].first, body);
}

const Bytes kEchoRequest{128, 0, 0, 0, 0, 1, 0, 1};
const Bytes kDestUnreachable{1, 3, 0, 0, 0, 0, 0, 0};
const Bytes kRedirect{137, 0, 0, 0, 0, 0, 0, 0};
const Bytes kHopByHop{0, 0, 1, 4, 0, 0, 0, 0};  // PadN
const Bytes kDestOpts{0, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

TEST_F(Icmp6, ErrorsAreSentAboutOrdinaryPacketsAndInformationalIcmp) {
  EXPECT_TRUE(allowed(pod_packet(17, udp_payload(20))));
  EXPECT_TRUE(allowed(pod_packet(58, kEchoRequest)));
  EXPECT_TRUE(allowed(with_chain({{0, kHopByHop}, {60, kDestOpts}}, 58, kEchoRequest)));
}

TEST_F(Icmp6, NeverAboutAnErrorOrARedirectEvenBehindExtensionHeaders) {
  EXPECT_FALSE(allowed(pod_packet(58, kDestUnreachable)));
  EXPECT_FALSE(allowed(pod_packet(58, kRedirect)));
  EXPECT_FALSE(allowed(with_chain({{0, kHopByHop}, {60, kDestOpts}}, 58, kDestUnreachable)));
  // AH counts its length in 4-byte words less two: 12 bytes here.
  const Bytes ah{0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
  EXPECT_FALSE(allowed(with_chain({{51, ah}}, 58, kDestUnreachable)));
  EXPECT_TRUE(allowed(with_chain({{51, ah}}, 58, kEchoRequest)));
  // The first fragment shows its ICMPv6 type; a later one has none to show.
  const Bytes first_fragment{0, 0, 0x00, 0x01, 0, 0, 0, 7};
  const Bytes later_fragment{0, 0, 0x05, 0x00, 0, 0, 0, 7};
  EXPECT_FALSE(allowed(with_chain({{44, first_fragment}}, 58, kDestUnreachable)));
  EXPECT_TRUE(allowed(with_chain({{44, later_fragment}}, 58, kDestUnreachable)));
  // A chain that ends before its ICMPv6 type counts as an error.
  Bytes cut = with_chain({{0, kHopByHop}}, 58, {});
  EXPECT_FALSE(allowed(cut));
  // As does one too long to follow.
  std::vector<std::pair<uint8_t, Bytes>> many(9, {60, kDestOpts});
  EXPECT_FALSE(allowed(with_chain(many, 17, udp_payload(8))));
}

TEST_F(Icmp6, NotToUnspecifiedOrMulticastSourcesNorAboutMulticastButPacketTooBig) {
  Bytes f = pod_packet(17, udp_payload(20));
  Bytes unspecified = f;
  std::fill(unspecified.begin() + 22, unspecified.begin() + 38, 0);
  EXPECT_FALSE(allowed(unspecified));
  EXPECT_FALSE(allowed(unspecified, kIcmp6PacketTooBig));
  Bytes multicast_src = f;
  multicast_src[22] = 0xff;
  EXPECT_FALSE(allowed(multicast_src, kIcmp6PacketTooBig));

  Bytes multicast_dst = f;
  multicast_dst[38] = 0xff;
  multicast_dst[39] = 0x0e;
  EXPECT_FALSE(allowed(multicast_dst));
  EXPECT_FALSE(allowed(multicast_dst, kIcmp6DestUnreachable));
  EXPECT_TRUE(allowed(multicast_dst, kIcmp6PacketTooBig));
  Bytes link_multicast = f;
  link_multicast[0] = 0x33;
  link_multicast[1] = 0x33;
  EXPECT_FALSE(allowed(link_multicast));
  EXPECT_TRUE(allowed(link_multicast, kIcmp6PacketTooBig));
  // Shorter than an IPv6 header: nothing to answer.
  EXPECT_FALSE(allowed(Bytes(f.begin(), f.begin() + 40)));
}

TEST_F(Icmp6, TsharkDecodesTheErrorsAndTheirChecksums) {
  std::vector<Bytes> frames = {
      error_of(pod_packet(17, udp_payload(26), 1), 3, 0, 0),
      error_of(pod_packet(17, udp_payload(1500 - 40)), 2, 0, 1450),
      error_of(pod_packet(17, udp_payload(100)), 1, 0, 0),
  };
  Bytes corrupted = frames[0];
  corrupted[70] ^= 0x01;
  frames.push_back(corrupted);
  const std::string path = "/tmp/tartan-v6-nd-icmp6-" + std::to_string(getpid()) + ".pcap";
  testing::write_pcap(path, frames);
  const auto lines = testing::tshark_lines(
      path, {"-T",           "fields",    "-E",          "separator=|", "-E",
             "occurrence=f", "-e",        "ipv6.src",    "-e",          "ipv6.dst",
             "-e",           "ipv6.plen", "-e",          "ipv6.hlim",   "-e",
             "icmpv6.type",  "-e",        "icmpv6.code", "-e",          "icmpv6.checksum.status",
             "-e",           "icmpv6.mtu"});
  std::remove(path.c_str());
  ASSERT_EQ(lines.size(), 4u) << "tshark printed nothing; is it installed?";
  EXPECT_EQ(lines[0], "fd00:10:244:1::|fd00:10:244:1::10|74|64|3|0|1|");
  EXPECT_EQ(lines[1], "fd00:10:244:1::|fd00:10:244:1::10|1240|64|2|0|1|1450");
  EXPECT_EQ(lines[2], "fd00:10:244:1::|fd00:10:244:1::10|148|64|1|0|1|");
  EXPECT_EQ(lines[3], "fd00:10:244:1::|fd00:10:244:1::10|74|64|3|0|0|") << "a bad sum shows";
}

}  // namespace
}  // namespace tartan
