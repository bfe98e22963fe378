// Neighbour discovery on the underlay (RFC 4861), as the control side
// handles the frames the workers hand it (NeighbourTable::on_nd):
// solicitations for our address answered byte for byte, others ignored,
// every kind of invalid message dropped with its reason, advertisements
// resolving (and only as 7.2.5 allows, updating) neighbours, and every mbuf
// back in its pool (the fixture's teardown).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>

#include "tests/dataplane/neighbour_fixture.h"
#include "tests/support/pcap_file.h"

namespace tartan {
namespace {

using testing::Bytes;
using testing::kOurIp6;
using testing::kOurMac;
using testing::kPeer6;
using testing::kPeerMac;
using testing::NdSpec;

const MacAddr kOtherMac = *MacAddr::parse("02:00:00:00:0b:77");
const Ipv6Addr kAllNodes = *Ipv6Addr::parse("ff02::1");
const MacAddr kAllNodesMac = *MacAddr::parse("33:33:00:00:00:01");
// kOurIp6's solicited-node multicast address and its MAC.
const Ipv6Addr kOurSolicited = *Ipv6Addr::parse("ff02::1:ff00:13");
const MacAddr kOurSolicitedMac = *MacAddr::parse("33:33:ff:00:00:13");

// kPeer6 asking for `target`, as Linux sends it.
NdSpec solicit(const Ipv6Addr& target = kOurIp6) {
  NdSpec s;
  s.src_mac = kPeerMac;
  s.dst_mac = kOurSolicitedMac;
  s.src_ip = kPeer6;
  s.dst_ip = kOurSolicited;
  s.type = 135;
  s.target = target;
  s.options = {testing::link_option(1, kPeerMac)};
  return s;
}

// kPeer6 (at `mac`) advertising itself, solicited, to us.
NdSpec advert(const MacAddr& mac = kPeerMac, uint8_t flags = 0x60) {
  NdSpec s;
  s.src_mac = mac;
  s.dst_mac = kOurMac;
  s.src_ip = kPeer6;
  s.dst_ip = kOurIp6;
  s.type = 136;
  s.flags = flags;
  s.target = kPeer6;
  s.options = {testing::link_option(2, mac)};
  return s;
}

// Our answer, "kOurIp6 is at kOurMac", to `to` at `to_mac`, built by hand.
Bytes expected_advert(const Ipv6Addr& to, const MacAddr& to_mac, uint8_t flags) {
  NdSpec s;
  s.src_mac = kOurMac;
  s.dst_mac = to_mac;
  s.src_ip = kOurIp6;
  s.dst_ip = to;
  s.type = 136;
  s.flags = flags;
  s.target = kOurIp6;
  s.options = {testing::link_option(2, kOurMac)};
  return testing::nd_frame(s);
}

class Nd : public testing::NeighbourTableFixture {
 protected:
  void give(const Bytes& frame, uint64_t now_ms = 0) {
    table_->on_nd(testing::to_mbuf(pool_, frame), 0, now_ms);
  }
  uint64_t drops(DropReason r) const { return table_->counters().nd_drops[static_cast<size_t>(r)]; }
  uint64_t total_drops() const {
    uint64_t n = 0;
    for (uint64_t d : table_->counters().nd_drops) n += d;
    return n;
  }
};

TEST_F(Nd, SolicitationForOurAddressIsAnsweredWithASolicitedAdvertisement) {
  give(testing::nd_frame(solicit()));
  const auto out = take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], expected_advert(kPeer6, kPeerMac, 0x60)) << testing::hex(out[0]);
  // Field by field, what the comparison above holds.
  const Bytes& f = out[0];
  ASSERT_EQ(f.size(), 86u);
  EXPECT_EQ(f[20], 58) << "next header ICMPv6";
  EXPECT_EQ(f[21], 255) << "hop limit";
  EXPECT_EQ(f[54], 136) << "type NA";
  EXPECT_EQ(f[58], 0x60) << "S and O, not R";
  EXPECT_EQ(Bytes(f.begin() + 62, f.begin() + 78),
            Bytes(kOurIp6.bytes.begin(), kOurIp6.bytes.end()));
  EXPECT_EQ(f[78], 2) << "target link-layer address option";
  EXPECT_EQ(f[79], 1);
  EXPECT_EQ(Bytes(f.begin() + 80, f.end()), Bytes(kOurMac.bytes.begin(), kOurMac.bytes.end()));
  EXPECT_EQ(testing::icmp6_checksum(f), f[56] << 8 | f[57]) << "checksum by the reference sum";
  EXPECT_EQ(table_->counters().nd_answered, 1u);
  EXPECT_EQ(total_drops(), 0u);
}

