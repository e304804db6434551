#pragma once
// The control plane's one error type: what went wrong (a code a program can test), what
// to tell the user (the message, as ivctl prints it), and where in the request or the
// config file it is (the path, when there is one). Returned by value, std::expected<T,
// Error>, through the control API: no exception crosses it (STYLE.md, errors).
//
// Any thread; a plain value.
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace ivs {

enum class ErrorCode : uint8_t {
  kParseError,      // the request is not JSON
  kInvalidRequest,  // JSON, but not {"method": "...", "params": {...}}
  kUnknownMethod,   // no such method (list.methods lists them)
  kInvalidParams,   // a parameter of the wrong type, missing, too long or malformed
  kOutOfRange,      // a number outside its bounds
  kInvalidConfig,   // a config (a file, or a mirror given in the config's shape) the readers refused
  kNotFound,        // the request names something that does not exist (a mirror, a collector)
  kRefused,         // a well-formed request the switch's state refuses (a second writer of a file, ...)
  kInternal,        // a library threw inside a handler: a bug to report, the daemon keeps running
};

// The code's name in answers ("unknown_method"): stable, for scripts.
std::string_view error_code_name(ErrorCode c);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // for people: complete on its own, as ivctl prints it
  std::string path;     // "params.limit", "mirrors[0].tools[0].pcapng", "vms[0]"; empty when none

  Error() = default;
  Error(ErrorCode c, std::string m, std::string p = {}) : code(c), message(std::move(m)), path(std::move(p)) {}
};

template <typename T>
using Result = std::expected<T, Error>;

// std::unexpected(Error{...}) without the noise at every return.
inline std::unexpected<Error> fail(ErrorCode c, std::string message, std::string path = {}) {
  return std::unexpected(Error(c, std::move(message), std::move(path)));
}

// The config path of one reader message, "FILE:LINE: PATH: message" (config/reader.hpp):
// "vms[0]" of "s.yaml:8: vms[0]: expected a mapping", or "" when the message names none
// ("s.yaml:0: cannot open the file").
std::string config_path_of(std::string_view reader_message);

}  // namespace ivs
