#include "common/net_types.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>

namespace ivs {

std::optional<MacAddr> MacAddr::parse(std::string_view text) {
  // Exactly six pairs of hex digits separated by ':' (the form `ip link` prints).
  if (text.size() != 17) return std::nullopt;
  MacAddr m;
  for (int i = 0; i < 6; ++i) {
    if (i > 0 && text[i * 3 - 1] != ':') return std::nullopt;
    const char* b = text.data() + i * 3;
    auto [p, ec] = std::from_chars(b, b + 2, m.bytes[i], 16);
    if (ec != std::errc{} || p != b + 2) return std::nullopt;
  }
  return m;
}

std::string MacAddr::to_string() const {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", bytes[0], bytes[1], bytes[2],
                     bytes[3], bytes[4], bytes[5]);
}

std::optional<Ipv4Addr> Ipv4Addr::parse(std::string_view text) {
  std::string s(text);
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return Ipv4Addr::from_be(a.s_addr);
}

std::string Ipv4Addr::to_string() const {
  return fmt::format("{}.{}.{}.{}", value >> 24, (value >> 16) & 0xff, (value >> 8) & 0xff,
                     value & 0xff);
}

std::optional<Ipv4Prefix> Ipv4Prefix::parse(std::string_view text, bool* host_bits_set) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto addr = Ipv4Addr::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  auto len_text = text.substr(slash + 1);
  unsigned len = 0;
  auto [p, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (ec != std::errc{} || p != len_text.data() + len_text.size() || len > 32) return std::nullopt;
  Ipv4Prefix pfx{*addr, static_cast<uint8_t>(len)};
  if ((addr->value & pfx.mask()) != addr->value) {
    if (host_bits_set) *host_bits_set = true;
    return std::nullopt;
  }
  return pfx;
}

std::string Ipv4Prefix::to_string() const { return fmt::format("{}/{}", addr.to_string(), len); }

std::optional<IpPrefix> IpPrefix::parse(std::string_view text, bool* host_bits_set) {
  const auto slash = text.find('/');
  const std::string addr(text.substr(0, slash));
  IpPrefix p;
  if (addr.find(':') != std::string::npos) {
    p.family = 6;
    if (inet_pton(AF_INET6, addr.c_str(), p.bytes.data()) != 1) return std::nullopt;
  } else {
    p.family = 4;
    // inet_pton's IPv4 form: four decimal octets, nothing else (no "10.1", no octal).
    if (inet_pton(AF_INET, addr.c_str(), p.bytes.data()) != 1) return std::nullopt;
  }
  const unsigned max = p.family == 4 ? 32 : 128;
  unsigned len = max;
  if (slash != std::string_view::npos) {
    const auto len_text = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (ec != std::errc{} || end != len_text.data() + len_text.size() || len > max) return std::nullopt;
  }
  p.len = static_cast<uint8_t>(len);
  for (unsigned bit = len; bit < max; ++bit)
    if (p.bytes[bit / 8] >> (7 - bit % 8) & 1) {
      if (host_bits_set) *host_bits_set = true;
      return std::nullopt;
    }
  return p;
}

std::string IpPrefix::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof(buf));
  const bool whole = len == (family == 4 ? 32 : 128);
  return whole ? std::string(buf) : fmt::format("{}/{}", buf, len);
}

}  // namespace ivs