TEST_F(Nd, DuplicateAddressDetectionOfOurAddressIsAnsweredToAllNodes) {
  NdSpec s = solicit();
  s.src_ip = Ipv6Addr{};
  s.options.clear();
  give(testing::nd_frame(s));
  const auto out = take();
  ASSERT_EQ(out.size(), 1u);
  // 7.2.4: to ff02::1, S clear.
  EXPECT_EQ(out[0], expected_advert(kAllNodes, kAllNodesMac, 0x20)) << testing::hex(out[0]);
}

TEST_F(Nd, UnicastProbeWithoutLinkAddressIsAnsweredToTheFramesSource) {
  NdSpec s = solicit();
  s.dst_mac = kOurMac;
  s.dst_ip = kOurIp6;
  s.options.clear();
  give(testing::nd_frame(s));
  const auto out = take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], expected_advert(kPeer6, kPeerMac, 0x60)) << testing::hex(out[0]);
}

TEST_F(Nd, SolicitationsForOtherAddressesAreNotAnswered) {
  give(testing::nd_frame(solicit(*Ipv6Addr::parse("2001:db8:0:2::14"))));
  NdSpec dad = solicit(*Ipv6Addr::parse("2001:db8:0:2::99"));
  dad.src_ip = Ipv6Addr{};
  dad.dst_ip = *Ipv6Addr::parse("ff02::1:ff00:99");
  dad.options.clear();
  give(testing::nd_frame(dad));
  EXPECT_TRUE(take().empty());
  EXPECT_EQ(drops(DropReason::kNdNotForUs), 2u);
  EXPECT_EQ(table_->counters().nd_answered, 0u);

  // Nor, with no IPv6 underlay address, any at all.
  make_table(false);
  give(testing::nd_frame(solicit()));
  EXPECT_TRUE(take().empty());
  EXPECT_EQ(drops(DropReason::kNdNotForUs), 1u);
}

struct BadCase {
  const char* name;
  std::function<Bytes()> frame;
  DropReason reason;
};

// Sets the IPv6 payload length of `f` to `len`.
void set_payload_len(Bytes& f, uint16_t len) {
  f[18] = static_cast<uint8_t>(len >> 8);
  f[19] = static_cast<uint8_t>(len);
}

