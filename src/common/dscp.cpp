#include "common/dscp.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace ivs {

std::optional<uint8_t> parse_dscp(std::string_view text) {
  std::string s(text);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (s == "EF") return 46;
  if (s == "VA") return 44;
  if (s == "BE" || s == "DEFAULT" || s == "DF") return 0;
  if (s == "LE") return 1;
  auto digits = [](std::string_view d) -> std::optional<unsigned> {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(d.data(), d.data() + d.size(), v);
    if (d.empty() || ec != std::errc{} || p != d.data() + d.size()) return std::nullopt;
    return v;
  };
  if (s.size() == 3 && s.starts_with("CS")) {
    if (auto n = digits(std::string_view(s).substr(2)); n && *n <= 7) return static_cast<uint8_t>(*n * 8);
    return std::nullopt;
  }
  if (s.size() == 4 && s.starts_with("AF")) {
    const int cls = s[2] - '0', drop = s[3] - '0';
    if (cls >= 1 && cls <= 4 && drop >= 1 && drop <= 3) return static_cast<uint8_t>(cls * 8 + drop * 2);
    return std::nullopt;
  }
  if (auto n = digits(s); n && *n <= 63) return static_cast<uint8_t>(*n);
  return std::nullopt;
}

std::string dscp_name(uint8_t d) {
  if (d == 46) return "EF";
  if (d == 44) return "VA";
  if (d == 0) return "BE";
  if (d == 1) return "LE";
  if (d % 8 == 0 && d <= 56) return fmt::format("CS{}", d / 8);
  const unsigned cls = d / 8, drop = (d % 8) / 2;
  if (d % 2 == 0 && cls >= 1 && cls <= 4 && drop >= 1 && drop <= 3) return fmt::format("AF{}{}", cls, drop);
  return std::to_string(d);
}

}  // namespace ivs
