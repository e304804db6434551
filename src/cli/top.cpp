// ivctl top: samples the daemon's counters every interval over the control socket and
// shows the rates (top_model.cpp) as text (top_render.cpp) in a curses screen.
//
// The terminal is always given back as it was: q, Ctrl-C, SIGTERM and SIGHUP only set a
// flag that the loop checks at least every 100 ms, then endwin() runs on the way out (a
// guard object, so also on an error). A daemon that goes away ends the view with a message
// on the restored terminal, not a crash.
#include "cli/top.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <clocale>
#include <csignal>
#include <cstdio>
#include <expected>
#include <iostream>
#include <optional>
#include <thread>

#include "cli/client.hpp"
#include "cli/top_model.hpp"
#include "cli/top_render.hpp"

// Last: curses' macros (clear(), erase(), timeout()...) would rewrite other headers' names.
#define NCURSES_NOMACROS
#include <curses.h>

namespace ivs::cli {

namespace {

using nlohmann::json;
using top::Frame;
using top::Sample;
using top::View;
using top::ViewState;

constexpr int kCallTimeoutS = 5;  // the daemon's own request limit (switch.control_limits) is 5 s
constexpr double kMinInterval = 0.1, kMaxInterval = 3600;

volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_signal(int sig) { g_signal = sig; }

// Without SA_RESTART, so that a wait in getch() or a read returns at once. Installed
// before curses starts, which then leaves these signals alone.
void catch_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaction(s, &sa, nullptr);
  // A daemon that dies while a request is being written must show as a failed call (and
  // a restored terminal), not kill ivctl with the screen still in curses mode.
  std::signal(SIGPIPE, SIG_IGN);
}

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::expected<Sample, std::string> fetch(const std::string& socket, size_t flow_limit) {
  Sample s;
  double unused = 0;
  const struct {
    const char* method;
    json* out;
    double* when;
  } calls[] = {{"show.ports", &s.ports, &s.t}, {"show.pmd", &s.pmd, &s.t_pmd}, {"show.policy", &s.policy, &s.t_policy},
               {"show.flows", &s.flows, &s.t_flows}, {"show.stats", &s.stats, &unused}};
  for (const auto& c : calls) {
    json params = json::object();
    if (c.out == &s.flows) params["limit"] = flow_limit;
    const double start = now_s();
    auto r = call(socket, c.method, params, kCallTimeoutS);
    if (!r) return std::unexpected(r.error());
    *c.when = (start + now_s()) / 2;  // the daemon read its counters during the call
    *c.out = std::move(*r);
  }
  return s;
}

// Sleeps up to `seconds`; false when a signal came first.
bool wait_unless_signalled(double seconds) {
  const double end = now_s() + seconds;
  while (now_s() < end) {
    if (g_signal) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(50, static_cast<int>((end - now_s()) * 1000) + 1)));
  }
  return !g_signal;
}

int once(const std::string& socket, const TopOptions& o) {
  auto a = fetch(socket, o.flow_limit);
  if (!a) {
    std::fprintf(stderr, "ivctl top: %s\n", a.error().c_str());
    return 1;
  }
  // The window is the interval from the first reading, whatever that reading took.
  if (!wait_unless_signalled(a->t + o.interval_s - now_s())) return 128 + g_signal;
  auto b = fetch(socket, o.flow_limit);
  if (!b) {
    std::fprintf(stderr, "ivctl top: lost ivswitchd during the sample: %s\n", b.error().c_str());
    return 1;
  }
  const Frame f = top::compute(*a, *b);
  if (o.json) std::cout << top::to_json(f, o.show_flows).dump(2) << "\n";
  else std::cout << top::render_once(f, f.interval_s, o.show_flows);
  return 0;
}

// The curses screen for the lifetime of the view; endwin() on every way out.
class Screen {
 public:
  Screen() : term_(newterm(nullptr, stdout, stdin)) {
    if (!term_) return;
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
  }
  ~Screen() {
    if (!term_) return;
    endwin();
    delscreen(term_);
  }
  bool ok() const { return term_ != nullptr; }