const BadCase kBad[] = {
    {"hop_limit_not_255",
     [] {
       NdSpec s = solicit();
       s.hop_limit = 254;  // routed here from another link
       return testing::nd_frame(s);
     },
     DropReason::kNdBadHopLimit},
    {"bad_checksum",
     [] {
       Bytes f = testing::nd_frame(solicit());
       f[57] ^= 0x01;
       return f;
     },
     DropReason::kNdBadChecksum},
    {"checksum_over_another_source",
     [] {
       // The pseudo header counts: a changed source breaks the sum.
       Bytes f = testing::nd_frame(solicit());
       f[22 + 15] ^= 0x01;
       return f;
     },
     DropReason::kNdBadChecksum},
    {"code_not_zero",
     [] {
       NdSpec s = solicit();
       s.code = 1;
       return testing::nd_frame(s);
     },
     DropReason::kNdMalformed},
    {"shorter_than_24",
     [] {
       Bytes f = testing::nd_frame(solicit());
       f.resize(54 + 20);
       set_payload_len(f, 20);
       testing::seal_icmp6(f);
       return f;
     },
     DropReason::kNdMalformed},
    {"payload_length_past_the_frame",
     [] {
       Bytes f = testing::nd_frame(solicit());
       set_payload_len(f, 40);
       testing::seal_icmp6(f);
       return f;
     },
     DropReason::kNdMalformed},
    {"ip_version_not_6",
     [] {
       Bytes f = testing::nd_frame(solicit());
       f[14] = 0x20;
       return f;
     },
     DropReason::kNdMalformed},
    {"multicast_source",
     [] {
       // Found by fuzz_nd: answered, it sent a solicited NA to a group.
       NdSpec s = solicit();
       s.src_ip = *Ipv6Addr::parse("ff02::2");
       return testing::nd_frame(s);
     },
     DropReason::kNdMalformed},
    {"multicast_target", [] { return testing::nd_frame(solicit(kOurSolicited)); },
     DropReason::kNdMalformed},
    {"option_length_zero",
     [] {
       NdSpec s = solicit();
       s.options = {{14, Bytes(6, 0), 0}};
       return testing::nd_frame(s);
     },
     DropReason::kNdBadOption},
    {"option_past_the_message",
     [] {
       NdSpec s = solicit();
       s.options = {{1, Bytes(kPeerMac.bytes.begin(), kPeerMac.bytes.end()), 2}};
       return testing::nd_frame(s);
     },
     DropReason::kNdBadOption},
    {"option_header_cut",
     [] {
       // One byte after the fixed part: an option's type without its length.
       NdSpec s = solicit();
       s.options.clear();
       Bytes f = testing::nd_frame(s);
       f.push_back(1);
       set_payload_len(f, 25);
       testing::seal_icmp6(f);
       return f;
     },
     DropReason::kNdBadOption},
    {"dad_with_source_link_address",
     [] {
       NdSpec s = solicit();
       s.src_ip = Ipv6Addr{};
       return testing::nd_frame(s);
     },
     DropReason::kNdBadOption},
    {"dad_not_to_solicited_node",
     [] {
       NdSpec s = solicit();
       s.src_ip = Ipv6Addr{};
       s.dst_ip = kOurIp6;
       s.dst_mac = kOurMac;
       s.options.clear();
       return testing::nd_frame(s);
     },
     DropReason::kNdMalformed},
    {"solicited_advert_to_multicast",
     [] {
       NdSpec s = advert();
       s.dst_ip = kAllNodes;
       s.dst_mac = kAllNodesMac;
       return testing::nd_frame(s);
     },
     DropReason::kNdMalformed},
    {"router_solicitation",
     [] {
       NdSpec s = solicit();
       s.type = 133;
       return testing::nd_frame(s);
     },
     DropReason::kNdNotForUs},
    {"not_icmpv6",
     [] {
       NdSpec s = solicit();
       s.next_header = 17;
       return testing::nd_frame(s);
     },
     DropReason::kNdNotForUs},
};

class NdBad : public testing::NeighbourTableFixture,
              public ::testing::WithParamInterface<BadCase> {};

TEST_P(NdBad, DroppedWithItsReasonAndNothingLearned) {
  table_->acquire(kPeer6, 0).value();
  table_->on_nd(testing::to_mbuf(pool_, GetParam().frame()), 0, 0);
  EXPECT_TRUE(take().empty());
  const auto& c = table_->counters();
  EXPECT_EQ(c.nd_drops[static_cast<size_t>(GetParam().reason)], 1u)
      << drop_reason_name(GetParam().reason);
  uint64_t total = 0;
  for (uint64_t d : c.nd_drops) total += d;
  EXPECT_EQ(total, 1u) << "another reason counted too";
  EXPECT_EQ(c.nd_answered + c.nd_consumed + c.nd.replies_learned, 0u);
  EXPECT_FALSE(table_->mac_of(*table_->find(kPeer6)).has_value());
}

INSTANTIATE_TEST_SUITE_P(EveryKind, NdBad, ::testing::ValuesIn(kBad),
                         [](const ::testing::TestParamInfo<BadCase>& info) {
                           return std::string(info.param.name);
                         });

