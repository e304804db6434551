#pragma once
// Channel frames as the host end builds and reads them: Ethernet + 802.1Q (the channel's
// VLAN) + IPv4 + UDP + the channel header (channel/wire.hpp) + payload. The in-VM agent
// uses its kernel's UDP socket instead; what it sends must equal what build() makes.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "channel/wire.hpp"
#include "common/net_types.hpp"

namespace ivs::channel {

struct Endpoint {
  MacAddr mac;
  Ipv4Addr ip;
  uint16_t port = 0;
};

// A complete tagged frame, IPv4 and UDP checksums set (ip_id: the IPv4 identification).
std::vector<uint8_t> build_frame(uint16_t vlan, const Endpoint& src, const Endpoint& dst, const Header& h,
                                 std::span<const uint8_t> payload, uint16_t ip_id);

struct ParsedFrame {
  uint16_t vlan = 0;
  Endpoint src, dst;
  Header header;
  std::span<const uint8_t> payload;  // into the frame given to parse_frame
};
// nullopt (with `why` set) for anything that is not a tagged IPv4/UDP channel frame.
std::optional<ParsedFrame> parse_frame(std::span<const uint8_t> frame, std::string* why = nullptr);

}  // namespace ivs::channel
