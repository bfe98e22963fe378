#include "engine/net_types.h"

#include <gtest/gtest.h>

namespace tartan {
namespace {

TEST(Ipv6Addr, ParsesAndPrintsTheCanonicalText) {
  const auto a = Ipv6Addr::parse("2001:DB8:0:0::1");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->bytes[0], 0x20);
  EXPECT_EQ(a->bytes[15], 0x01);
  EXPECT_EQ(a->str(), "2001:db8::1");
  EXPECT_FALSE(a->is_zero());
  EXPECT_TRUE(Ipv6Addr{}.is_zero());
  EXPECT_FALSE(Ipv6Addr::parse("2001:db8::1/64"));
  EXPECT_FALSE(Ipv6Addr::parse("192.0.2.1"));
  EXPECT_LT(*Ipv6Addr::parse("2001:db8::1"), *Ipv6Addr::parse("2001:db8::2"));
}

TEST(Ipv6Prefix, RejectsHostBitsUnlessAskedToKeepThem) {
  EXPECT_FALSE(Ipv6Prefix::parse("2001:db8::1/64"));
  const auto iface = Ipv6Prefix::parse("2001:db8::1/64", true);
  ASSERT_TRUE(iface);
  EXPECT_EQ(iface->str(), "2001:db8::1/64");
  EXPECT_EQ(iface->network().str(), "2001:db8::/64");
  // A length that is not a multiple of 8 masks inside a byte.
  EXPECT_EQ(Ipv6Prefix::parse("2001:db8:ffff::/36", true)->network().str(), "2001:db8:f000::/36");
  EXPECT_FALSE(Ipv6Prefix::parse("2001:db8::/129"));
  EXPECT_FALSE(Ipv6Prefix::parse("2001:db8::"));
  EXPECT_EQ(parse_ipv6_cidr("2001:db8::5/120").status().message(),
            "'2001:db8::5/120' has host bits set (did you mean 2001:db8::/120?)");
  EXPECT_EQ(parse_ipv6_cidr("10.0.0.0/8").status().message(),
            "'10.0.0.0/8' is not an IPv6 CIDR (addr/len)");
}

TEST(Ipv6Prefix, ContainsAndOverlapsByTheShorterPrefix) {
  const auto net = *Ipv6Prefix::parse("2001:db8:1::/48");
  EXPECT_TRUE(net.contains(*Ipv6Addr::parse("2001:db8:1:ffff::1")));
  EXPECT_FALSE(net.contains(*Ipv6Addr::parse("2001:db8:2::1")));
  const auto sub = *Ipv6Prefix::parse("2001:db8:1:5::/64");
  EXPECT_TRUE(net.contains(sub));
  EXPECT_FALSE(sub.contains(net));
  EXPECT_TRUE(sub.overlaps(net));
  EXPECT_TRUE(net.overlaps(sub));
  EXPECT_FALSE(sub.overlaps(*Ipv6Prefix::parse("2001:db8:1:6::/64")));
  EXPECT_TRUE(Ipv6Prefix{}.contains(*Ipv6Addr::parse("::1")));  // ::/0
}

}  // namespace
}  // namespace tartan
