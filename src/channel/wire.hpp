#pragma once
// The host-VM channel's message format (docs/channels.md): the UDP payload of every
// channel frame, between the channel address (host end) and an agent.
//
//   0      4       5     6      7         8          12         16           20
//   | IVCH | ver=1 | type | flags | 0    | id (BE)  | seq (BE) | reply_to (BE) | payload ...
//
// type: data or ack (an ack echoes the seq it acknowledges, no payload); flags: bit 0 =
// the sender wants an ack (at-least-once mode). `id` is the metadata id of the channel;
// the switch drops a message whose id is not the one its VLAN and port are bound to.
// Header-only and free of DPDK: ivagent uses it too.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

namespace ivs::channel {

inline constexpr size_t kHeaderLen = 20;
inline constexpr uint8_t kVersion = 1;
inline constexpr uint8_t kFlagAckRequested = 1;
enum class MsgType : uint8_t { kData = 1, kAck = 2 };

struct Header {
  MsgType type = MsgType::kData;
  uint8_t flags = 0;
  uint32_t id = 0;
  uint32_t seq = 0;
  uint32_t reply_to = 0;  // data: the seq of the message this answers (0 = none)
  bool ack_requested() const { return (flags & kFlagAckRequested) != 0; }
};

namespace detail {
inline uint32_t be32(const uint8_t* p) { return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]; }
inline void put_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
}  // namespace detail

inline void encode(const Header& h, uint8_t* out) {
  std::memcpy(out, "IVCH", 4);
  out[4] = kVersion;
  out[5] = static_cast<uint8_t>(h.type);
  out[6] = h.flags;
  out[7] = 0;
  detail::put_be32(out + 8, h.id);
  detail::put_be32(out + 12, h.seq);
  detail::put_be32(out + 16, h.reply_to);
}

// Magic, version and type: what the datapath checks before it reads the id.
inline bool header_valid(const uint8_t* p, size_t len) {
  return len >= kHeaderLen && std::memcmp(p, "IVCH", 4) == 0 && p[4] == kVersion &&
         (p[5] == static_cast<uint8_t>(MsgType::kData) || p[5] == static_cast<uint8_t>(MsgType::kAck));
}
inline uint32_t header_id(const uint8_t* p) { return detail::be32(p + 8); }

inline std::optional<Header> decode(const uint8_t* p, size_t len) {
  if (!header_valid(p, len)) return std::nullopt;
  return Header{static_cast<MsgType>(p[5]), p[6], detail::be32(p + 8), detail::be32(p + 12), detail::be32(p + 16)};
}

}  // namespace ivs::channel
