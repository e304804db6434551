#include "cli/channel.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/client.hpp"

namespace ivs::cli {

using nlohmann::json;

namespace {

int connect_channel(const std::string& control_socket, std::string path) {
  if (path.empty()) {
    auto v = call(control_socket, "show.channels");
    if (!v) {
      std::fprintf(stderr, "ivctl: %s\n", v.error().c_str());
      return -1;
    }
    if (!v->contains("socket")) {
      std::fprintf(stderr, "ivctl: this switch has no host end of a channel (channels.role is '%s')\n",
                   (*v)["role"].get<std::string>().c_str());
      return -1;
    }
    path = (*v)["socket"];
  }
  const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::fprintf(stderr, "ivctl: cannot connect to the channel socket %s: %s\n", path.c_str(), std::strerror(errno));
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

bool send_json(int fd, const json& j) {
  const std::string s = j.dump();
  return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
}

// The next message from the switch, or nullopt on timeout / hangup (`closed` set).
std::optional<json> next(int fd, int timeout_ms, bool& closed) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
  std::string buf(64 * 1024, '\0');
  const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
  if (n <= 0) {
    closed = true;
    return std::nullopt;
  }
  buf.resize(static_cast<size_t>(n));
  try {
    return json::parse(buf);
  } catch (...) {
    return std::nullopt;
  }
}

std::string who(const json& m) { return fmt::format("{} (id {})", m.value("vm", std::string("?")), m.value("id", 0u)); }

}  // namespace

int channel_send(const std::string& control_socket, const ChannelOptions& o) {
  json req{{"op", "send"}, {"data", o.message}, {"ack", o.ack}, {"tag", "ivctl"}};
  if (!o.vm.empty() && o.vm.find_first_not_of("0123456789") == std::string::npos) {  // a metadata id
    uint64_t id = 0;
    const auto [p, ec] = std::from_chars(o.vm.data(), o.vm.data() + o.vm.size(), id);
    if (ec != std::errc{} || id > UINT32_MAX) {
      std::fprintf(stderr, "ivctl: metadata id %s is out of range (1..4294967295)\n", o.vm.c_str());
      return 2;
    }
    req["id"] = id;
  } else {
    req["vm"] = o.vm;
  }
  const int fd = connect_channel(control_socket, o.channel_socket);
  if (fd < 0) return 1;
  if (!send_json(fd, req)) {
    std::fprintf(stderr, "ivctl: cannot send to the channel socket: %s\n", std::strerror(errno));
    ::close(fd);
    return 1;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(o.timeout_s);
  std::optional<uint32_t> seq;
  bool acked = !o.ack, answered = !o.wait_reply, closed = false, failed = false;
  while (!(seq && acked && answered) && !failed && !closed) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) break;
    auto m = next(fd, static_cast<int>(left), closed);
    if (!m) continue;
    if (o.json) std::cout << m->dump() << std::endl;
    const std::string op = m->value("op", "");
    if (op == "error") {
      std::fprintf(stderr, "ivctl: %s\n", m->value("error", std::string("?")).c_str());
      failed = true;
    } else if (op == "sent") {
      seq = (*m)["seq"].get<uint32_t>();
      if (!o.json) std::cout << fmt::format("sent to {} seq {}{}\n", who(*m), *seq, o.ack ? " (acknowledged mode)" : "");
    } else if (op == "acked" && seq && (*m)["seq"] == *seq) {
      acked = true;
      if (!o.json) std::cout << fmt::format("acked by the agent after {} try(ies)\n", (*m)["tries"].get<uint32_t>());
    } else if (op == "failed" && seq && (*m)["seq"] == *seq) {
      std::fprintf(stderr, "ivctl: %s\n", m->value("error", std::string("failed")).c_str());
      failed = true;
    } else if (op == "message" && seq && m->value("reply_to", 0u) == *seq) {
      answered = true;
      if (!o.json) std::cout << fmt::format("answer from {} seq {}: {}\n", who(*m), (*m)["seq"].get<uint32_t>(), (*m)["data"].get<std::string>());
    }
  }
  ::close(fd);
  if (failed) return 1;
  if (!seq || !acked || !answered) {
    std::fprintf(stderr, "ivctl: %s within %.1f s\n", !seq ? "the switch did not take the message" : !acked ? "no ack" : "no answer", o.timeout_s);
    return 1;
  }
  return 0;
}

int channel_listen(const std::string& control_socket, const ChannelOptions& o) {
  const int fd = connect_channel(control_socket, o.channel_socket);
  if (fd < 0) return 1;
  json req{{"op", "listen"}};
  if (!o.vms.empty()) req["vms"] = o.vms;
  if (!send_json(fd, req)) {
    ::close(fd);
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  uint64_t got = 0;
  bool closed = false;
  while (!closed && (o.count == 0 || got < o.count)) {
    int wait_ms = 1000;
    if (o.seconds > 0) {
      const double left = o.seconds - std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (left <= 0) break;
      wait_ms = static_cast<int>(std::min(1000.0, left * 1000) + 1);
    }
    auto m = next(fd, wait_ms, closed);
    if (!m) continue;
    const std::string op = m->value("op", "");
    if (op == "error") {
      std::fprintf(stderr, "ivctl: %s\n", m->value("error", std::string("?")).c_str());
      ::close(fd);
      return 1;
    }
    if (op == "listening") {
      if (!o.json) std::fprintf(stderr, "ivctl: listening to %s\n", (*m)["vms"].empty() ? "every VM's agent" : (*m)["vms"].dump().c_str());
      continue;
    }
    if (op != "message") continue;
    ++got;
    if (o.json) std::cout << m->dump() << std::endl;
    else std::cout << fmt::format("{} seq {}: {}", who(*m), (*m)["seq"].get<uint32_t>(), (*m)["data"].get<std::string>()) << std::endl;
  }
  ::close(fd);
  if (closed) {
    std::fprintf(stderr, "ivctl: the switch closed the channel socket\n");
    return 1;
  }
  return 0;
}

}  // namespace ivs::cli
