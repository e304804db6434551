// Fuzz target: the config loader on YAML text, as a careless operator or a hostile file
// writes it (`ivswitchd --config`, `--check`, `ivctl policy reload`).
//
// Checked besides memory safety: load_string never throws and never aborts (an uncaught
// exception is a crash here); a file is either a Config or a non-empty list of errors,
// each "fuzz.yaml:LINE: message" with LINE a number (DESIGN.md: FILE:LINE for every
// error, the whole file refused).
#include <cstdio>
#include <cstdlib>
#include <cctype>
#include <string>

#include "config/loader.hpp"

namespace {
// Bounded: a mirror filter of a few hundred terms takes libpcap seconds to compile (issue 14
// item 5: 400 terms, 20 s under ASan); 2048 bytes hold ~170 terms, about 1.5 s.
constexpr size_t kMaxText = 2048;

// "fuzz.yaml:LINE: message" (checked by hand: std::regex recurses per character).
bool file_line_form(const std::string& e) {
  const std::string prefix = "fuzz.yaml:";
  if (e.compare(0, prefix.size(), prefix) != 0) return false;
  size_t i = prefix.size(), digits = 0;
  while (i < e.size() && std::isdigit(static_cast<unsigned char>(e[i]))) ++i, ++digits;
  return digits > 0 && e.compare(i, 2, ": ") == 0 && e.size() > i + 2;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxText) return -1;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto cfg = ivs::config::load_string(text, "fuzz.yaml");
  if (cfg) return 0;
  if (cfg.error().empty()) {
    std::fprintf(stderr, "config_fuzz: refused without an error\n");
    std::abort();
  }
  for (const auto& e : cfg.error())
    if (!file_line_form(e)) {
      std::fprintf(stderr, "config_fuzz: error not in FILE:LINE: form: %s\n", e.c_str());
      std::abort();
    }
  return 0;
}
