#pragma once
// Typed reading of a control request's "params": every error names the parameter and
// says what was expected ("params.limit: expected an integer in 1..100000, got -3"),
// instead of the JSON library's own words. Any control thread; throws std::runtime_error,
// which the dispatcher turns into {"error": ...}.
#include <fmt/format.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace ivs::control {

class Params {
 public:
  explicit Params(const nlohmann::json& j) : j_(j) {}

  // An integer in min..max; `def` when absent (or null).
  uint64_t integer(const char* name, uint64_t def, uint64_t min, uint64_t max) const {
    if (!j_.contains(name) || j_[name].is_null()) return def;
    const auto& v = j_[name];
    if (!v.is_number_unsigned() || v.get<uint64_t>() < min || v.get<uint64_t>() > max)
      throw std::runtime_error(fmt::format("params.{}: expected an integer in {}..{}, got {}", name, min, max, shown(v)));
    return v.get<uint64_t>();
  }
  // A string of at most max_len bytes; `def` when absent (or null).
  std::string string(const char* name, const std::string& def, size_t max_len, bool required = false) const {
    if (!j_.contains(name) || j_[name].is_null()) {
      if (required) throw std::runtime_error(fmt::format("params.{}: required (a string)", name));
      return def;
    }
    const auto& v = j_[name];
    if (!v.is_string()) throw std::runtime_error(fmt::format("params.{}: expected a string, got {}", name, shown(v)));
    const auto& s = v.get_ref<const std::string&>();
    if (s.size() > max_len)
      throw std::runtime_error(fmt::format("params.{}: {} bytes, at most {} allowed", name, s.size(), max_len));
    return s;
  }

  // A value as the user wrote it, short and always valid UTF-8 (for messages).
  static std::string shown(const nlohmann::json& v) {
    std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (s.size() > 64) s = s.substr(0, 60) + "...";
    return s;
  }

 private:
  const nlohmann::json& j_;
};

}  // namespace ivs::control