TEST_F(Nd, AdvertisementResolvesTheNeighbourAndTheHeldPacketsGoOut) {
  const uint32_t id = table_->acquire(kPeer6, 0).value();
  table_->tick(0);
  ASSERT_EQ(take().size(), 1u) << "the solicitation";
  table_->hold(id, waiting(1), 0);
  table_->hold(id, waiting(2), 0);
  EXPECT_TRUE(take().empty());
  give(testing::nd_frame(advert()), 5);
  const auto out = take();
  ASSERT_EQ(out.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(Bytes(out[i].begin(), out[i].begin() + 6),
              Bytes(kPeerMac.bytes.begin(), kPeerMac.bytes.end()));
    EXPECT_EQ(out[i][6], i + 1) << "in the order they waited";
  }
  uint8_t mac[6];
  ASSERT_TRUE(adjacency_.lookup(id, mac));
  EXPECT_TRUE(std::equal(mac, mac + 6, kPeerMac.bytes.begin()));
  const auto& c = table_->counters();
  EXPECT_EQ(c.nd.replies_learned, 1u);
  EXPECT_EQ(c.held_released, 2u);
  EXPECT_EQ(c.nd_consumed, 1u);
  EXPECT_EQ(table_->held_packets(), 0u);
  // Resolved: no more solicitations until the refresh.
  table_->tick(100);
  EXPECT_TRUE(take().empty());
  table_->tick(5 + 5000);
  EXPECT_EQ(take().size(), 1u) << "the refresh";
}

TEST_F(Nd, AdvertisementWithoutOverrideKeepsAKnownAddress) {
  const uint32_t id = table_->acquire(kPeer6, 0).value();
  give(testing::nd_frame(advert(kPeerMac, 0x40)));
  EXPECT_EQ(table_->mac_of(id), kPeerMac) << "an incomplete entry takes it, O or not";
  give(testing::nd_frame(advert(kOtherMac, 0x40)));
  EXPECT_EQ(table_->mac_of(id), kPeerMac) << "7.2.5: without O a different address is ignored";
  give(testing::nd_frame(advert(kOtherMac, 0x60)));
  EXPECT_EQ(table_->mac_of(id), kOtherMac) << "with O it replaces the known one";
  // Unsolicited, as a neighbour announces a new NIC.
  NdSpec unsolicited = advert(kPeerMac, 0x20);
  unsolicited.dst_ip = kAllNodes;
  unsolicited.dst_mac = kAllNodesMac;
  give(testing::nd_frame(unsolicited));
  EXPECT_EQ(table_->mac_of(id), kPeerMac);
  EXPECT_EQ(table_->counters().nd_consumed, 4u);
}

TEST_F(Nd, AdvertisementsDoNotCreateOrOverrideWhatWeDoNotLearn) {
  give(testing::nd_frame(advert()));
  EXPECT_FALSE(table_->find(kPeer6).has_value()) << "not a neighbour we send to";
  ASSERT_TRUE(table_->set_static(kPeer6, kPeerMac).ok());
  give(testing::nd_frame(advert(kOtherMac, 0x60)));
  EXPECT_EQ(table_->mac_of(*table_->find(kPeer6)), kPeerMac) << "static wins";
  // Someone else claiming our own address is only logged.
  NdSpec dup = advert(kOtherMac, 0x20);
  dup.target = kOurIp6;
  dup.src_ip = *Ipv6Addr::parse("2001:db8:0:2::66");
  dup.dst_ip = kAllNodes;
  dup.dst_mac = kAllNodesMac;
  give(testing::nd_frame(dup));
  EXPECT_FALSE(table_->find(kOurIp6).has_value());
  EXPECT_EQ(table_->counters().nd.replies_learned, 0u);
  EXPECT_EQ(table_->counters().nd_consumed, 3u);
  EXPECT_TRUE(take().empty());
}

TEST_F(Nd, AdvertisementWithoutLinkAddressOnlyConfirmsAKnownNeighbour) {
  const uint32_t id = table_->acquire(kPeer6, 0).value();
  NdSpec bare = advert();
  bare.options.clear();
  give(testing::nd_frame(bare));
  EXPECT_FALSE(table_->mac_of(id).has_value()) << "nothing to resolve it with";
  EXPECT_EQ(table_->counters().nd.replies_learned, 0u);
  give(testing::nd_frame(advert()), 0);
  table_->tick(4000);
  give(testing::nd_frame(bare), 4000);  // confirms: the refresh moves to 9000
  table_->tick(5000);
  EXPECT_TRUE(take().empty()) << "confirmed at 4000: no refresh at 5000";
  table_->tick(9000);
  EXPECT_EQ(take().size(), 1u) << "the refresh";
  EXPECT_EQ(table_->counters().nd.replies_learned, 2u);
}

