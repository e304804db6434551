#pragma once
// An httplib::Server whose every connection is bounded, for the control socket and
// /metrics (both reachable by local users; /metrics by every one of them by default):
//  - concurrent connections: a fixed pool of `connections` threads and no queue; a
//    connection beyond them gets "503 too many connections" at once and is closed;
//  - one request per connection (no keep-alive), and a total deadline for reading it
//    (request line, headers and body): a client that sends a byte a second is cut when the
//    deadline passes, not only when it stops sending;
//  - bytes: the request line and headers at most kMaxHeaderBytes, the body at most
//    `max_body` (a larger Content-Length: 413 before any of the body is read; a body
//    without Content-Length: 411); nothing beyond is ever read into memory.
// cpp-httplib 0.11 (Debian 12) has a per-read timeout, an unbounded thread-pool queue and
// no bound on the number or the total size of headers, hence this class.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace ivs::control {

struct HttpLimits {
  unsigned connections = 16;                              // threads = connections at once
  std::chrono::milliseconds request_timeout{5000};       // to read a whole request
  size_t max_body = 1u << 20;                             // bytes of request body
  std::chrono::milliseconds write_timeout{5000};         // per write (a stalled reader)
};

inline constexpr size_t kMaxHeaderBytes = 16 * 1024;  // request line + headers

// json_errors: refusals carry {"error": "..."} (the control socket) instead of text.
class BoundedServer : public httplib::Server {
 public:
  BoundedServer(HttpLimits limits, bool json_errors);
  // bind_to_port(), then a listen backlog of kBacklog: Debian's cpp-httplib is built with
  // a backlog of 5, and connections beyond it wait for a SYN-ACK retransmission (1 s and
  // more) before the server even sees them, so they were neither served nor refused at
  // once under load. Linux takes a second listen() on a listening socket as a new backlog.
  bool bind_and_listen(const char* host, int port);
  static constexpr int kBacklog = 128;
  const HttpLimits& limits() const { return limits_; }
  // Counters (any thread): connections refused because every thread was busy, requests
  // refused for their size, connections that ended without a whole exchange (deadline,
  // budget, the peer leaving).
  uint64_t refused_busy() const { return refused_busy_.load(); }
  uint64_t too_large() const { return too_large_.load(); }
  uint64_t failed() const { return cut_.load(); }

 private:
  bool process_and_close_socket(socket_t sock) override;
  HttpLimits limits_;
  socket_t listen_fd_ = INVALID_SOCKET;  // the listening socket (set_socket_options)
  std::atomic<uint64_t> refused_busy_{0}, too_large_{0}, cut_{0};
};

}  // namespace ivs::control
