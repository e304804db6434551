#include <gtest/gtest.h>

#include "common/net_types.hpp"

using namespace ivs;

TEST(MacAddr, ParsesAndPrints) {
  auto m = MacAddr::parse("02:49:56:0a:ff:01");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->to_string(), "02:49:56:0a:ff:01");
  EXPECT_FALSE(m->is_multicast());
  EXPECT_TRUE(MacAddr::broadcast().is_multicast());
}

TEST(MacAddr, RejectsMalformed) {
  for (const char* bad : {"", "02:49:56:0a:ff", "02-49-56-0a-ff-01", "02:49:56:0a:ff:0g", "002:49:56:0a:ff:01"})
    EXPECT_FALSE(MacAddr::parse(bad)) << bad;
}

TEST(Ipv4Prefix, ContainsAndOverlaps) {
  auto a = Ipv4Prefix::parse("10.0.1.0/24");
  auto b = Ipv4Prefix::parse("10.0.0.0/16");
  auto c = Ipv4Prefix::parse("10.0.2.0/24");
  ASSERT_TRUE(a && b && c);
  EXPECT_TRUE(a->contains(*Ipv4Addr::parse("10.0.1.200")));
  EXPECT_FALSE(a->contains(*Ipv4Addr::parse("10.0.2.1")));
  EXPECT_TRUE(a->overlaps(*b));
  EXPECT_FALSE(a->overlaps(*c));
  bool host_bits = false;
  EXPECT_FALSE(Ipv4Prefix::parse("10.0.1.1/24", &host_bits));
  EXPECT_TRUE(host_bits);
  EXPECT_FALSE(Ipv4Prefix::parse("10.0.1.0/33"));
  EXPECT_EQ(Ipv4Prefix::parse("0.0.0.0/0")->mask(), 0u);
}
