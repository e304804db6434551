#pragma once
// Reads and validates a whole configuration file. On any error nothing is returned but
// the list of every error found, each "FILE:LINE: what is wrong"; callers apply nothing.
#include <expected>
#include <string>
#include <vector>

#include "config/model.hpp"

namespace ivs::config {

using LoadResult = std::expected<Config, std::vector<std::string>>;

// The daemon's file (start, --check, reload): also refuses what only the unit tests' rigs
// can run (ports of type ring).
LoadResult load_file(const std::string& path);
// `name` stands in for the file name in messages (tests, `ivctl` dry runs); for_daemon:
// checked as load_file checks.
LoadResult load_string(const std::string& yaml_text, const std::string& name, bool for_daemon = false);

}  // namespace ivs::config
