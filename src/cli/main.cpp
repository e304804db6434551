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
  app.footer("Examples:\n  ivctl show ports\n  ivctl --json show stats | jq .drops\n  ivctl show flows --limit 20\n"
             "  ivctl policy reload\n  ivctl show chains\n  ivctl show qos\n  ivctl trace port=vm1 src=10.0.1.11 dst=10.0.2.13 proto=tcp dport=5432\n  ivctl call list.methods");

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
      {"flows", "show.flows", "flow table: both directions' counters, verdict, rule, epoch, state, age", ivs::cli::render_flows},
      {"policy", "show.policy", "policy: epoch, rules with hits, convergence time of the last change", ivs::cli::render_policy},
      {"chains", "show.chains", "inline-device chains: device health, flows pending/verified/denied, time to verify", ivs::cli::render_chains},
      {"qos", "show.qos", "QoS guard: DSCP by VM (seen, mismatched, rewritten), meters, class queues, recent mismatching flows", ivs::cli::render_qos},
  };
  const View* chosen = nullptr;
  size_t flow_limit = 1000;
  for (const auto& v : kViews) {
    auto* sub = show->add_subcommand(v.name, v.help)->callback([&chosen, &v] { chosen = &v; });
    if (std::string(v.name) == "flows") sub->add_option("--limit", flow_limit, "show at most this many flows")->capture_default_str();
  }
  static const View kReload{"reload", "policy.reload", "", ivs::cli::render_reload};
  auto* pol = app.add_subcommand("policy", "policy actions")->require_subcommand(1);
  pol->add_subcommand("reload", "re-read the config file and apply its policy under a new epoch (like SIGHUP)")
      ->callback([&chosen] { chosen = &kReload; });
  static const View kTrace{"trace", "trace", "", ivs::cli::render_trace};
  std::vector<std::string> trace_words;
  auto* trace = app.add_subcommand("trace", "send a described packet through the pipeline without sending it; print each decision");
  trace->add_option("description", trace_words, "port=NAME src=IP dst=IP [proto=tcp|udp|icmp] [sport=N] [dport=N] [flags=S] "
                                                "[src_mac=..] [dst_mac=..] [vlan=N] [ttl=N] [icmp_type=N] [len=N]")
      ->required();
  trace->callback([&chosen] { chosen = &kTrace; });

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
  if (chosen && m == "show.flows") params["limit"] = flow_limit;
  if (chosen && m == "trace") {
    std::string d;
    for (const auto& w : trace_words) d += (d.empty() ? "" : " ") + w;
    params["description"] = d;
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
