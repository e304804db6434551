// ivagent: the in-VM end of the host-VM channel (docs/channels.md).
//
//   ivagent run  --ip AGENT_IP --id ID [--name NAME] [--exec CMD]
//   ivagent send --ip AGENT_IP --id ID [--ack] MESSAGE
//
// `run` answers the host's messages: built-in requests (ping, hostname, uptime, echo TEXT)
// or, with --exec, the output of CMD run with the message on its stdin. `send` sends one
// message to the host daemons (with --ack: retried until the host end acks it).
// The agent uses its kernel's UDP socket on AGENT_IP; the nested ivswitchd in the VM
// carries its frames to the VM's NIC on the channel's VLAN (and answers its ARP for the
// channel address). Messages are datagrams (channel/wire.hpp header + payload).
#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "channel/wire.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using ivs::channel::Header;
using ivs::channel::MsgType;

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct Options {
  std::string ip, host_ip = "169.254.77.1", name, exec;
  uint16_t port = 7077;
  uint32_t id = 0;
  uint32_t max_message = 1400;
  uint32_t ack_timeout_ms = 200, retries = 4;
  bool ack = false, quiet = false;
  std::string message;
};

sockaddr_in addr_of(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

uint32_t random_seq() {
  std::random_device rd;
  uint32_t s = rd();
  return s == 0 ? 1 : s;
}

bool send_msg(int fd, const Options& o, const Header& h, const std::string& payload) {
  std::vector<uint8_t> buf(ivs::channel::kHeaderLen + payload.size());
  ivs::channel::encode(h, buf.data());
  std::memcpy(buf.data() + ivs::channel::kHeaderLen, payload.data(), payload.size());
  const sockaddr_in to = addr_of(o.host_ip, o.port);
  return ::sendto(fd, buf.data(), buf.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) == static_cast<ssize_t>(buf.size());
}

// Runs `cmd` with `input` on its stdin; its stdout (up to `max` bytes, 5 s at most).
std::string run_exec(const std::string& cmd, const std::string& input, size_t max) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return "error: pipe";
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  (void)!write(in[1], input.data(), input.size());
  close(in[1]);
  std::string result;
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{out[0], POLLIN, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) {
      kill(pid, SIGKILL);
      result += "\n(ivagent: the command took longer than 5 s and was killed)";
      break;
    }
    const ssize_t n = read(out[0], buf, sizeof(buf));
    if (n <= 0) break;
    result.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  waitpid(pid, nullptr, 0);
  if (!result.empty() && result.back() == '\n') result.pop_back();
  if (result.size() > max) result.resize(max);
  return result;
}

std::string answer(const Options& o, const std::string& msg) {
  if (!o.exec.empty()) return run_exec(o.exec, msg, o.max_message);
  if (msg == "ping") return "pong from " + o.name;
  if (msg == "hostname") return o.name;
  if (msg == "uptime") {
    std::ifstream f("/proc/uptime");
    double up = 0;
    f >> up;
    return fmt::format("{} up {:.0f} s", o.name, up);
  }
  if (msg.starts_with("echo ")) return msg.substr(5);
  return fmt::format("unknown request '{}'; built in: ping, hostname, uptime, echo TEXT (or run ivagent with --exec CMD)",
                     msg.substr(0, 64));
}

struct Pending {  // a message of ours waiting for the host's ack
  Header h;
  std::string payload;
  uint32_t tries = 1;
  Clock::time_point next;
};

// The interface that holds the agent's IP (its channel, behind the nested switch).
std::string interface_of(const std::string& ip) {
  ifaddrs* ifs = nullptr;
  std::string name;
  const sockaddr_in want = addr_of(ip, 0);
  if (getifaddrs(&ifs) != 0) return name;
  for (ifaddrs* i = ifs; i; i = i->ifa_next)
    if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
        reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr == want.sin_addr.s_addr)
      name = i->ifa_name;
  freeifaddrs(ifs);
  return name;
}

