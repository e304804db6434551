// packet/ttl.hpp: the one TTL / hop limit decrement (routing and the chain shortcut).
#include "packet/ttl.hpp"

#include <gtest/gtest.h>

#include <array>
#include <random>

using namespace ivs::packet;

namespace {

// An IPv4 header of ihl 32-bit words with a correct checksum.
std::array<uint8_t, 60> ipv4_header(uint8_t ttl, uint16_t id, uint32_t ihl, std::mt19937& rng) {
  std::array<uint8_t, 60> h{};
  for (auto& b : h) b = static_cast<uint8_t>(rng());
  h[0] = static_cast<uint8_t>(0x40 | ihl);
  store_be16(&h[4], id);
  h[8] = ttl;
  store_be16(&h[10], 0);
  store_be16(&h[10], csum(h.data(), ihl * 4));
  return h;
}

}  // namespace

// The incremental update (RFC 1624 eqn. 3) gives the checksum a full recompute gives, for
// every TTL that is forwarded (2..255) and every identification value (so every stored
// checksum value comes by, 0x0000 and 0xffff among them: RFC 1141's HC + 0x100 got those
// wrong); a 60-byte header (options) for every 16th identification value.
TEST(DecrementTtl, Ipv4ChecksumEqualsFullRecompute) {
  std::mt19937 rng(7);
  uint64_t mismatches = 0, checked = 0;
  for (uint32_t ihl : {5u, 15u}) {
    for (unsigned ttl = 2; ttl <= 255; ++ttl) {
      auto base = ipv4_header(static_cast<uint8_t>(ttl), 0, ihl, rng);
      for (uint32_t id = 0; id <= 0xffff; id += ihl == 5 ? 1 : 16) {
        auto h = base;
        store_be16(&h[4], static_cast<uint16_t>(id));
        store_be16(&h[10], 0);
        store_be16(&h[10], csum(h.data(), ihl * 4));
        decrement_ttl(h.data(), kEtherTypeIpv4);
        auto want = h;
        store_be16(&want[10], 0);
        store_be16(&want[10], csum(want.data(), ihl * 4));
        ++checked;
        if (h[8] != ttl - 1 || h != want) {
          if (++mismatches <= 5)
            ADD_FAILURE() << "ihl " << ihl << " ttl " << ttl << " id " << id << ": checksum " << load_be16(&h[10])
                          << ", full recompute " << load_be16(&want[10]) << ", ttl now " << unsigned{h[8]};
        }
      }
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << checked;
  EXPECT_TRUE(csum_ok(ipv4_header(2, 1, 5, rng).data(), 20));  // the reference itself verifies
}

// IPv6 has no header checksum: the hop limit goes down by one and nothing else changes.
TEST(DecrementTtl, Ipv6HopLimitOnly) {
  std::mt19937 rng(9);
  for (unsigned hop = 2; hop <= 255; ++hop) {
    std::array<uint8_t, 40> h{};
    for (auto& b : h) b = static_cast<uint8_t>(rng());
    h[0] = 0x60;
    h[7] = static_cast<uint8_t>(hop);
    auto want = h;
    want[7] = static_cast<uint8_t>(hop - 1);
    decrement_ttl(h.data(), kEtherTypeIpv6);
    EXPECT_EQ(h, want) << "hop limit " << hop;
  }
}
