#pragma once
// The key of a two-way flow. Both directions of a flow map to the same key: the two
// endpoints (address, port) are stored in a canonical order and `direction` tells which
// way a packet goes (0: endpoint 0 -> endpoint 1). ICMP echo requests and replies share
// the echo identifier as both "ports", so a ping and its replies are one flow.
//
// Thread: pure functions; keys are hashed as raw bytes (no padding holes: always zeroed).
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "packet/parse.hpp"

namespace ivs::flow {

// 48 bytes: DPDK's hash compares 16/32/48/64-byte keys with vector instructions and
// anything else with memcmp (measured: memcmp was 6.5% of the datapath with 40 bytes).
struct alignas(8) FlowKey {  // aligned: DPDK's CRC hash reads it 8 bytes at a time
  uint8_t addr[2][16];  // IPv4 in the first 4 bytes (network order), rest zero
  uint16_t port[2];     // host order
  uint8_t proto;
  uint8_t family;       // 4 or 6
  uint16_t zone;        // the address space (forward::NetworkInfo::zone): 0 unless the network has no subnet
  uint8_t pad[8];       // zero
  bool operator==(const FlowKey& o) const { return std::memcmp(this, &o, sizeof(*this)) == 0; }
};
static_assert(sizeof(FlowKey) == 48);

struct DirectedKey {
  FlowKey key;
  uint8_t direction;  // 0: packet goes endpoint 0 -> 1
};

// The flow of an IPv4/IPv6 packet (`frame` points at the Ethernet header, `len` bytes
// readable, `pp` parsed from it with the VLAN tag already removed), written into `out`.
// False for non-IP frames.
bool make_key(const uint8_t* frame, uint32_t len, const packet::ParsedPacket& pp, DirectedKey& out) noexcept;
inline std::optional<DirectedKey> make_key(const uint8_t* frame, uint32_t len, const packet::ParsedPacket& pp) noexcept {
  DirectedKey dk;
  if (!make_key(frame, len, pp, dk)) return std::nullopt;
  return dk;
}

// ICMP errors (IPv4 destination unreachable, time exceeded, parameter problem; ICMPv6
// destination unreachable, packet too big, time exceeded, parameter problem) carry the
// start of the packet that caused them. This writes the key of that packet's flow into
// `out` (direction: the error's, i.e. towards the embedded packet's sender), so that the
// error can travel with its flow, as conntrack's "related" does. False when `pp` is not
// such an error or the embedded headers are cut short or a non-first fragment.
bool make_related_key(const uint8_t* frame, uint32_t len, const packet::ParsedPacket& pp, DirectedKey& out) noexcept;

// "tcp 10.0.1.11:40000 <-> 10.0.2.13:5432" (endpoint 0 first).
std::string to_string(const FlowKey& k);
// Source / destination as seen in `direction`.
std::string endpoint(const FlowKey& k, int side);

}  // namespace ivs::flow