int bound_socket(const Options& o, uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  // Only datagrams that arrive on the agent's own interface: the VM's other NICs could
  // carry a frame addressed to the agent IP from someone posing as the host end.
  const std::string dev = interface_of(o.ip);
  if (dev.empty() || setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev.c_str(), static_cast<socklen_t>(dev.size())) != 0) {
    std::fprintf(stderr, "ivagent: %s is not the address of an interface here (or SO_BINDTODEVICE failed: %s)\n", o.ip.c_str(),
                 std::strerror(errno));
    ::close(fd);
    return -1;
  }
  const sockaddr_in a = addr_of(o.ip, port);
  if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0) {
    std::fprintf(stderr, "ivagent: cannot bind %s:%u: %s (is the agent's address configured on its interface?)\n", o.ip.c_str(), port,
                 std::strerror(errno));
    return -1;
  }
  return fd;
}

// One datagram from the host end; nullopt for anything else (counted by the caller).
std::optional<std::pair<Header, std::string>> receive(int fd, const Options& o) {
  uint8_t buf[2048];
  sockaddr_in from{};
  socklen_t fl = sizeof(from);
  const ssize_t n = ::recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fl);
  if (n <= 0) return std::nullopt;
  const sockaddr_in host = addr_of(o.host_ip, o.port);
  if (from.sin_addr.s_addr != host.sin_addr.s_addr || from.sin_port != host.sin_port) return std::nullopt;
  auto h = ivs::channel::decode(buf, static_cast<size_t>(n));
  if (!h || h->id != o.id) return std::nullopt;
  return std::make_pair(*h, std::string(reinterpret_cast<const char*>(buf) + ivs::channel::kHeaderLen, static_cast<size_t>(n) - ivs::channel::kHeaderLen));
}

int run(const Options& o) {
  const int fd = bound_socket(o, o.port);
  if (fd < 0) return 1;
  std::printf("ivagent %s: id %u on %s:%u, host end %s:%u%s\n", o.name.c_str(), o.id, o.ip.c_str(), o.port, o.host_ip.c_str(), o.port,
              o.exec.empty() ? "" : (", answers from: " + o.exec).c_str());
  std::fflush(stdout);
  uint32_t seq = random_seq();
  std::deque<uint32_t> recent;  // the host's seqs answered lately (a retry is acked again, answered once)
  std::map<uint32_t, Pending> pending;
  uint64_t ignored = 0;
  while (!g_stop) {
    int timeout = 1000;
    const auto now = Clock::now();
    for (auto it = pending.begin(); it != pending.end();) {
      if (now >= it->second.next) {
        if (it->second.tries > o.retries) {
          std::printf("ivagent: answer seq %u was not acked after %u tries; given up\n", it->first, it->second.tries);
          it = pending.erase(it);
          continue;
        }
        ++it->second.tries;
        it->second.next = now + std::chrono::milliseconds(o.ack_timeout_ms);
        send_msg(fd, o, it->second.h, it->second.payload);
      }
      timeout = std::min<int>(timeout, static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(it->second.next - now).count()) + 1);
      ++it;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout) <= 0) continue;
    auto m = receive(fd, o);
    if (!m) {
      ++ignored;
      continue;
    }
    auto& [h, payload] = *m;
    if (h.type == MsgType::kAck) {
      pending.erase(h.seq);
      continue;
    }
    if (h.ack_requested()) {
      send_msg(fd, o, Header{MsgType::kAck, 0, o.id, h.seq, 0}, "");
      if (std::find(recent.begin(), recent.end(), h.seq) != recent.end()) continue;  // a retry: answered already
      recent.push_back(h.seq);
      if (recent.size() > 64) recent.pop_front();
    }
    const std::string reply = answer(o, payload);
    Header r{MsgType::kData, h.flags, o.id, seq++, h.seq};
    if (seq == 0) seq = 1;
    send_msg(fd, o, r, reply);
    if (h.ack_requested()) pending[r.seq] = Pending{r, reply, 1, Clock::now() + std::chrono::milliseconds(o.ack_timeout_ms)};
    if (!o.quiet) std::printf("ivagent: host seq %u%s: '%s' -> answer seq %u: '%s'\n", h.seq, h.ack_requested() ? " (ack)" : "",
                              payload.substr(0, 80).c_str(), r.seq, reply.substr(0, 80).c_str());
    std::fflush(stdout);
  }
  std::printf("ivagent: stopped (%lu datagrams ignored: not from the host end or another id)\n", static_cast<unsigned long>(ignored));
  close(fd);
  return 0;
}

