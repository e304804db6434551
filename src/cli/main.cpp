// ivctl: the command-line client of ivswitchd (control socket, JSON-RPC).
// Human tables by default; --json prints the daemon's view as is, for scripts.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "cli/client.hpp"
#include "cli/show.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ivctl - control and inspect a running ivswitchd", "ivctl"};
  const char* env = std::getenv("IVSWITCH_SOCKET");
  std::string socket = env ? env : "/run/ivswitch/ivswitch.sock";
  bool as_json = false;
  app.add_option("-s,--socket", socket, "control socket of the daemon (switch.control_socket; env IVSWITCH_SOCKET)")
      ->capture_default_str();
  app.add_flag("-j,--json", as_json, "print JSON instead of tables");
  app.require_subcommand(1);
  app.footer("Examples:\n  ivctl show ports\n  ivctl --json show stats | jq .drops\n  ivctl call list.methods");

  auto* show = app.add_subcommand("show", "show switch state")->require_subcommand(1);
  using Render = std::string (*)(const nlohmann::json&);
  struct View {
    const char *name, *method, *help;
    Render render;
  };
  static const View kViews[] = {
      {"ports", "show.ports", "ports: link, rx/tx packets and bytes, drops by reason", ivs::cli::render_ports},
      {"fdb", "show.fdb", "MAC table (static and learned) and IPv4 neighbours", ivs::cli::render_fdb},
      {"routes", "show.routes", "routes between networks (the switch as gateway)", ivs::cli::render_routes},
      {"stats", "show.stats", "switch-wide counters: events, drops, tables, buffers", ivs::cli::render_stats},
      {"pmd", "show.pmd", "datapath threads: packets, busy cycles per packet, naps", ivs::cli::render_pmd},
  };
  const View* chosen = nullptr;
  for (const auto& v : kViews) show->add_subcommand(v.name, v.help)->callback([&chosen, &v] { chosen = &v; });

  std::string method, params_text = "{}";
  auto* call = app.add_subcommand("call", "call a control method directly (JSON params); see 'call list.methods'");
  call->add_option("method", method, "method name")->required();
  call->add_option("params", params_text, "JSON object of parameters");

  CLI11_PARSE(app, argc, argv);

  std::string m = chosen ? chosen->method : method;
  nlohmann::json params;
  try {
    params = nlohmann::json::parse(params_text);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ivctl: params are not JSON: %s\n", e.what());
    return 2;
  }
  auto res = ivs::cli::call(socket, m, params);
  if (!res) {
    std::fprintf(stderr, "ivctl: %s\n", res.error().c_str());
    return 1;
  }
  if (as_json || !chosen) std::cout << res->dump(2) << "\n";
  else std::cout << chosen->render(*res);
  return 0;
}
