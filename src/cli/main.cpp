// ivctl: the command-line client of ivswitchd (control socket, JSON-RPC).
// Human tables by default; --json prints the daemon's view as is, for scripts.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "cli/capture.hpp"
#include "cli/channel.hpp"
#include "cli/client.hpp"
#include "cli/show.hpp"
#include "cli/top.hpp"
#include "ethertypes/cli/show.hpp"

// A duration in seconds within min..max: a finite number (CLI::Range lets NaN through,
// and a negative or NaN --seconds used to mean "run forever").
CLI::Validator seconds_in(double min, double max) {
  return CLI::Validator(
      [min, max](std::string& s) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (s.empty() || *end != '\0' || !std::isfinite(v) || v < min || v > max)
          return fmt::format("expected seconds in {}..{}, got '{}'", min, max, s);
        return "";
      },
      fmt::format("SECONDS in {}..{}", min, max));
}

int main(int argc, char** argv) {
  CLI::App app{"ivctl - control and inspect a running ivswitchd", "ivctl"};
  const char* env = std::getenv("IVSWITCH_SOCKET");
  std::string socket = env ? env : "/run/ivswitch/ivswitch.sock";
  bool as_json = false;
  app.add_option("-s,--socket", socket, "control socket of the daemon (switch.control_socket; env IVSWITCH_SOCKET)")
      ->capture_default_str();
  app.add_flag("-j,--json", as_json, "print JSON instead of tables");
  app.require_subcommand(1);
  app.footer("Examples:\n  ivctl show ports\n  ivctl top\n  ivctl top --json --interval 5 | jq .ports\n  ivctl --json show stats | jq .drops\n  ivctl show flows --limit 20\n"
             "  ivctl policy reload\n  ivctl show chains\n  ivctl show qos\n"
             "  ivctl mirror add web --tap vm1 --filter 'tcp port 80' --snaplen 128 --pcapng /tmp/web.pcapng\n  ivctl show mirrors\n"
             "  ivctl capture vm1 'tcp port 80' | tshark -r -\n  ivctl channel send vm1 ping\n  ivctl show channels\n  ivctl flow-export add 127.0.0.1:4739\n  ivctl trace port=vm1 src=10.0.1.11 dst=10.0.2.13 proto=tcp dport=5432\n  ivctl trace --live vm1 icmp -c 5\n  ivctl call list.methods");

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
      {"mirrors", "show.mirrors", "mirrors: taps, filter, coverage (eligible/filtered/sampled/copied/dropped), delivered per tool", ivs::cli::render_mirrors},
      {"qos", "show.qos", "QoS guard: DSCP by VM (seen, mismatched, rewritten), meters, class queues, recent mismatching flows", ivs::cli::render_qos},
      {"port-security", "show.port_security", "port security: per port on/off, the VMs (MACs, addresses, guards) it admits, drops by reason", ivs::cli::render_port_security},
      {"channels", "show.channels", "host-VM channel: id -> VLAN -> port mapping, messages each way, acks, drops at the agents' ports", ivs::cli::render_channels},
      {"ethertypes", "show.ethertypes", "frames and bytes per port, outer VLAN and EtherType as received, with the last sample of each", ivs::cli::render_ethertypes},
  };
  const View* chosen = nullptr;
  size_t flow_limit = 1000;
  for (const auto& v : kViews) {
    auto* sub = show->add_subcommand(v.name, v.help)->callback([&chosen, &v] { chosen = &v; });
    if (std::string(v.name) == "flows") sub->add_option("--limit", flow_limit, "show at most this many flows")->capture_default_str()->check(CLI::Range(1, 100000));
  }
  static const View kReload{"reload", "policy.reload", "", ivs::cli::render_reload};
  auto* pol = app.add_subcommand("policy", "policy actions")->require_subcommand(1);
  pol->add_subcommand("reload", "re-read the config file and apply its policy under a new epoch (like SIGHUP)")
      ->callback([&chosen] { chosen = &kReload; });
  static const View kTrace{"trace", "trace", "", ivs::cli::render_trace};
  static const View kTraceLive{"trace", "trace.live", "", ivs::cli::render_trace_live};
  std::vector<std::string> trace_words;
  std::string live_port;
  unsigned live_count = 10, live_seconds = 10;
  auto* trace = app.add_subcommand("trace", "send a described packet through the pipeline without sending it; print each decision "
                                            "(--live PORT: trace the next packets really forwarded from PORT)");
  trace->add_option("description", trace_words, "port=NAME src=IP dst=IP [proto=tcp|udp|icmp] [sport=N] [dport=N] [flags=S] "
                                                "[src_mac=..] [dst_mac=..] [vlan=N] [ttl=N] [icmp_type=N] [len=N]; "
                                                "with --live: a pcap-filter expression");
  trace->add_option("--live", live_port, "trace the next packets received on this port as the datapath forwards them");
  trace->add_option("-c,--count", live_count, "--live: packets to trace")->capture_default_str()->check(CLI::Range(1, 256));
  trace->add_option("--seconds", live_seconds, "--live: stop waiting after this long")->capture_default_str()->check(CLI::Range(1, 300));
  trace->callback([&] {
    if (live_port.empty() && trace_words.empty()) throw CLI::ValidationError("trace", "a packet description (port=NAME src=IP dst=IP ...) or --live PORT");
    chosen = live_port.empty() ? &kTrace : &kTraceLive;
  });

  // ivctl mirror add NAME --tap vm1[:rx|tx|both] ... [--filter EXPR] [--snaplen N] [--sample N]
  //                      [--pcapng FILE [--rotate-mb N] [--rotate-seconds N] [--keep N]] [--tool-port PORT]
  static const View kMirror{"mirror", "mirror.add", "", ivs::cli::render_mirror_change};
  static const View kMirrorDel{"mirror", "mirror.del", "", ivs::cli::render_mirror_change};
  std::string m_name, m_filter, m_pcapng;
  std::vector<std::string> m_taps, m_tool_ports, m_tools, m_flows;
  bool m_no_dedup = false;
  uint32_t m_snaplen = 0, m_sample = 1, m_rotate_mb = 100, m_rotate_s = 0, m_keep = 5;
  auto* mir = app.add_subcommand("mirror", "add or remove a mirror at runtime (no restart)")->require_subcommand(1);
  auto* madd = mir->add_subcommand("add", "copy packets seen at tap ports, selected by a pcap-filter expression, to tools");
  madd->add_option("name", m_name, "the mirror's name")->required();
  madd->add_option("--tap", m_taps, "PORT[:rx|tx|both] (repeatable; default both)");
  madd->add_option("--flows", m_flows, "a flow tap: a policy match as JSON (repeatable), e.g. "
                                       "'{\"from\": [\"web\"], \"to\": [\"db\"], \"protocol\": \"tcp\"}': both directions of the flows it selects");
  madd->add_option("--filter", m_filter, "pcap-filter expression, as for tcpdump (default: everything)");
  madd->add_option("--snaplen", m_snaplen, "bytes kept per copy (0: whole frames)")->check(CLI::Range(0, 65535));
  madd->add_option("--sample", m_sample, "copy 1 in N selected packets");
  madd->add_option("--pcapng", m_pcapng, "write copies to this pcapng file (rotated as FILE.1, FILE.2, ...)");
  madd->add_option("--rotate-mb", m_rotate_mb, "pcapng: new file beyond this size")->capture_default_str();
  madd->add_option("--rotate-seconds", m_rotate_s, "pcapng: new file after this long (0: never)")->capture_default_str();
  madd->add_option("--keep", m_keep, "pcapng: rotated files kept")->capture_default_str();
  madd->add_option("--tool-port", m_tool_ports, "send copies out of this port (repeatable)");
  madd->add_option("--tool", m_tools, "a tool as in the config, JSON (repeatable), e.g. "
                                      "'{\"erspan\": {\"remote_ip\": \"10.9.0.2\", \"local_ip\": \"10.9.0.1\", \"port\": \"uplink\"}}'");
  madd->add_flag("--no-dedup", m_no_dedup, "copy a packet at every tap it passes (default: once, at its ingress tap)");
  madd->callback([&chosen] { chosen = &kMirror; });
  auto* mdel = mir->add_subcommand("del", "remove a mirror");
  mdel->add_option("name", m_name, "the mirror's name")->required();
  mdel->callback([&chosen] { chosen = &kMirrorDel; });

  // ivctl flow-export show | add HOST:PORT | del HOST:PORT
  static const View kFlowExport{"flow-export", "flow_export.show", "", ivs::cli::render_flow_export};
  static const View kFlowExportAdd{"flow-export", "flow_export.add", "", ivs::cli::render_flow_export_change};
  static const View kFlowExportDel{"flow-export", "flow_export.del", "", ivs::cli::render_flow_export_change};
  std::string fe_collector;
  auto* fe = app.add_subcommand("flow-export", "flow records over IPFIX: collectors and counters; add or remove a collector at runtime")
                 ->require_subcommand(1);
  fe->add_subcommand("show", "settings, collectors, records/messages/templates sent, send errors, drops")
      ->callback([&chosen] { chosen = &kFlowExport; });
  fe->add_subcommand("add", "send flow records to another collector (UDP)")
      ->callback([&chosen] { chosen = &kFlowExportAdd; })
      ->add_option("collector", fe_collector, "HOST:PORT, [IPv6]:PORT")
      ->required();
  fe->add_subcommand("del", "stop sending to a collector")
      ->callback([&chosen] { chosen = &kFlowExportDel; })
      ->add_option("collector", fe_collector, "as given to add (or in flow_export.collectors)")
      ->required();

  ivs::cli::CaptureOptions cap;
  std::vector<std::string> cap_filter;
  auto* capture = app.add_subcommand("capture", "live capture of a port's packets, written to stdout as pcap "
                                                "(ivctl capture vm1 'tcp port 80' | tshark -r -)");
  capture->add_option("port", cap.port, "the port to capture on")->required();
  capture->add_option("filter", cap_filter, "pcap-filter expression, as for tcpdump (default: everything)");
  capture->add_option("-d,--direction", cap.direction, "rx (received on the port), tx (sent out of it) or both")->capture_default_str();
  capture->add_option("--snaplen", cap.snaplen, "bytes kept per packet (0: whole frames)")->check(CLI::Range(0, 65535));
  capture->add_option("-c,--count", cap.count, "stop after this many packets");
  capture->add_option("--seconds", cap.seconds, "stop after this long (0: no limit)")->check(seconds_in(0, 31 * 86400));

  ivs::cli::ChannelOptions ch;
  auto* chan = app.add_subcommand("channel", "host-VM channel: talk to the agent (ivagent) in a VM through the switch")->require_subcommand(1);
  chan->add_option("--channel-socket", ch.channel_socket, "the channel socket (default: asked of the daemon, channels.socket)");
  chan->add_flag("-j,--json", ch.json, "print the switch's messages as JSON lines");
  auto* csend = chan->add_subcommand("send", "send MESSAGE to VM's agent; print its answer (built in: ping, hostname, uptime, echo TEXT)");
  csend->add_option("vm", ch.vm, "the VM's name, or its metadata id")->required();
  csend->add_option("message", ch.message, "the message (text, up to channels.max_message bytes)")->required();
  csend->add_flag("--ack", ch.ack, "acknowledged mode: retried until the agent acks (at-least-once)");
  csend->add_flag("!--no-answer", ch.wait_reply, "do not wait for the agent's answer");
  csend->add_option("--timeout", ch.timeout_s, "seconds to wait for the ack and the answer")->capture_default_str()->check(seconds_in(0.1, 3600));
  auto* clisten = chan->add_subcommand("listen", "print the messages the agents send to the host (all VMs, or those named)");
  clisten->add_option("vms", ch.vms, "only these VMs");
  clisten->add_option("-c,--count", ch.count, "stop after this many messages");
  clisten->add_option("--seconds", ch.seconds, "stop after this long (0: no limit)")->check(seconds_in(0, 31 * 86400));

  ivs::cli::TopOptions topt;
  auto* topc = app.add_subcommand("top", "live view: per-port rates, drops by reason, datapath threads' load, flows "
                                         "installed/expired, upcalls, busiest flows (keys: p f d t s r q ?)");
  topc->add_option("-i,--interval", topt.interval_s, "seconds between samples (and the window of --once)")
      ->capture_default_str()->check(seconds_in(0.1, 3600));
  topc->add_flag("--once", topt.once, "print one frame sampled over the interval and exit (for scripts)");
  topc->add_flag("-j,--json", topt.json, "print one frame as JSON and exit (implies --once)");
  topc->add_option("--view", topt.view, "the view to start in")->capture_default_str()
      ->check(CLI::IsMember({"ports", "flows", "drops", "threads"}));
  topc->add_option("--flow-limit", topt.flow_limit, "flows read per sample (show flows --limit): the busiest are ranked among these")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  topc->add_option("--flows", topt.show_flows, "busiest flows printed by --once and --json")->capture_default_str()->check(CLI::Range(0, 100000));

  std::string method, params_text = "{}";
  auto* call = app.add_subcommand("call", "call a control method directly (JSON params); see 'call list.methods'");
  call->add_option("method", method, "method name")->required();
  call->add_option("params", params_text, "JSON object of parameters");

  CLI11_PARSE(app, argc, argv);

  if (topc->parsed()) {
    topt.json = topt.json || as_json;
    return ivs::cli::run_top(socket, topt);
  }
  if (csend->parsed()) return ivs::cli::channel_send(socket, ch);
  if (clisten->parsed()) return ivs::cli::channel_listen(socket, ch);
  if (capture->parsed()) {
    for (const auto& w : cap_filter) cap.filter += (cap.filter.empty() ? "" : " ") + w;
    return ivs::cli::capture(socket, cap);
  }
  std::string m = chosen ? chosen->method : method;
  nlohmann::json params;
  try {
    params = nlohmann::json::parse(params_text);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ivctl: params are not JSON: %s\n", e.what());
    return 2;
  }
  if (chosen && m == "show.flows") params["limit"] = flow_limit;
  if (chosen && m == "mirror.del") params = {{"name", m_name}};
  if (chosen && (m == "flow_export.add" || m == "flow_export.del")) params = {{"collector", fe_collector}};
  if (chosen && m == "mirror.add") {
    nlohmann::json taps = nlohmann::json::array(), tools = nlohmann::json::array();
    for (const auto& t : m_taps) {
      const auto colon = t.find(':');
      taps.push_back({{"port", t.substr(0, colon)}, {"direction", colon == std::string::npos ? "both" : t.substr(colon + 1)}});
    }
    for (const auto& f : m_flows) {
      try {
        taps.push_back({{"flows", nlohmann::json::parse(f)}});
      } catch (const std::exception& e) {
        std::fprintf(stderr, "ivctl: --flows '%s' is not JSON: %s\n", f.c_str(), e.what());
        return 2;
      }
    }
    if (!m_pcapng.empty())
      tools.push_back({{"pcapng", m_pcapng}, {"rotate_mb", m_rotate_mb}, {"rotate_seconds", m_rotate_s}, {"keep", m_keep}});
    for (const auto& p : m_tool_ports) tools.push_back({{"port", p}});
    for (const auto& t : m_tools) {
      try {
        tools.push_back(nlohmann::json::parse(t));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "ivctl: --tool '%s' is not JSON: %s\n", t.c_str(), e.what());
        return 2;
      }
    }
    params = {{"name", m_name}, {"taps", taps}, {"snaplen", m_snaplen}, {"sample", m_sample}, {"dedup", !m_no_dedup}, {"tools", tools}};
    if (!m_filter.empty()) params["filter"] = m_filter;
  }
  if (chosen && m == "trace") {
    std::string d;
    for (const auto& w : trace_words) d += (d.empty() ? "" : " ") + w;
    params["description"] = d;
  }
  int read_timeout_s = 10;
  if (chosen && m == "trace.live") {
    std::string filter;
    for (const auto& w : trace_words) filter += (filter.empty() ? "" : " ") + w;
    params = {{"port", live_port}, {"filter", filter}, {"count", live_count}, {"seconds", live_seconds}};
    read_timeout_s = static_cast<int>(live_seconds) + 10;  // the daemon answers when the packets are traced, or after --seconds
  }
  auto res = ivs::cli::call(socket, m, params, read_timeout_s);
  if (!res) {
    std::fprintf(stderr, "ivctl: %s\n", res.error().c_str());
    return 1;
  }
  if (as_json || !chosen) std::cout << res->dump(2) << "\n";
  else std::cout << chosen->render(*res);
  return 0;
}