int send_one(const Options& o) {
  if (o.message.size() > o.max_message) {
    std::fprintf(stderr, "ivagent: message of %zu bytes is over %u\n", o.message.size(), o.max_message);
    return 2;
  }
  const int fd = bound_socket(o, 0);
  if (fd < 0) return 1;
  const Header h{MsgType::kData, static_cast<uint8_t>(o.ack ? ivs::channel::kFlagAckRequested : 0), o.id, random_seq(), 0};
  for (uint32_t tries = 1;; ++tries) {
    if (!send_msg(fd, o, h, o.message)) {
      std::fprintf(stderr, "ivagent: send failed: %s\n", std::strerror(errno));
      return 1;
    }
    if (!o.ack) return 0;
    const auto deadline = Clock::now() + std::chrono::milliseconds(o.ack_timeout_ms);
    while (Clock::now() < deadline && !g_stop) {
      pollfd p{fd, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (poll(&p, 1, static_cast<int>(left) + 1) <= 0) continue;
      auto m = receive(fd, o);
      if (m && m->first.type == MsgType::kAck && m->first.seq == h.seq) {
        std::printf("acked by the host after %u try(ies)\n", tries);
        return 0;
      }
    }
    if (tries > o.retries || g_stop) {
      std::fprintf(stderr, "ivagent: no ack after %u tries, %u ms apart (no host daemon listening, or the channel is down)\n", tries, o.ack_timeout_ms);
      return 1;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ivagent - the in-VM end of ivswitch's host-VM channel (docs/channels.md)", "ivagent"};
  Options o;
  char host[256] = "";
  gethostname(host, sizeof(host) - 1);
  o.name = host;
  app.require_subcommand(1);
  auto common = [&](CLI::App* s) {
    s->add_option("--ip", o.ip, "the agent's IP (channels.map[].agent_ip), configured on the agent's interface")->required();
    s->add_option("--id", o.id, "the channel's metadata id (channels.map[].id)")->required();
    s->add_option("--host-ip", o.host_ip, "the channel address (channels.ip)")->capture_default_str();
    s->add_option("--port", o.port, "the channel's UDP port (channels.udp_port)")->capture_default_str();
    s->add_option("--max-message", o.max_message, "message size limit (channels.max_message)")->capture_default_str();
    s->add_option("--ack-timeout-ms", o.ack_timeout_ms, "acknowledged mode: wait before a retry")->capture_default_str();
    s->add_option("--retries", o.retries, "acknowledged mode: retries before giving up")->capture_default_str();
  };
  auto* run_cmd = app.add_subcommand("run", "answer the host's messages until SIGTERM");
  common(run_cmd);
  run_cmd->add_option("--name", o.name, "the name in built-in answers (default: the hostname)");
  run_cmd->add_option("--exec", o.exec, "answer with the output of this shell command, the message on its stdin");
  run_cmd->add_flag("-q,--quiet", o.quiet, "do not print each message");
  auto* send_cmd = app.add_subcommand("send", "send one message to the host daemons");
  common(send_cmd);
  send_cmd->add_flag("--ack", o.ack, "wait for the host end's ack, retrying (exit 1 without one)");
  send_cmd->add_option("message", o.message, "the message")->required();
  app.footer("Examples:\n  ivagent run --ip 169.254.77.11 --id 101 --name vm1\n  ivagent send --ip 169.254.77.11 --id 101 --ack 'backup done'");
  CLI11_PARSE(app, argc, argv);
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);  // an --exec command that exits without reading its stdin
  return run_cmd->parsed() ? run(o) : send_one(o);
}
