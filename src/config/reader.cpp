#include "config/reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <regex>

namespace ivs::config {

bool valid_name(const std::string& s) {
  static const std::regex re("[A-Za-z0-9][A-Za-z0-9_.-]{0,30}");
  return std::regex_match(s, re);
}

void Diagnostics::error(int line0, const std::string& msg) {
  errors_.emplace_back(line0, fmt::format("{}:{}: {}", file_, line0 + 1, msg));
}

std::vector<std::string> Diagnostics::errors() const {
  auto sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& [line, msg] : sorted) out.push_back(std::move(msg));
  return out;
}

namespace {
const char* kind_of(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing (an empty entry)";
  if (n.IsScalar()) return "a single value";
  if (n.IsSequence()) return "a list";
  return "something else";
}
}  // namespace

MapReader::MapReader(const YAML::Node& node, std::string path, Diagnostics& diag)
    : node_(node), path_(std::move(path)), diag_(diag) {
  if (!node_.IsMap()) {
    valid_ = false;
    diag_.shape_error();
    diag_.error(node_, fmt::format("{}: expected a mapping of keys to values, got {}", path_.empty() ? "top level" : path_, kind_of(node_)));
    return;
  }
  // YAML forbids duplicate keys, but yaml-cpp keeps one silently: a second `policy:`
  // would be ignored or win without a word. Report it.
  std::vector<std::pair<std::string, int>> seen;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string& k = it->first.Scalar();
    auto dup = std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == k; });
    if (dup != seen.end())
      diag_.error(it->first, fmt::format("{}: key '{}' appears twice (first on line {})", path_.empty() ? "top level" : path_, k,
                                         dup->second + 1));
    else
      seen.emplace_back(k, it->first.Mark().line);
  }
}

