#include "channel/service.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <spdlog/spdlog.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "config/paths.hpp"
#include "dpdk/port.hpp"

namespace ivs::channel {

using nlohmann::json;

namespace {
constexpr size_t kMaxClients = 64;
constexpr size_t kMaxOutstanding = 4096;  // replies are routed for this many recent messages per switch
constexpr auto kReplyWindow = std::chrono::seconds(60);
constexpr size_t kRecentSeqs = 64;
constexpr size_t kMaxRequest = 64 * 1024;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }
}  // namespace

ChannelService::ChannelService(const config::ChannelConfig& cfg)
    : cfg_(cfg), next_seq_(cfg.map.size(), 1), recent_from_vm_(cfg.map.size()), pending_per_channel_(cfg.map.size()) {
  for (size_t i = 0; i < cfg.map.size(); ++i) counters_.push_back(std::make_unique<ChannelCounters>());
  // Random first sequence numbers: after a restart, an agent that remembers the seqs it
  // answered lately must not take new messages for retries of old ones.
  std::random_device rd;
  for (auto& s : next_seq_) s = rd() | 1u;
}

ChannelService::~ChannelService() { stop(); }

std::expected<void, std::string> ChannelService::start() {
  to_switch_ = rte_ring_lookup(dpdk::kChannelToSwitchRing);
  from_switch_ = rte_ring_lookup(dpdk::kChannelFromSwitchRing);
  if (!to_switch_ || !from_switch_) return std::unexpected("channel: the channel port's rings are missing");
  pool_ = rte_pktmbuf_pool_create("ivs_chan_pool", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
  if (!pool_) return std::unexpected(fmt::format("channel: cannot create its mbuf pool: {}", rte_strerror(rte_errno)));

  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(cfg_.socket).parent_path(), ec);
  if (auto why = config::socket_path_problem(cfg_.socket)) return std::unexpected(fmt::format("channel: socket {}", *why));
  if (config::unix_socket_in_use(cfg_.socket, SOCK_SEQPACKET))  // never take another switch's socket
    return std::unexpected(fmt::format("channel: socket {} is in use: is another ivswitchd running with it?", cfg_.socket));
  ::unlink(cfg_.socket.c_str());  // a stale socket (checked above: never anything else)
  listen_fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (cfg_.socket.size() >= sizeof(addr.sun_path)) return std::unexpected(fmt::format("channel: socket path too long: {}", cfg_.socket));
  std::memcpy(addr.sun_path, cfg_.socket.c_str(), cfg_.socket.size() + 1);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(listen_fd_, 16) != 0)
    return std::unexpected(fmt::format("channel: cannot listen on {}: {}", cfg_.socket, std::strerror(errno)));
  ::chmod(cfg_.socket.c_str(), 0660);  // root and the socket's group: the host daemons
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{EPOLLIN, {.fd = listen_fd_}};
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  running_ = true;
  thread_ = std::thread([this] { run(); });
  spdlog::info("channel: {} channel(s), host daemons connect to {}", cfg_.map.size(), cfg_.socket);
  return {};
}

