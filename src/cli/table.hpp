#pragma once
// Plain-text tables for ivctl's human output: columns sized to their widest cell.
#include <string>
#include <vector>

namespace ivs::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace ivs::cli
