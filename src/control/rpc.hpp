#pragma once
// The control socket's JSON-RPC without the HTTP: the method table, the request's
// envelope, and the answer's shape. A method returns its result or an ivs::Error by
// value; nothing is thrown across this interface.
//
//   request  {"method": "show.flows", "params": {"limit": 10}}
//   answer   {"result": ...}
//         or {"error": "params.limit: expected ...", "code": "out_of_range", "path": "params.limit"}
//
// "error" is what it always was (ivctl prints it); "code" (common/error.hpp) is new and
// always there with an error; "path" only when the error has one.
//
// Threads: methods are added before the server starts; call() from any control thread.
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace ivs::control {

using Reply = Result<nlohmann::json>;
using Method = std::function<Reply(const nlohmann::json& params)>;

class MethodTable {
 public:
  // The method is kept behind a guard: an exception a library throws inside it
  // (nlohmann::json, yaml-cpp, std::bad_alloc) is caught there and answered as an Error
  // naming the method (code internal), so none reaches the caller.
  void add(const std::string& name, Method m);
  // Parses the request, finds the method, runs it.
  Reply call(const std::string& body) const;
  std::vector<std::string> names() const;

  // The JSON answer of a reply (the shape above).
  static nlohmann::json answer(const Reply& r);

 private:
  std::map<std::string, Method> methods_;
};

}  // namespace ivs::control