void ChannelService::stop() {
  if (!running_.exchange(false)) return;
  thread_.join();
  for (auto& [fd, c] : clients_) ::close(fd);
  clients_.clear();
  n_clients_ = 0;
  ::close(listen_fd_);
  ::close(epoll_fd_);
  ::unlink(cfg_.socket.c_str());
  if (pool_) {
    // The rings are freed with the port; mbufs of this pool in them go back first.
    void* m;
    while (rte_ring_dequeue(from_switch_, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
  }
  // pool_ is left to the EAL's teardown: mbufs of it may still sit in a datapath queue.
}

void ChannelService::run() {
  pthread_setname_np(pthread_self(), "ivs-channel");
  auto last_activity = Clock::now();
  while (running_.load(std::memory_order_relaxed)) {
    rte_mbuf* ms[32];
    unsigned n;
    bool busy = false;
    while ((n = rte_ring_dequeue_burst(from_switch_, reinterpret_cast<void**>(ms), 32, nullptr)) > 0) {
      busy = true;
      for (unsigned i = 0; i < n; ++i) {
        rte_mbuf* m = ms[i];
        uint8_t buf[2048];
        const uint32_t len = std::min<uint32_t>(m->pkt_len, sizeof(buf));
        const uint8_t* p = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, len, buf));
        if (p) on_frame({p, len});
        else bad_frames_.inc();
        rte_pktmbuf_free(m);
      }
    }
    const auto now = Clock::now();
    on_timers(now);
    if (busy) last_activity = now;
    // Frames from the switch are polled: 1 ms while messages flow, 10 ms when quiet (an
    // idle switch wakes this thread 100 times a second, no more).
    int timeout_ms = now - last_activity < std::chrono::milliseconds(200) ? 1 : 10;
    epoll_event evs[16];
    const int k = ::epoll_wait(epoll_fd_, evs, 16, timeout_ms);
    for (int i = 0; i < k; ++i) {
      if (evs[i].data.fd == listen_fd_) accept_client();
      else on_client(evs[i].data.fd);
    }
    if (k > 0) last_activity = Clock::now();
  }
}

void ChannelService::accept_client() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    if (clients_.size() >= kMaxClients) {
      reply(fd, dump({{"op", "error"}, {"error", fmt::format("too many host daemons connected (at most {})", kMaxClients)}}));
      ::close(fd);
      continue;
    }
    epoll_event ev{EPOLLIN | EPOLLRDHUP, {.fd = fd}};
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    clients_[fd] = Client{fd};
    n_clients_ = clients_.size();
  }
}

void ChannelService::drop_client(int fd) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  clients_.erase(fd);
  n_clients_ = clients_.size();
  // Its outstanding messages still retry (the VM gets them); answers find no one and go to
  // the listeners instead.
  for (auto& [k, o] : outstanding_)
    if (o.client_fd == fd) o.client_fd = -1;
}

void ChannelService::on_client(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  for (;;) {
    std::string buf(kMaxRequest, '\0');
    // MSG_TRUNC: the datagram's real length, so that one over the bound is refused whole
    // rather than cut and parsed as broken JSON.
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return drop_client(fd);
    if (n < 0) return;
    if (n == 0) {
      // SOCK_SEQPACKET gives 0 for an empty datagram and for the peer's end alike: the
      // peer is gone only when the socket says so.
      pollfd pfd{fd, POLLRDHUP, 0};
      if (::poll(&pfd, 1, 0) != 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))) return drop_client(fd);
      bad_requests_.inc();
      reply(fd, dump({{"op", "error"}, {"error", "empty request: expected a JSON object"}}));
      continue;
    }
    if (static_cast<size_t>(n) > buf.size()) {
      bad_requests_.inc();
      reply(fd, dump({{"op", "error"}, {"error", fmt::format("request of {} bytes is over the {} bytes a request may have", n, kMaxRequest)}}));
      continue;
    }
    buf.resize(static_cast<size_t>(n));
    try {
      handle_request(it->second, buf);
    } catch (const std::exception& e) {  // a malformed request never takes the service down
      bad_requests_.inc();
      reply(fd, dump({{"op", "error"}, {"error", fmt::format("bad request: {}", e.what())}}));
    }
    if (!clients_.count(fd)) return;
  }
}