std::string MapReader::where(const char* key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

int value_line(const YAML::Node& node, const char* key) {
  if (node.IsMap())
    for (auto it = node.begin(); it != node.end(); ++it)
      if (it->first.Scalar() == key) return it->second.Mark().line;
  return node.Mark().line;
}

int MapReader::line_of(const char* key) const {
  if (!valid_) return node_.Mark().line;
  for (auto it = node_.begin(); it != node_.end(); ++it)
    if (it->first.Scalar() == key) return it->first.Mark().line;
  return node_.Mark().line;
}

void MapReader::error_at_key(const char* key, const std::string& msg) {
  diag_.error(line_of(key), fmt::format("{}: {}", where(key), msg));
}

std::optional<YAML::Node> MapReader::present(const char* key, bool required) {
  known_.emplace_back(key);
  if (!valid_) return std::nullopt;
  YAML::Node v = node_[key];
  if (!v.IsDefined() || v.IsNull()) {
    if (required) diag_.error(node_, fmt::format("{}: missing required key '{}'", path_.empty() ? "top level" : path_, key));
    return std::nullopt;
  }
  return v;
}

std::optional<YAML::Node> MapReader::scalar(const char* key, bool required, std::string_view expected) {
  const auto found = present(key, required);
  if (!found) return std::nullopt;
  const YAML::Node& v = *found;
  if (!v.IsScalar()) {
    diag_.error(v, fmt::format("{}: expected {}", where(key), expected));
    return std::nullopt;
  }
  return v;
}

bool MapReader::string(const char* key, std::string& out, bool required) {
  auto v = scalar(key, required, "a string");
  if (!v) return false;
  out = v->Scalar();
  return true;
}

bool MapReader::choice(const char* key, std::string& out, std::initializer_list<std::string_view> allowed,
                       bool required) {
  auto v = scalar(key, required, "a string");
  if (!v) return false;
  if (std::find(allowed.begin(), allowed.end(), v->Scalar()) == allowed.end()) {
    diag_.error(*v, fmt::format("{}: '{}' is not one of: {}", where(key), v->Scalar(), fmt::join(allowed, ", ")));
    return false;
  }
  out = v->Scalar();
  return true;
}

namespace {
std::optional<uint32_t> to_u32(const std::string& s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}
}  // namespace

bool MapReader::u32(const char* key, uint32_t& out, uint32_t min, uint32_t max, bool required) {
  auto v = scalar(key, required, "an integer");
  if (!v) return false;
  auto n = to_u32(v->Scalar());
  if (!n || *n < min || *n > max) {
    diag_.error(*v, fmt::format("{}: expected an integer in {}..{}, got '{}'", where(key), min, max, v->Scalar()));
    return false;
  }
  out = *n;
  return true;
}

bool MapReader::boolean(const char* key, bool& out) {
  auto v = scalar(key, false, "true or false");
  if (!v) return false;
  bool b;
  if (!YAML::convert<bool>::decode(*v, b)) {
    diag_.error(*v, fmt::format("{}: expected true or false, got '{}'", where(key), v->Scalar()));
    return false;
  }
  out = b;
  return true;
}

bool MapReader::mac(const char* key, MacAddr& out, bool required) {
  auto v = scalar(key, required, "a MAC address");
  if (!v) return false;
  auto m = MacAddr::parse(v->Scalar());
  if (!m) {
    diag_.error(*v, fmt::format("{}: '{}' is not a MAC address (expected aa:bb:cc:dd:ee:ff)", where(key), v->Scalar()));
    return false;
  }
  out = *m;
  return true;
}

bool MapReader::ipv4(const char* key, std::optional<Ipv4Addr>& out, bool required) {
  auto v = scalar(key, required, "an IPv4 address");
  if (!v) return false;
  auto a = Ipv4Addr::parse(v->Scalar());
  if (!a) {
    diag_.error(*v, fmt::format("{}: '{}' is not an IPv4 address", where(key), v->Scalar()));
    return false;
  }
  out = *a;
  return true;
}

bool MapReader::prefix(const char* key, std::optional<Ipv4Prefix>& out, bool required) {
  auto v = scalar(key, required, "an IPv4 prefix");
  if (!v) return false;
  bool host_bits = false;
  auto p = Ipv4Prefix::parse(v->Scalar(), &host_bits);
  if (!p) {
    diag_.error(*v, host_bits ? fmt::format("{}: '{}' has host bits set (did you mean the network address?)", where(key), v->Scalar())
                              : fmt::format("{}: '{}' is not an IPv4 prefix (expected a.b.c.d/len)", where(key), v->Scalar()));
    return false;
  }
  out = *p;
  return true;
}

bool MapReader::ipv6(const char* key, std::optional<IpPrefix>& out, bool prefix) {
  auto v = scalar(key, false, prefix ? "an IPv6 prefix" : "an IPv6 address");
  if (!v) return false;
  const std::string& text = v->Scalar();
  bool host_bits = false;
  auto p = IpPrefix::parse(text, &host_bits);
  const bool has_len = text.find('/') != std::string::npos;
  if (!p || p->family != 6 || has_len != prefix) {
    diag_.error(*v, host_bits && prefix ? fmt::format("{}: '{}' has host bits set (did you mean the network address?)", where(key), text)
                    : prefix  ? fmt::format("{}: '{}' is not an IPv6 prefix (expected 2001:db8:1::/64)", where(key), text)
                              : fmt::format("{}: '{}' is not an IPv6 address (expected 2001:db8:1::1, no /len)", where(key), text));
    return false;
  }
  out = *p;
  return true;
}

bool MapReader::string_list(const char* key, std::vector<std::string>& out, bool required) {
  const auto found = present(key, required);
  if (!found) return false;
  const YAML::Node& v = *found;
  if (!v.IsSequence()) {
    diag_.error(v, fmt::format("{}: expected a list of strings", where(key)));
    return false;
  }
  bool ok = true;
  for (const auto& item : v) {
    if (!item.IsScalar()) {
      diag_.error(item, fmt::format("{}: expected a list of strings", where(key)));
      ok = false;
      continue;
    }
    out.push_back(item.Scalar());
  }
  return ok;
}

bool MapReader::ipv4_list(const char* key, std::vector<Ipv4Addr>& out, bool required) {
  const auto found = present(key, required);
  if (!found) return false;
  const YAML::Node& v = *found;
  std::vector<YAML::Node> items;
  if (v.IsScalar()) items.push_back(v);
  else if (v.IsSequence())
    for (const auto& item : v) items.push_back(item);
  else {
    diag_.error(v, fmt::format("{}: expected an IPv4 address or a list of them", where(key)));
    return false;
  }
  bool ok = true;
  for (const auto& item : items) {
    const auto a = item.IsScalar() ? Ipv4Addr::parse(item.Scalar()) : std::nullopt;
    if (!a) {
      diag_.error(item, fmt::format("{}: '{}' is not an IPv4 address", where(key), item.IsScalar() ? item.Scalar() : "(not a scalar)"));
      ok = false;
      continue;
    }
    out.push_back(*a);
  }
  if (ok && out.empty()) {
    diag_.error(v, fmt::format("{}: the list is empty", where(key)));
    ok = false;
  }
  return ok;
}

bool MapReader::prefix_list(const char* key, std::vector<IpPrefix>& out) {
  std::vector<std::string> items;
  if (!string_list(key, items)) return false;
  YAML::Node v = node_[key];
  bool ok = true;
  for (size_t i = 0; i < items.size(); ++i) {
    bool host_bits = false;
    auto p = IpPrefix::parse(items[i], &host_bits);
    if (!p) {
      diag_.error(v[i], host_bits ? fmt::format("{}[{}]: '{}' has host bits set (did you mean the network address?)", where(key), i, items[i])
                                  : fmt::format("{}[{}]: '{}' is not an IPv4/IPv6 address or prefix", where(key), i, items[i]));
      ok = false;
      continue;
    }
    out.push_back(*p);
  }
  return ok;
}

bool MapReader::u32_list(const char* key, std::vector<unsigned>& out, uint32_t max) {
  const auto found = present(key, false);
  if (!found) return false;
  const YAML::Node& v = *found;
  if (!v.IsSequence()) {
    diag_.error(v, fmt::format("{}: expected a list of integers", where(key)));
    return false;
  }
  bool ok = true;
  for (const auto& item : v) {
    auto n = item.IsScalar() ? to_u32(item.Scalar()) : std::nullopt;
    if (!n || *n > max) {
      diag_.error(item, fmt::format("{}: expected integers in 0..{}, got '{}'", where(key), max,
                                    item.IsScalar() ? item.Scalar() : std::string("(not a scalar)")));
      ok = false;
      continue;
    }
    out.push_back(*n);
  }
  return ok;
}

std::optional<YAML::Node> MapReader::child(const char* key) { return present(key, false); }

void MapReader::finish() {
  if (!valid_) return;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string& k = it->first.Scalar();
    if (std::find(known_.begin(), known_.end(), k) == known_.end()) {
      std::vector<std::string> sorted = known_;
      std::sort(sorted.begin(), sorted.end());
      sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
      diag_.error(it->first, fmt::format("{}: unknown key '{}' (known: {})", path_.empty() ? "top level" : path_, k,
                                         fmt::join(sorted, ", ")));
    }
  }
}

}  // namespace ivs::config
