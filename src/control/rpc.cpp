#include "control/rpc.hpp"

#include <fmt/format.h>

#include <exception>

#include "common/params.hpp"

namespace ivs::control {

using nlohmann::json;

void MethodTable::add(const std::string& name, Method m) {
  methods_[name] = [name, m = std::move(m)](const json& params) -> Reply {
    try {
      return m(params);
    } catch (const json::exception& e) {  // a parameter read without Params: still say which method
      return fail(ErrorCode::kInternal, fmt::format("{}: bad parameters: {}", name, e.what()));
    } catch (const std::exception& e) {
      return fail(ErrorCode::kInternal, fmt::format("{}: {}", name, e.what()));
    } catch (...) {
      return fail(ErrorCode::kInternal, fmt::format("{}: unknown failure", name));
    }
  };
}

Reply MethodTable::call(const std::string& body) const {
  json req;
  try {
    req = json::parse(body);
  } catch (const json::exception& e) {  // the library's one way to say "not JSON"
    return fail(ErrorCode::kParseError, fmt::format("request is not JSON: {}", e.what()));
  }
  if (!req.is_object() || !req.contains("method") || !req["method"].is_string())
    return fail(ErrorCode::kInvalidRequest, "request needs a string 'method'");
  const auto it = methods_.find(req["method"].get<std::string>());
  if (it == methods_.end())
    return fail(ErrorCode::kUnknownMethod, fmt::format("unknown method {} (list.methods lists them)", Params::shown(req["method"])));
  if (req.contains("params") && !req["params"].is_object() && !req["params"].is_null())
    return fail(ErrorCode::kInvalidParams, fmt::format("params: expected an object, got {}", Params::shown(req["params"])), "params");
  const json params = req.contains("params") && req["params"].is_object() ? req["params"] : json::object();
  return it->second(params);
}

std::vector<std::string> MethodTable::names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : methods_) out.push_back(name);
  return out;
}

json MethodTable::answer(const Reply& r) {
  if (r) return {{"result", *r}};
  json j{{"error", r.error().message}, {"code", std::string(error_code_name(r.error().code))}};
  if (!r.error().path.empty()) j["path"] = r.error().path;
  return j;
}

}  // namespace ivs::control