TEST_F(Nd, SolicitationFromANeighbourWeUseTeachesItsAddress) {
  const uint32_t id = table_->acquire(kPeer6, 0).value();
  table_->hold(id, waiting(9), 0);
  give(testing::nd_frame(solicit()));
  const auto out = take();
  ASSERT_EQ(out.size(), 2u) << "the held packet and our answer";
  EXPECT_EQ(out[0][6], 9);
  EXPECT_EQ(out[1], expected_advert(kPeer6, kPeerMac, 0x60));
  EXPECT_EQ(table_->mac_of(id), kPeerMac);
}

TEST_F(Nd, AnswerThatCannotBeQueuedIsFreedAndCounted) {
  refuse_ = true;
  give(testing::nd_frame(solicit()));
  EXPECT_EQ(table_->counters().nd_answered, 0u);
  EXPECT_EQ(table_->counters().dropped_queue_full, 1u);
  EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u);
}

TEST_F(Nd, SolicitationWithPaddingIsAnsweredWithoutIt) {
  Bytes f = testing::nd_frame(solicit());
  f.resize(f.size() + 10, 0);  // Ethernet padding, beyond the IPv6 payload
  give(f);
  const auto out = take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], expected_advert(kPeer6, kPeerMac, 0x60));
}

TEST_F(Nd, WhatWeSendIsWhatTsharkDecodes) {
  // Our answer, our solicitation and our announcement, decoded by an
  // independent dissector; a corrupted copy proves it checks the sum.
  give(testing::nd_frame(solicit()));
  table_->acquire(kPeer6, 0).value();
  table_->tick(0);
  table_->announce();
  std::vector<Bytes> frames = take();
  ASSERT_EQ(frames.size(), 4u) << "NA, NS, gratuitous ARP, unsolicited NA";
  frames.erase(frames.begin() + 2);
  Bytes corrupted = frames[0];
  corrupted.back() ^= 0x01;
  frames.push_back(corrupted);
  const std::string path = "/tmp/tartan-v6-nd-" + std::to_string(getpid()) + ".pcap";
  testing::write_pcap(path, frames);
  const auto lines = testing::tshark_lines(path, {"-T", "fields",
                                                  "-E", "separator=|",
                                                  "-e", "ipv6.src",
                                                  "-e", "ipv6.dst",
                                                  "-e", "ipv6.hlim",
                                                  "-e", "icmpv6.type",
                                                  "-e", "icmpv6.checksum.status",
                                                  "-e", "icmpv6.nd.ns.target_address",
                                                  "-e", "icmpv6.nd.na.target_address",
                                                  "-e", "icmpv6.nd.na.flag.s",
                                                  "-e", "icmpv6.nd.na.flag.o",
                                                  "-e", "icmpv6.opt.linkaddr"});
  std::remove(path.c_str());
  ASSERT_EQ(lines.size(), 4u) << "tshark printed nothing; is it installed?";
  EXPECT_EQ(lines[0],
            "2001:db8:0:2::13|2001:db8:0:2::bc:de02|255|136|1||2001:db8:0:2::13|1|1|"
            "02:00:00:00:0b:01");
  EXPECT_EQ(lines[1],
            "2001:db8:0:2::13|ff02::1:ffbc:de02|255|135|1|2001:db8:0:2::bc:de02||||"
            "02:00:00:00:0b:01");
  EXPECT_EQ(lines[2], "2001:db8:0:2::13|ff02::1|255|136|1||2001:db8:0:2::13|0|1|02:00:00:00:0b:01");
  EXPECT_EQ(lines[3],
            "2001:db8:0:2::13|2001:db8:0:2::bc:de02|255|136|0||2001:db8:0:2::13|1|1|"
            "02:00:00:00:0b:00")
      << "a bad sum shows";
}

}  // namespace
}  // namespace tartan