void ChannelService::reply(int fd, const std::string& text) {
  // Datagram semantics: a daemon that does not read loses messages, it does not stall the
  // channel (counted by the caller where it matters).
  if (fd >= 0) (void)::send(fd, text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

int ChannelService::channel_by_vm(const std::string& vm) const {
  for (size_t i = 0; i < cfg_.map.size(); ++i)
    if (cfg_.map[i].vm == vm) return static_cast<int>(i);
  return -1;
}
int ChannelService::channel_by_id(uint32_t id) const {
  for (size_t i = 0; i < cfg_.map.size(); ++i)
    if (cfg_.map[i].id == id) return static_cast<int>(i);
  return -1;
}
int ChannelService::channel_by_vlan(uint16_t vlan) const {
  for (size_t i = 0; i < cfg_.map.size(); ++i)
    if (cfg_.map[i].vlan == vlan) return static_cast<int>(i);
  return -1;
}

void ChannelService::handle_request(Client& c, const std::string& text) {
  json req;
  try {
    req = json::parse(text);
  } catch (const std::exception& e) {
    bad_requests_.inc();
    return reply(c.fd, dump({{"op", "error"}, {"error", fmt::format("not JSON: {}", e.what())}}));
  }
  const json tag = req.is_object() && req.contains("tag") ? req["tag"] : json();
  auto error = [&](const std::string& why) {
    bad_requests_.inc();
    json r{{"op", "error"}, {"error", why}};
    if (!tag.is_null()) r["tag"] = tag;
    reply(c.fd, dump(r));
  };
  if (!req.is_object() || !req.contains("op") || !req["op"].is_string()) return error("expected an object with \"op\": \"send\" or \"listen\"");
  const std::string op = req["op"];
  if (op == "listen") {
    std::set<size_t> vms;
    if (req.contains("vms")) {
      if (!req["vms"].is_array()) return error("\"vms\" must be a list of VM names");
      for (const auto& v : req["vms"]) {
        const int ch = v.is_string() ? channel_by_vm(v.get<std::string>()) : -1;
        if (ch < 0) return error(fmt::format("no channel for VM {}", v.dump()));
        vms.insert(static_cast<size_t>(ch));
      }
    }
    c.listening = true;
    c.vms = vms;
    json names = json::array();
    for (size_t ch : vms) names.push_back(cfg_.map[ch].vm);
    return reply(c.fd, dump({{"op", "listening"}, {"vms", names}}));
  }
  if (op != "send") return error(fmt::format("unknown op '{}' (send, listen)", op));
  int ch = -1;
  if (req.contains("vm") && req["vm"].is_string()) ch = channel_by_vm(req["vm"]);
  else if (req.contains("id") && req["id"].is_number_unsigned()) {
    // Compared as the 64-bit number it is: cut to 32 bits, 2^32 + 101 would reach id 101.
    const uint64_t id = req["id"].get<uint64_t>();
    ch = id <= UINT32_MAX ? channel_by_id(static_cast<uint32_t>(id)) : -1;
  } else if (req.contains("vm") || req.contains("id")) {
    return error("send: \"vm\" must be a string and \"id\" an integer in 0..4294967295");
  } else {
    return error("send: say which VM: \"vm\": NAME or \"id\": METADATA_ID");
  }
  if (ch < 0) return error(fmt::format("send: no channel for {}", req.contains("vm") ? req["vm"].dump() : req["id"].dump()));
  if (!req.contains("data") || !req["data"].is_string()) return error("send: \"data\" (a string) is required");
  const std::string data = req["data"];
  if (data.size() > cfg_.max_message)
    return error(fmt::format("send: message of {} bytes is over channels.max_message ({} bytes)", data.size(), cfg_.max_message));
  if (req.contains("ack") && !req["ack"].is_boolean()) return error("send: \"ack\" must be true or false");
  const bool ack = req.contains("ack") && req["ack"].get<bool>();
  uint32_t reply_to = 0;
  if (req.contains("reply_to")) {
    if (!req["reply_to"].is_number_unsigned() || req["reply_to"].get<uint64_t>() > UINT32_MAX)
      return error("send: \"reply_to\" must be a sequence number in 0..4294967295");
    reply_to = static_cast<uint32_t>(req["reply_to"].get<uint64_t>());
  }
  const auto& b = cfg_.map[static_cast<size_t>(ch)];
  const uint32_t seq = next_seq_[static_cast<size_t>(ch)]++;
  if (next_seq_[static_cast<size_t>(ch)] == 0) next_seq_[static_cast<size_t>(ch)] = 1;
  Header h{MsgType::kData, static_cast<uint8_t>(ack ? kFlagAckRequested : 0), b.id, seq, 0};
  h.reply_to = reply_to;
  auto frame = build_frame(b.vlan, Endpoint{cfg_.mac, cfg_.ip, static_cast<uint16_t>(cfg_.udp_port)},
                           Endpoint{b.agent_mac, b.agent_ip, static_cast<uint16_t>(cfg_.udp_port)}, h,
                           {reinterpret_cast<const uint8_t*>(data.data()), data.size()}, ip_id_++);
  auto& cn = *counters_[static_cast<size_t>(ch)];
  if (!transmit(frame, static_cast<size_t>(ch))) return error("send: the switch's channel queue is full; try again");
  cn.sent.inc();
  cn.sent_bytes.add(data.size());
  const auto now = Clock::now();
  if (outstanding_.size() >= kMaxOutstanding) {  // forget the oldest that waits for no ack
    auto victim = outstanding_.end();
    for (auto it = outstanding_.begin(); it != outstanding_.end(); ++it)
      if (!it->second.awaiting_ack && (victim == outstanding_.end() || it->second.expires < victim->second.expires)) victim = it;
    if (victim != outstanding_.end()) outstanding_.erase(victim);
  }
  Outstanding o;
  o.client_fd = c.fd;
  o.tag_json = tag.is_null() ? "" : tag.dump();
  o.expires = now + kReplyWindow;
  if (ack) {
    o.frame = std::move(frame);
    o.tries = 1;
    o.awaiting_ack = true;
    o.next_try = now + std::chrono::milliseconds(cfg_.ack_timeout_ms);
    pending_per_channel_[static_cast<size_t>(ch)]++;
  }
  outstanding_[key(static_cast<size_t>(ch), seq)] = std::move(o);
  json r{{"op", "sent"}, {"vm", b.vm}, {"id", b.id}, {"seq", seq}, {"ack", ack}};
  if (!tag.is_null()) r["tag"] = tag;
  reply(c.fd, dump(r));
}

bool ChannelService::transmit(const std::vector<uint8_t>& frame, size_t ch) {
  auto& cn = *counters_[ch];
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m || frame.size() > rte_pktmbuf_tailroom(m)) {
    if (m) rte_pktmbuf_free(m);
    cn.send_errors.inc();
    return false;
  }
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(), frame.size());
  if (rte_ring_enqueue(to_switch_, m) != 0) {
    rte_pktmbuf_free(m);
    cn.send_errors.inc();
    return false;
  }
  return true;
}

