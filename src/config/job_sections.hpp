#pragma once
// A job's own config section (issue 17: a job's section belongs to the job): its model and
// reader live in the job's folder (e.g. ethertypes/config.hpp). The config sits below the
// jobs (they read their part of the model), so it names no job: the loader calls the
// readers job_section_readers() lists, by their top-level YAML key, and keeps what each
// made in Config::jobs, type-erased; the job reads it back by its type. The list is
// defined next to the modules' (src/modules/registry.cpp), above the jobs.
#include <any>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace YAML {
class Node;
}

namespace ivs::config {

class Diagnostics;

class JobSections {
 public:
  // The section read under `key`, or a default T when the file has none. T is the type
  // the key's reader put (a different one is a programming error: std::bad_any_cast).
  template <class T>
  const T& get(std::string_view key) const {
    static const T absent{};
    auto it = by_key_.find(key);
    return it == by_key_.end() ? absent : std::any_cast<const T&>(it->second);
  }
  template <class T>
  T& put(std::string_view key, T value) {
    std::any& a = by_key_[std::string(key)];
    a = std::move(value);
    return std::any_cast<T&>(a);
  }

 private:
  std::map<std::string, std::any, std::less<>> by_key_;
};

struct JobSectionReader {
  const char* key;  // the section's top-level key in the file
  void (*read)(const YAML::Node& node, JobSections& out, Diagnostics& d);
};

// Every job's own section, in the order the loader reads them (src/modules/registry.cpp).
const std::vector<JobSectionReader>& job_section_readers();

}  // namespace ivs::config
