#include "control/bounded_http.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

namespace ivs::control {
namespace {

using Clock = std::chrono::steady_clock;

// Reads with a total deadline and a byte budget: kMaxHeaderBytes until the request's
// headers are parsed, then exactly the body the headers announced (expect_body).
class BoundedStream final : public httplib::Stream {
 public:
  BoundedStream(int fd, Clock::time_point deadline, std::chrono::milliseconds write_timeout)
      : fd_(fd), deadline_(deadline), write_timeout_(write_timeout) {}

  void expect_body(size_t bytes) { budget_ = delivered_ + bytes; }

  bool is_readable() const override {
    if (pos_ < len_) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
    return left > 0 && wait(POLLIN, static_cast<int>(left));
  }
  bool is_writable() const override { return wait(POLLOUT, static_cast<int>(write_timeout_.count())); }

  ssize_t read(char* ptr, size_t size) override {
    if (delivered_ >= budget_) return -1;  // over the bound: the request ends here
    if (pos_ == len_) {
      if (!is_readable()) return -1;      // the deadline passed
      const ssize_t n = ::recv(fd_, buf_, sizeof(buf_), MSG_DONTWAIT);
      if (n <= 0) return n < 0 && (errno == EAGAIN || errno == EINTR) ? read(ptr, size) : n;
      pos_ = 0;
      len_ = static_cast<size_t>(n);
    }
    const size_t k = std::min({size, len_ - pos_, budget_ - delivered_});
    std::memcpy(ptr, buf_ + pos_, k);
    pos_ += k;
    delivered_ += k;
    return static_cast<ssize_t>(k);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    return ::send(fd_, ptr, size, MSG_NOSIGNAL);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override { address(&::getpeername, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address(&::getsockname, ip, port); }
  socket_t socket() const override { return fd_; }

 private:
  bool wait(short events, int timeout_ms) const {
    pollfd p{fd_, events, 0};
    int r;
    do r = ::poll(&p, 1, std::max(timeout_ms, 0));
    while (r < 0 && errno == EINTR);
    return r > 0 && (p.revents & events);
  }
  void address(int (*get)(int, sockaddr*, socklen_t*), std::string& ip, int& port) const {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    ip.clear();
    port = 0;
    if (get(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return;
    char text[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET) {
      const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
      ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
      port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
      ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
      port = ntohs(a->sin6_port);
    }
    ip = text;
  }

  int fd_;
  Clock::time_point deadline_;
  std::chrono::milliseconds write_timeout_;
  size_t budget_ = kMaxHeaderBytes, delivered_ = 0;
  char buf_[4096];
  size_t pos_ = 0, len_ = 0;
};

thread_local BoundedStream* t_stream = nullptr;  // the connection this thread serves
thread_local bool t_refuse = false;              // set while the accept thread refuses one

// A fixed pool with no queue: a connection is taken only by an idle thread; otherwise the
// accepting thread refuses it at once (t_refuse) instead of queueing it behind slow ones.
class BoundedPool final : public httplib::TaskQueue {
 public:
  explicit BoundedPool(unsigned n) {
    for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this] { run(); });
  }
  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard lock(mutex_);
      if (idle_ > jobs_.size()) {
        jobs_.push_back(std::move(fn));
        cv_.notify_one();
        return;
      }
    }
    t_refuse = true;
    fn();
    t_refuse = false;
  }
  void shutdown() override {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      ++idle_;
      cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      --idle_;
      if (jobs_.empty()) return;  // stopping
      auto fn = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      fn();
      lock.lock();
    }
  }
  std::vector<std::thread> threads_;
  std::deque<std::function<void()>> jobs_;
  std::mutex mutex_;
  std::condition_variable cv_;
  size_t idle_ = 0;
  bool stop_ = false;
};

std::optional<uint64_t> parse_u64(const std::string& s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

BoundedServer::BoundedServer(HttpLimits limits, bool json_errors) : limits_(limits) {
  set_keep_alive_max_count(1);
  set_socket_options([this](socket_t s) {
    httplib::default_socket_options(s);
    listen_fd_ = s;  // only the listening socket is made through here
  });
  set_payload_max_length(limits_.max_body);
  set_write_timeout(limits_.write_timeout);
  const unsigned n = std::max(1u, limits_.connections);
  new_task_queue = [n] { return new BoundedPool(n); };
  auto refuse = [json_errors](httplib::Response& res, int status, const std::string& why) {
    res.status = status;
    if (json_errors) res.set_content(nlohmann::json{{"error", why}}.dump(), "application/json");
    else res.set_content(why + "\n", "text/plain");
    return HandlerResponse::Handled;
  };
  // Runs once the headers are read and before any of the body is: the body is bounded
  // here, by what the headers announce.
  set_pre_routing_handler([this, refuse](const httplib::Request& req, httplib::Response& res) {
    if (req.has_header("Transfer-Encoding"))
      return refuse(res, 411, "a request body needs a Content-Length (chunked bodies are not accepted)");
    std::optional<uint64_t> len = 0;
    if (req.has_header("Content-Length")) len = parse_u64(req.get_header_value("Content-Length"));
    if (!len) return refuse(res, 400, "Content-Length is not a number");
    if (*len > limits_.max_body) {
      ++too_large_;
      return refuse(res, 413, fmt::format("request body of {} bytes is over the {} bytes allowed", *len, limits_.max_body));
    }
    if (!req.has_header("Content-Length") && (req.method == "POST" || req.method == "PUT" || req.method == "PATCH"))
      return refuse(res, 411, "a request body needs a Content-Length");
    if (t_stream) t_stream->expect_body(*len);
    return HandlerResponse::Unhandled;
  });
}

bool BoundedServer::bind_and_listen(const char* host, int port) {
  if (!bind_to_port(host, port)) return false;
  return listen_fd_ == INVALID_SOCKET || ::listen(listen_fd_, kBacklog) == 0;
}

bool BoundedServer::process_and_close_socket(socket_t sock) {
  if (t_refuse) {
    ++refused_busy_;
    const std::string body = fmt::format("too many connections (at most {} at once); try again\n", limits_.connections);
    const std::string msg = fmt::format("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n"
                                        "Connection: close\r\n\r\n{}", body.size(), body);
    (void)::send(sock, msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return false;
  }
  BoundedStream strm(sock, Clock::now() + limits_.request_timeout, limits_.write_timeout);
  t_stream = &strm;
  bool closed = false;
  const bool ok = process_request(strm, true, closed, nullptr);
  t_stream = nullptr;
  if (!ok) ++cut_;
  // Let the client read the answer before unread request bytes (a refused body) make the
  // kernel reset the connection: end our side, then drain briefly and boundedly.
  ::shutdown(sock, SHUT_WR);
  char scratch[4096];
  size_t drained = 0;
  const auto until = Clock::now() + std::chrono::milliseconds(200);
  while (drained < (256u << 10) && Clock::now() < until) {
    pollfd p{sock, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::recv(sock, scratch, sizeof(scratch), MSG_DONTWAIT);
    if (n <= 0) break;
    drained += static_cast<size_t>(n);
  }
  ::close(sock);
  return ok;
}

}  // namespace ivs::control