void ChannelService::send_ack(size_t ch, const Endpoint& to, uint32_t seq) {
  const auto& b = cfg_.map[ch];
  Header h{MsgType::kAck, 0, b.id, seq, 0};
  transmit(build_frame(b.vlan, Endpoint{cfg_.mac, cfg_.ip, static_cast<uint16_t>(cfg_.udp_port)}, to, h, {}, ip_id_++), ch);
}

void ChannelService::on_frame(std::span<const uint8_t> f) {
  std::string why;
  auto p = parse_frame(f, &why);
  const int chi = p ? channel_by_vlan(p->vlan) : -1;
  // The datapath admitted it (agent address, id, VLAN): anything else here is a bug.
  if (!p || chi < 0 || p->header.id != cfg_.map[static_cast<size_t>(chi)].id) {
    bad_frames_.inc();
    return;
  }
  const size_t ch = static_cast<size_t>(chi);
  auto& cn = *counters_[ch];
  const auto& b = cfg_.map[ch];
  if (p->header.type == MsgType::kAck) {
    cn.acks_received.inc();
    auto it = outstanding_.find(key(ch, p->header.seq));
    if (it == outstanding_.end() || !it->second.awaiting_ack) return;  // a late duplicate ack
    Outstanding& o = it->second;
    o.awaiting_ack = false;
    o.frame.clear();
    pending_per_channel_[ch]--;
    cn.acked.inc();
    std::string r = dump({{"op", "acked"}, {"vm", b.vm}, {"id", b.id}, {"seq", p->header.seq}, {"tries", o.tries}});
    if (!o.tag_json.empty()) r.insert(r.size() - 1, ",\"tag\":" + o.tag_json);
    reply(o.client_fd, r);
    return;
  }
  cn.received.inc();
  cn.received_bytes.add(p->payload.size());
  auto& recent = recent_from_vm_[ch];
  const bool ack = p->header.ack_requested();
  if (ack && std::find(recent.begin(), recent.end(), p->header.seq) != recent.end()) {
    cn.duplicates.inc();  // its ack was lost: ack again, deliver once
    return send_ack(ch, p->src, p->header.seq);
  }
  json msg{{"op", "message"}, {"vm", b.vm}, {"id", b.id}, {"seq", p->header.seq},
           {"data", std::string(reinterpret_cast<const char*>(p->payload.data()), p->payload.size())}};
  if (p->header.reply_to) msg["reply_to"] = p->header.reply_to;
  bool taken = false;
  // An answer goes to the daemon that asked, when it is still connected.
  if (p->header.reply_to) {
    auto it = outstanding_.find(key(ch, p->header.reply_to));
    if (it != outstanding_.end() && it->second.client_fd >= 0 && clients_.count(it->second.client_fd)) {
      if (!it->second.tag_json.empty()) msg["tag"] = json::parse(it->second.tag_json);
      reply(it->second.client_fd, dump(msg));
      msg.erase("tag");
      cn.replies.inc();
      taken = true;
    }
  }
  if (!taken) {
    const std::string text = dump(msg);
    for (auto& [fd, c] : clients_)
      if (c.listening && (c.vms.empty() || c.vms.count(ch))) {
        reply(fd, text);
        taken = true;
      }
  }
  if (!taken) {
    cn.no_listener.inc();  // not acked: an acknowledged sender retries, then reports failure
    return;
  }
  cn.delivered.inc();
  if (ack) {
    recent.push_back(p->header.seq);
    if (recent.size() > kRecentSeqs) recent.pop_front();
    send_ack(ch, p->src, p->header.seq);
  }
}

