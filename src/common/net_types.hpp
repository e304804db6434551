#pragma once
// Address types shared by config, tables and the datapath.
// Ipv4Addr holds the address in host byte order; conversion to and from the wire is
// explicit (from_be / to_be) so that byte order is never mixed up implicitly.
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace ivs {

struct MacAddr {
  std::array<uint8_t, 6> bytes{};

  static MacAddr from(const uint8_t* p) noexcept {
    MacAddr m;
    std::memcpy(m.bytes.data(), p, 6);
    return m;
  }
  static std::optional<MacAddr> parse(std::string_view text);
  static constexpr MacAddr broadcast() { return MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }

  bool is_multicast() const noexcept { return bytes[0] & 0x01; }  // broadcast included
  bool is_zero() const noexcept { return (bytes[0] | bytes[1] | bytes[2] | bytes[3] | bytes[4] | bytes[5]) == 0; }
  void store(uint8_t* p) const noexcept { std::memcpy(p, bytes.data(), 6); }
  uint64_t as_u64() const noexcept {
    uint64_t v = 0;
    for (uint8_t b : bytes) v = (v << 8) | b;
    return v;
  }
  std::string to_string() const;
  bool operator==(const MacAddr&) const = default;
};

struct Ipv4Addr {
  uint32_t value = 0;  // host byte order

  static std::optional<Ipv4Addr> parse(std::string_view text);
  static Ipv4Addr from_be(uint32_t be) noexcept { return Ipv4Addr{__builtin_bswap32(be)}; }
  uint32_t to_be() const noexcept { return __builtin_bswap32(value); }
  std::string to_string() const;
  auto operator<=>(const Ipv4Addr&) const = default;
};

struct Ipv4Prefix {
  Ipv4Addr addr;  // network address (host bits zero after parse)
  uint8_t len = 0;

  // "10.0.1.0/24"; host bits set is an error (returns nullopt with host_bits_set = true).
  static std::optional<Ipv4Prefix> parse(std::string_view text, bool* host_bits_set = nullptr);
  uint32_t mask() const noexcept { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }
  bool contains(Ipv4Addr a) const noexcept { return (a.value & mask()) == addr.value; }
  bool overlaps(const Ipv4Prefix& o) const noexcept {
    uint8_t l = len < o.len ? len : o.len;
    uint32_t m = l == 0 ? 0 : ~uint32_t{0} << (32 - l);
    return (addr.value & m) == (o.addr.value & m);
  }
  std::string to_string() const;
  bool operator==(const Ipv4Prefix&) const = default;
};

// An IPv4 or IPv6 address or prefix, as users write them in address lists
// ("10.0.1.5", "10.0.9.0/24", "2001:db8::5", "2001:db8:1::/64"). A bare address is a
// full-length prefix. Bytes in network order; IPv4 in the first 4 bytes.
struct IpPrefix {
  uint8_t family = 4;  // 4 or 6
  uint8_t len = 32;
  std::array<uint8_t, 16> bytes{};

  // Host bits set is an error (nullopt with host_bits_set = true), as for Ipv4Prefix.
  static std::optional<IpPrefix> parse(std::string_view text, bool* host_bits_set = nullptr);
  // `addr`: 4 or 16 bytes in network order, of this prefix's family.
  bool contains(const uint8_t* addr) const noexcept {
    const unsigned full = len / 8u, rest = len % 8u;
    if (std::memcmp(bytes.data(), addr, full) != 0) return false;
    if (rest == 0) return true;
    const uint8_t m = static_cast<uint8_t>(0xff << (8 - rest));
    return (addr[full] & m) == bytes[full];
  }
  std::string to_string() const;
  bool operator==(const IpPrefix&) const = default;
};

// IPv6 address classes (RFC 4291 2.4), `a`: 16 bytes in network order.
inline bool ipv6_is_multicast(const uint8_t* a) noexcept { return a[0] == 0xff; }
inline bool ipv6_is_link_local(const uint8_t* a) noexcept { return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; }
inline bool ipv6_is_unspecified(const uint8_t* a) noexcept {
  uint8_t any = 0;
  for (int i = 0; i < 16; ++i) any |= a[i];
  return any == 0;
}
// The link-local address a MAC gives by modified EUI-64 (RFC 4291 2.5.1, appendix A):
// fe80:: + the MAC with ff:fe inserted in the middle and the universal/local bit flipped.
// The switch's own on each IPv6-routed network is derived from its gateway_mac so.
inline std::array<uint8_t, 16> ipv6_link_local_of(const MacAddr& mac) noexcept {
  std::array<uint8_t, 16> a{};
  a[0] = 0xfe;
  a[1] = 0x80;
  a[8] = mac.bytes[0] ^ 0x02;
  a[9] = mac.bytes[1];
  a[10] = mac.bytes[2];
  a[11] = 0xff;
  a[12] = 0xfe;
  a[13] = mac.bytes[3];
  a[14] = mac.bytes[4];
  a[15] = mac.bytes[5];
  return a;
}

}  // namespace ivs
