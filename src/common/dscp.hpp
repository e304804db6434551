#pragma once
// DSCP code points by name (RFC 2474 class selectors, RFC 2597 assured forwarding,
// RFC 3246 expedited forwarding, RFC 5865 voice-admit, RFC 8622 lower effort) and back.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ivs {

// "No DSCP": nothing assigned, nothing observed (a value no 6-bit code point takes).
inline constexpr uint8_t kNoDscp = 0xff;

// "EF", "af21", "CS1", "BE", "default", "LE", "VA" or a number 0..63.
std::optional<uint8_t> parse_dscp(std::string_view text);
// The standard name of a code point ("EF", "AF21", "CS1"), or its number ("13").
std::string dscp_name(uint8_t dscp);

}  // namespace ivs
