#pragma once
// The host end of the host-VM channel (channel::ChannelService) without its socket and
// thread, for the channel fuzz targets: a host daemon's request goes straight to
// handle_request, a frame from the switch straight to on_frame, as the service thread
// would call them. The service replies to one listening "daemon", the near end of a
// socketpair; the frames it hands to the switch land in a ring the rig drains.
// Needs the EAL (fuzz::eal_up) for the ring and the service's mbuf pool.
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "channel/service.hpp"
#include "config/loader.hpp"

namespace ivs::channel {

// Two channels, as in tests/unit/channel_test.cpp: vm1 (id 101, VLAN 3001), vm2 (id 102,
// VLAN 3002); the channel's address 02:49:56:ff:ff:fe / 169.254.77.1, UDP port 7077.
inline constexpr const char* kFuzzChannelConfig = R"(
ports:
  - {name: vm1, type: discard, network: lan}
  - {name: vm2, type: discard, network: lan}
networks:
  - {name: lan, vlan: 10, subnet: 10.0.1.0/24}
vms:
  - {name: vm1, port: vm1, mac: "02:00:00:00:01:01", ip: 10.0.1.11}
  - {name: vm2, port: vm2, mac: "02:00:00:00:01:02", ip: 10.0.1.12}
channels:
  socket: /nonexistent/ivs-fuzz-channel.sock
  max_message: 1400
  map:
    - {vm: vm1, id: 101, vlan: 3001, agent_mac: "02:00:00:00:a1:01", agent_ip: 169.254.77.11}
    - {vm: vm2, id: 102, vlan: 3002, agent_mac: "02:00:00:00:a1:02", agent_ip: 169.254.77.12}
)";

struct ChannelServiceFuzz {
  std::unique_ptr<ChannelService> svc;
  rte_ring* to_switch = nullptr;
  int daemon_fd = -1, peer_fd = -1;  // the service writes to daemon_fd; the rig reads peer_fd

  ChannelServiceFuzz() {
    auto cfg = config::load_string(kFuzzChannelConfig, "channel-fuzz.yaml");
    if (!cfg) die(cfg.error().front());
    svc = std::make_unique<ChannelService>(cfg->channel);
    to_switch = rte_ring_create("fuzz_to_switch", 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    svc->pool_ = rte_pktmbuf_pool_create("fuzz_chan_pool", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (!to_switch || !svc->pool_) die("no ring or pool");
    svc->to_switch_ = to_switch;
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, fds) != 0) die("socketpair");
    daemon_fd = fds[0];
    peer_fd = fds[1];
    ChannelService::Client c;
    c.fd = daemon_fd;
    c.listening = true;  // hears the agents' messages too
    svc->clients_[daemon_fd] = c;
  }

  [[noreturn]] static void die(const std::string& why) {
    std::fprintf(stderr, "channel rig: %s\n", why.c_str());
    std::abort();
  }

  // A host daemon's request, as ChannelService::on_client hands it over (it answers an
  // exception with an error reply: the service survives it).
  void request(const std::string& text) {
    try {
      svc->handle_request(svc->clients_.at(daemon_fd), text);
    } catch (const std::exception& e) {
      svc->bad_requests_.inc();
      svc->reply(daemon_fd, "{\"op\":\"error\"}");
    }
  }
  void frame(std::span<const uint8_t> f) { svc->on_frame(f); }
  void timers() { svc->on_timers(ChannelService::Clock::now()); }

  std::vector<std::string> replies() {
    std::vector<std::string> out;
    char buf[70000];
    for (;;) {
      const ssize_t n = ::recv(peer_fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n < 0) return out;
      out.emplace_back(buf, static_cast<size_t>(n));
    }
  }
  std::vector<std::vector<uint8_t>> frames_to_switch() {
    std::vector<std::vector<uint8_t>> out;
    void* p;
    while (rte_ring_dequeue(to_switch, &p) == 0) {
      auto* m = static_cast<rte_mbuf*>(p);
      const auto* d = rte_pktmbuf_mtod(m, const uint8_t*);
      out.emplace_back(d, d + m->data_len);
      rte_pktmbuf_free(m);
    }
    return out;
  }
  const config::ChannelConfig& cfg() const { return svc->cfg_; }
};

}  // namespace ivs::channel
