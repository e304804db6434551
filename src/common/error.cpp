#include "common/error.hpp"

#include <cctype>

namespace ivs {

std::string_view error_code_name(ErrorCode c) {
  switch (c) {
    case ErrorCode::kParseError: return "parse_error";
    case ErrorCode::kInvalidRequest: return "invalid_request";
    case ErrorCode::kUnknownMethod: return "unknown_method";
    case ErrorCode::kInvalidParams: return "invalid_params";
    case ErrorCode::kOutOfRange: return "out_of_range";
    case ErrorCode::kInvalidConfig: return "invalid_config";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kRefused: return "refused";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

std::string config_path_of(std::string_view m) {
  // Skip "FILE:LINE: ": the first ":<digits>: " (a file name may hold ':', a line not).
  size_t at = 0;
  for (;;) {
    const size_t colon = m.find(':', at);
    if (colon == std::string_view::npos) return {};
    size_t d = colon + 1;
    while (d < m.size() && std::isdigit(static_cast<unsigned char>(m[d]))) ++d;
    if (d > colon + 1 && m.substr(d, 2) == ": ") {
      at = d + 2;
      break;
    }
    at = colon + 1;
  }
  // A path is a key ("switch.control_socket", "ports[0]", "mirrors[0].tools[1].pcapng")
  // followed by ": "; a message without one starts with words ("cannot open the file").
  const size_t end = m.find(": ", at);
  if (end == std::string_view::npos || end == at) return {};
  const std::string_view p = m.substr(at, end - at);
  if (!std::isalpha(static_cast<unsigned char>(p[0]))) return {};
  for (const char c : p)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '[' && c != ']' && c != '-') return {};
  return std::string(p);
}

}  // namespace ivs