  void draw(const std::vector<std::string>& header, const std::vector<std::string>& body) {
    werase(stdscr);
    int y = 0;
    for (const auto& l : header) put(y++, l, A_BOLD);
    ++y;
    for (size_t i = 0; i < body.size(); ++i) put(y++, body[i], i == 0 ? A_REVERSE : i == 1 ? A_BOLD : A_NORMAL);
    wrefresh(stdscr);
  }

 private:
  void put(int y, const std::string& line, attr_t attr) {
    if (y >= LINES) return;
    wattron(stdscr, attr);
    mvwaddnstr(stdscr, y, 0, line.c_str(), COLS);
    wattroff(stdscr, attr);
  }
  SCREEN* term_;
};

}  // namespace

int run_top(const std::string& socket, const TopOptions& opts) {
  catch_signals();
  TopOptions o = opts;
  if (o.json) o.once = true;
  if (o.once) return once(socket, o);
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
    std::fprintf(stderr, "ivctl top: needs a terminal; for scripts: ivctl top --once (text) or --json\n");
    return 2;
  }
  ViewState st{.interval_s = o.interval_s};
  top::parse_view(o.view, st.view);

  auto first = fetch(socket, o.flow_limit);
  if (!first) {
    std::fprintf(stderr, "ivctl top: %s\n", first.error().c_str());
    return 1;
  }
  Sample prev = std::move(*first);
  std::optional<Frame> frame;
  std::string lost;

  std::setlocale(LC_ALL, "");
  {
    Screen screen;
    if (!screen.ok()) {
      std::fprintf(stderr, "ivctl top: cannot drive this terminal (TERM=%s)\n", std::getenv("TERM") ? std::getenv("TERM") : "");
      return 2;
    }
    bool dirty = true;
    while (!g_signal) {
      if (dirty) {
        st.max_rows = static_cast<size_t>(std::max(1, LINES - 6));
        if (st.help) screen.draw({}, top::help_lines());
        else if (frame) screen.draw(top::header_lines(*frame, st), top::table_lines(*frame, st));
        else screen.draw({fmt::format("ivctl top: sampling ivswitchd every {:.1f} s ...", st.interval_s)}, {});
        dirty = false;
      }
      const double remaining = prev.t + st.interval_s - now_s();
      if (remaining <= 0) {
        auto cur = fetch(socket, o.flow_limit);
        if (!cur) {
          if (g_signal) break;  // the signal cut the request short: not the daemon's fault
          lost = cur.error();
          break;
        }
        frame = top::compute(prev, *cur);
        prev = std::move(*cur);
        dirty = true;
        continue;
      }
      wtimeout(stdscr, std::clamp(static_cast<int>(remaining * 1000), 1, 100));
      const int ch = wgetch(stdscr);
      if (ch == ERR) continue;
      dirty = true;
      if (ch == 'q' || ch == 'Q') break;
      if (st.help) {  // any key leaves the help
        st.help = false;
        continue;
      }
      const auto keys = top::sort_key_names(st.view).size();
      switch (ch) {
        case 'p': st.view = View::kPorts, st.sort = 0, st.reversed = false; break;
        case 'f': st.view = View::kFlows, st.sort = 0, st.reversed = false; break;
        case 'd': st.view = View::kDrops, st.sort = 0, st.reversed = false; break;
        case 't': st.view = View::kThreads, st.sort = 0, st.reversed = false; break;
        case 's': st.sort = (st.sort + 1) % keys, st.reversed = false; break;
        case 'r': st.reversed = !st.reversed; break;
        case '+': st.interval_s = std::min(kMaxInterval, st.interval_s * 2); break;
        case '-': st.interval_s = std::max(kMinInterval, st.interval_s / 2); break;
        case '?': case 'h': st.help = true; break;
        default: break;  // KEY_RESIZE and the rest: redraw
      }
    }
  }
  if (!lost.empty()) {
    std::fprintf(stderr, "ivctl top: ivswitchd went away: %s\n", lost.c_str());
    return 1;
  }
  return 0;
}

}  // namespace ivs::cli
