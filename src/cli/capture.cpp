#include "cli/capture.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <nlohmann/json.hpp>

namespace ivs::cli {

namespace {
// The reader of stdout went away (a pipe's read end closed): poll reports an error.
bool stdout_gone() {
  pollfd p{STDOUT_FILENO, 0, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP | POLLNVAL));
}
bool write_all(const char* p, size_t n) {
  while (n) {
    const ssize_t w = ::write(STDOUT_FILENO, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}
}  // namespace

int capture(const std::string& socket, const CaptureOptions& o) {
  if (::isatty(STDOUT_FILENO)) {
    std::fprintf(stderr, "ivctl: capture writes pcap: pipe it (| tshark -r -, | tcpdump -r -) or redirect it to a file\n");
    return 1;
  }
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout shows as a failed write: end quietly
  httplib::Client c(socket);
  c.set_address_family(AF_UNIX);
  c.set_read_timeout(10, 0);  // the daemon sends a keep-alive every second
  httplib::Params params{{"port", o.port}, {"direction", o.direction}, {"filter", o.filter}, {"snaplen", std::to_string(o.snaplen)}};
  int status = 0;
  std::string error_body, frames;
  uint64_t packets = 0;
  bool header_seen = false, finished = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(o.seconds);
  auto res = c.Get(
      "/capture", params, {},
      [&](const httplib::Response& r) {
        status = r.status;
        return true;
      },
      [&](const char* data, size_t n) {
        if (status != 200) {
          error_body.append(data, n);
          return true;
        }
        frames.append(data, n);
        size_t at = 0;
        while (frames.size() - at >= 4) {
          uint32_t len;
          std::memcpy(&len, frames.data() + at, 4);
          if (frames.size() - at - 4 < len) break;
          if (len && !write_all(frames.data() + at + 4, len)) return false;  // the reader left
          if (len && header_seen) ++packets;
          if (len) header_seen = true;
          at += 4 + len;
          if ((o.count && packets >= o.count) || (o.seconds > 0 && std::chrono::steady_clock::now() >= deadline)) {
            finished = true;
            return false;
          }
        }
        frames.erase(0, at);
        if (stdout_gone()) return false;
        if (o.seconds > 0 && std::chrono::steady_clock::now() >= deadline) {
          finished = true;
          return false;
        }
        return true;
      });
  if (status != 200 && status != 0) {
    std::string msg = error_body;
    try {
      msg = nlohmann::json::parse(error_body).value("error", error_body);
    } catch (const std::exception&) {
    }
    std::fprintf(stderr, "ivctl: capture: %s\n", msg.c_str());
    return 1;
  }
  if (!res && res.error() != httplib::Error::Canceled) {
    std::fprintf(stderr, "ivctl: capture: cannot reach ivswitchd at %s (%s)\n", socket.c_str(), httplib::to_string(res.error()).c_str());
    return 1;
  }
  std::fprintf(stderr, "ivctl: %lu packet(s) captured%s\n", static_cast<unsigned long>(packets),
               finished ? "" : res ? " (the capture was removed)" : " (the reader left)");
  return 0;
}

}  // namespace ivs::cli
