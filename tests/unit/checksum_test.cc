// The arithmetic the data path relies on, at its edges.
#include <gtest/gtest.h>
#include <rte_ip.h>

#include <cstring>
#include <vector>

#include "engine/backends/flow_hash.h"
#include "engine/checksum.h"
#include "engine/path/ipv4_check.h"
#include "tests/support/packets.h"

namespace tartan {
namespace {

TEST(Checksum, IncrementalUpdateMatchesAFullRecomputation) {
  testing::UdpSpec s;
  for (int ttl = 1; ttl <= 255; ++ttl) {
    s.ttl = static_cast<uint8_t>(ttl);
    s.id = static_cast<uint16_t>(ttl * 977);
    testing::Bytes f = testing::udp_frame(s);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(&f[14]);
    decrement_ttl(ip);
    EXPECT_EQ(ip->time_to_live, ttl - 1);
    EXPECT_EQ(testing::internet_checksum(&f[14], 20), 0) << "ttl " << ttl;
  }
}

TEST(Checksum, ReplaceHandlesTheOnesComplementWrap) {
  // RFC 1624's example of eqn. 3 getting 0x0000 vs 0xffff right.
  EXPECT_EQ(csum_replace16(0xdd2f, 0x5555, 0x3285), 0x0000);
  EXPECT_EQ(csum_fold(0x1fffe), 0xffff);
}

TEST(Checksum, RawChecksumEqualsDpdksAtEveryLengthAndAlignment) {
  std::vector<uint8_t> bytes(2100);
  uint32_t x = 12345;
  for (auto& b : bytes) b = static_cast<uint8_t>((x = x * 1103515245 + 12345) >> 16);
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t len = 0; len <= 2000; len += (len < 80 ? 1 : 37)) {
      ASSERT_EQ(raw_checksum(&bytes[offset], len), rte_raw_cksum(&bytes[offset], len))
          << "offset " << offset << ", length " << len;
    }
  }
  const std::vector<uint8_t> ones(1500, 0xff);  // sums to the end-around carry's limit
  EXPECT_EQ(raw_checksum(ones.data(), ones.size()), rte_raw_cksum(ones.data(), ones.size()));
  EXPECT_EQ(raw_checksum(ones.data(), 0), 0);
  // Past the 64 KiB blocks the vector sum is taken in (and past where
  // rte_raw_cksum's 32-bit sum wraps): 100,000 words of 0xffff add nothing
  // in one's complement, the last byte is the word 0x00ff.
  const std::vector<uint8_t> many_ones(200001, 0xff);
  EXPECT_EQ(raw_checksum(many_ones.data(), many_ones.size()), 0x00ff);
}

TEST(Checksum, TwentyByteHeaderCheckAgreesWithTheFullSum) {
  // Random headers (mostly bad), each also with its checksum set right,
  // and all-ones words where the 64-bit sum carries most.
  std::vector<uint8_t> h(20);
  uint32_t x = 777;
  for (int round = 0; round < 20000; ++round) {
    for (auto& b : h) b = static_cast<uint8_t>((x = x * 1103515245 + 12345) >> 16);
    EXPECT_EQ(ipv4_header20_sum_ok(h.data()), raw_checksum(h.data(), 20) == 0xffff);
    h[10] = h[11] = 0;
    const uint16_t check = static_cast<uint16_t>(~raw_checksum(h.data(), 20));
    std::memcpy(&h[10], &check, 2);
    ASSERT_TRUE(ipv4_header20_sum_ok(h.data())) << "round " << round;
    h[round % 20] ^= static_cast<uint8_t>(1u << (round % 8));
    EXPECT_EQ(ipv4_header20_sum_ok(h.data()), raw_checksum(h.data(), 20) == 0xffff);
  }
  const std::vector<uint8_t> ones(20, 0xff);
  EXPECT_TRUE(ipv4_header20_sum_ok(ones.data()));
}

TEST(FlowHash, SourcePortStaysInLinuxsLocalPortRange) {
  EXPECT_EQ(linux_udp_src_port(0), 32768);
  // 0xffffffff ^ 0xffff0000 = 0x0000ffff: a hash with only low bits set
  // maps near the bottom, as in Linux.
  EXPECT_EQ(linux_udp_src_port(0xffffffff), 32768);
  // After the fold the hash is 0xffff0000: the top of the range, never 60999.
  EXPECT_EQ(linux_udp_src_port(0xffff0000), 60998);
  uint32_t h = 12345;
  for (int i = 0; i < 1000000; ++i) {
    h = h * 1664525u + 1013904223u;
    const uint16_t p = linux_udp_src_port(h);
    ASSERT_GE(p, 32768);
    ASSERT_LE(p, 60998);
  }
}

}  // namespace
}  // namespace tartan
