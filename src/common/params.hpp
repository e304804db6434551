#pragma once
// Typed reading of a control request's "params": every error names the parameter (its
// path, "params.limit") and says what was expected ("params.limit: expected an integer in
// 1..100000, got -3"), instead of the JSON library's own words. Any control thread;
// errors are returned (ivs::Error: invalid_params, or out_of_range for an integer
// outside its bounds), never thrown.
// In src/common, not src/control: the jobs' own control methods read their params with it,
// and the jobs sit below the control server.
#include <fmt/format.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.hpp"

namespace ivs::control {

class Params {
 public:
  explicit Params(const nlohmann::json& j) : j_(j) {}

  // An integer in min..max; `def` when absent (or null).
  Result<uint64_t> integer(const char* name, uint64_t def, uint64_t min, uint64_t max) const {
    if (!j_.contains(name) || j_[name].is_null()) return def;
    const auto& v = j_[name];
    if (v.is_number_unsigned() && v.get<uint64_t>() >= min && v.get<uint64_t>() <= max) return v.get<uint64_t>();
    // An integer beyond the bounds (negative included) is out of range; anything else
    // (1.5, 1e30, "ten") is not an integer at all.
    return fail(v.is_number_integer() ? ErrorCode::kOutOfRange : ErrorCode::kInvalidParams,
                fmt::format("params.{}: expected an integer in {}..{}, got {}", name, min, max, shown(v)), path(name));
  }
  // A string of at most max_len bytes; `def` when absent (or null).
  Result<std::string> string(const char* name, const std::string& def, size_t max_len, bool required = false) const {
    if (!j_.contains(name) || j_[name].is_null()) {
      if (required) return fail(ErrorCode::kInvalidParams, fmt::format("params.{}: required (a string)", name), path(name));
      return def;
    }
    const auto& v = j_[name];
    if (!v.is_string())
      return fail(ErrorCode::kInvalidParams, fmt::format("params.{}: expected a string, got {}", name, shown(v)), path(name));
    const auto& s = v.get_ref<const std::string&>();
    if (s.size() > max_len)
      return fail(ErrorCode::kOutOfRange, fmt::format("params.{}: {} bytes, at most {} allowed", name, s.size(), max_len), path(name));
    return s;
  }

  // A value as the user wrote it, short and always valid UTF-8 (for messages).
  static std::string shown(const nlohmann::json& v) {
    std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (s.size() > 64) s = s.substr(0, 60) + "...";
    return s;
  }
  static std::string path(const char* name) { return std::string("params.") + name; }

 private:
  const nlohmann::json& j_;
};

}  // namespace ivs::control
