#pragma once
// A declarative reader over yaml-cpp nodes that collects *every* error as
// "FILE:LINE: path: message" instead of stopping at the first one (the Click Args /
// Envoy validation idea). Nothing is applied by the reader: it only fills plain structs.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net_types.hpp"

namespace ivs::config {

// A name users give (ports, networks, VMs, mirrors, the instance): letters, digits, '_',
// '.', '-'; at most 31; starts with a letter or digit. Safe in paths, labels and logs.
bool valid_name(const std::string& s);

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  void error(int line0, const std::string& msg);  // line0: yaml-cpp's 0-based line
  void error(const YAML::Node& at, const std::string& msg) { error(at.Mark().line, msg); }
  bool ok() const { return errors_.empty(); }
  // An entry that should be a mapping is not (`vms: [~]`, a dangling `-`, a number): the
  // cross-checks between sections, which read entries as mappings, are skipped until the
  // file's shape is right.
  void shape_error() { shape_errors_ = true; }
  bool shape_ok() const { return !shape_errors_; }
  // Every error, in file order (stable for errors on the same line).
  std::vector<std::string> errors() const;
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::vector<std::pair<int, std::string>> errors_;
  bool shape_errors_ = false;
};

// The line of `key`'s value inside a mapping node, or of the node itself (for errors
// found by the cross-checks, after the mapping was read).
int value_line(const YAML::Node& node, const char* key);

// Reads the keys of one YAML mapping. `path` names it in messages ("ports[2]").
// finish() reports keys that no getter asked for: unknown keys are errors, not ignored.
class MapReader {
 public:
  MapReader(const YAML::Node& node, std::string path, Diagnostics& diag);
  bool valid() const { return valid_; }
  const YAML::Node& node() const { return node_; }
  const std::string& path() const { return path_; }

  // Each getter returns true when the key is present and valid; reports an error when
  // the key is present but invalid, or missing and `required`.
  bool string(const char* key, std::string& out, bool required = false);
  bool choice(const char* key, std::string& out, std::initializer_list<std::string_view> allowed,
              bool required = false);
  bool u32(const char* key, uint32_t& out, uint32_t min, uint32_t max, bool required = false);
  bool boolean(const char* key, bool& out);
  bool mac(const char* key, MacAddr& out, bool required = false);
  bool ipv4(const char* key, std::optional<Ipv4Addr>& out, bool required = false);
  bool prefix(const char* key, std::optional<Ipv4Prefix>& out, bool required = false);
  bool string_list(const char* key, std::vector<std::string>& out, bool required = false);
  // IPv6 only: an address (`prefix` false: no "/len") or a prefix (host bits zero).
  bool ipv6(const char* key, std::optional<IpPrefix>& out, bool prefix);
  // IPv4/IPv6 addresses or prefixes ("10.0.1.5", "2001:db8::/64"); each bad item reported.
  bool prefix_list(const char* key, std::vector<IpPrefix>& out);
  // One IPv4 address or a list of them ("10.0.9.1" or [10.0.9.1, 10.0.9.2]); each bad item reported.
  bool ipv4_list(const char* key, std::vector<Ipv4Addr>& out, bool required = false);
  bool u32_list(const char* key, std::vector<unsigned>& out, uint32_t max);
  // A nested node (sequence or map) for the caller to read; records the key as known.
  std::optional<YAML::Node> child(const char* key);
  bool has(const char* key) const { return valid_ && node_[key].IsDefined(); }
  int line_of(const char* key) const;
  void finish();

  void error(const YAML::Node& at, const std::string& msg) { diag_.error(at, msg); }
  void error_at_key(const char* key, const std::string& msg);

 private:
  // The key's value when present (not null); the key counted as known either way, and a
  // missing `required` one reported. Every getter starts here.
  std::optional<YAML::Node> present(const char* key, bool required);
  std::optional<YAML::Node> scalar(const char* key, bool required, std::string_view expected);
  std::string where(const char* key) const;

  YAML::Node node_;
  std::string path_;
  Diagnostics& diag_;
  std::vector<std::string> known_;
  bool valid_ = true;
};

}  // namespace ivs::config