void ChannelService::on_timers(Clock::time_point now) {
  for (auto it = outstanding_.begin(); it != outstanding_.end();) {
    Outstanding& o = it->second;
    const size_t ch = static_cast<size_t>(it->first >> 32);
    const uint32_t seq = static_cast<uint32_t>(it->first);
    if (o.awaiting_ack && now >= o.next_try) {
      auto& cn = *counters_[ch];
      if (o.tries > cfg_.retries) {
        o.awaiting_ack = false;
        o.frame.clear();
        pending_per_channel_[ch]--;
        cn.failed.inc();
        const auto& b = cfg_.map[ch];
        std::string r = dump({{"op", "failed"}, {"vm", b.vm}, {"id", b.id}, {"seq", seq}, {"tries", o.tries},
                              {"error", fmt::format("no ack after {} tries, {} ms apart: the VM, its agent or the path to it is gone", o.tries, cfg_.ack_timeout_ms)}});
        if (!o.tag_json.empty()) r.insert(r.size() - 1, ",\"tag\":" + o.tag_json);
        reply(o.client_fd, r);
      } else {
        cn.retries.inc();
        ++o.tries;
        o.next_try = now + std::chrono::milliseconds(cfg_.ack_timeout_ms);
        transmit(o.frame, ch);  // a failure is counted; the next try comes anyway
      }
    }
    if (!o.awaiting_ack && now >= o.expires) it = outstanding_.erase(it);
    else ++it;
  }
}

std::vector<ChannelSnapshot> ChannelService::snapshot() const {
  std::vector<ChannelSnapshot> out;
  for (size_t i = 0; i < cfg_.map.size(); ++i) {
    const auto& b = cfg_.map[i];
    const auto& c = *counters_[i];
    out.push_back(ChannelSnapshot{b.vm, b.id, b.vlan, b.agent_mac, b.agent_ip, c.sent.get(), c.sent_bytes.get(), c.acked.get(),
                                  c.retries.get(), c.failed.get(), c.send_errors.get(), c.received.get(), c.received_bytes.get(),
                                  c.delivered.get(), c.replies.get(), c.no_listener.get(), c.duplicates.get(),
                                  c.acks_received.get(), pending_per_channel_[i].load(std::memory_order_relaxed)});
  }
  return out;
}

}  // namespace ivs::channel
