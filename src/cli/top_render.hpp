#pragma once
// ivctl top's screen as lines of text: a header (totals, flows, threads), then the table
// of the chosen view sorted by the chosen key. The terminal loop (top.cpp) draws these
// lines; --once prints them; the unit tests read them. ASCII only, so any terminal shows it.
#include <string>
#include <vector>

#include "cli/top_model.hpp"

namespace ivs::cli::top {

enum class View { kPorts, kFlows, kDrops, kThreads };

struct ViewState {
  View view = View::kPorts;
  size_t sort = 0;        // index into the view's sort keys (sort_key_names)
  bool reversed = false;  // the key's usual order (numbers high first, names A-Z) flipped
  bool help = false;
  double interval_s = 1;
  size_t max_rows = 1000;  // table rows at most (the terminal's height)
};

const char* view_name(View v);
std::vector<std::string> sort_key_names(View v);
// "ports" -> kPorts, ...; false when the word names no view.
bool parse_view(const std::string& word, View& out);

std::vector<std::string> header_lines(const Frame& f, const ViewState& s);
std::vector<std::string> table_lines(const Frame& f, const ViewState& s);
std::vector<std::string> help_lines();
// The whole frame for ivctl top --once: the header, then every view (flows: the busiest
// max_flows), each in its default order.
std::string render_once(const Frame& f, double interval_s, size_t max_flows);

// 1234567 -> "1.23M": rates for people (k, M, G: powers of 1000).
std::string si(double v);

}  // namespace ivs::cli::top
