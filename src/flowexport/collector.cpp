#include "flowexport/collector.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config/flow_export_reader.hpp"

namespace ivs::flowexport {

std::expected<std::unique_ptr<Collector>, std::string> Collector::open(const std::string& target, uint32_t domain,
                                                                       uint32_t enterprise, size_t max_message) {
  auto hp = config::split_host_port(target);
  if (!hp) return std::unexpected(hp.error());
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(hp->port);
  if (int rc = getaddrinfo(hp->host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return std::unexpected(fmt::format("collector {}: {}", target, gai_strerror(rc)));
  std::unique_ptr<Collector> c(new Collector());
  c->target_ = target;
  c->encoder_ = IpfixEncoder(domain, enterprise, max_message);
  std::string err = "no address";
  for (addrinfo* a = res; a; a = a->ai_next) {
    const int fd = socket(a->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      err = std::strerror(errno);
      continue;
    }
    // Connected: the kernel reports ICMP errors for this destination on the next send.
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      err = std::strerror(errno);
      ::close(fd);
      continue;
    }
    char host[NI_MAXHOST] = "", serv[NI_MAXSERV] = "";
    getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof(host), serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV);
    c->address_ = a->ai_family == AF_INET6 ? fmt::format("[{}]:{}", host, serv) : fmt::format("{}:{}", host, serv);
    c->fd_ = fd;
    break;
  }
  freeaddrinfo(res);
  if (c->fd_ < 0) return std::unexpected(fmt::format("collector {}: {}", target, err));
  return c;
}

Collector::~Collector() {
  if (fd_ >= 0) ::close(fd_);
}

bool Collector::send_message(const std::vector<uint8_t>& m) {
  if (::send(fd_, m.data(), m.size(), MSG_DONTWAIT | MSG_NOSIGNAL) == static_cast<ssize_t>(m.size())) {
    stats_.messages.inc();
    return true;
  }
  stats_.send_errors.inc();
  stats_.last_errno.store(errno, std::memory_order_relaxed);
  return false;
}

void Collector::send_templates(uint32_t now_s) {
  templates_at_s_ = now_s;
  templates_sent_ = true;
  if (send_message(encoder_.templates(now_s))) stats_.templates.inc();
}

void Collector::send(std::span<const FlowRecord> records, uint32_t now_s, uint32_t interval_s) {
  if (!templates_sent_ || now_s - templates_at_s_ >= interval_s) send_templates(now_s);
  if (records.empty()) return;
  for (const Message& m : encoder_.data(records, now_s)) {
    if (send_message(m.bytes)) stats_.records.add(m.records);
    else stats_.records_dropped.add(m.records);
  }
}

}  // namespace ivs::flowexport
