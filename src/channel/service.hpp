#pragma once
// The host end of the host-VM channel (docs/channels.md): the `ivs-channel` thread.
//
//  - Host daemons connect to a Unix socket (SOCK_SEQPACKET: one JSON object per message)
//    and send messages to the agent of a VM (by VM name or metadata id), listen to the
//    agents' messages, and get the answers to what they sent.
//  - A message to a VM becomes a channel frame (channel/frame.hpp) from the channel's
//    address to the agent's, on the channel's VLAN, written into the internal `channel`
//    port's rx ring: from there it is switched like any frame (flow cache, policy, QoS,
//    taps), out of the VM's port with the channel's VLAN.
//  - Frames the switch sends to the `channel` port (the agents' messages, admitted by the
//    datapath's checks) are read from its tx ring and delivered to the daemons.
//  - Acknowledged mode: a message sent with ack=true is retried every ack_timeout_ms until
//    the agent acks it, at most `retries` times; then the sender hears "failed". A message
//    from an agent that asks for an ack is acked once a daemon has taken it.
//
// Threads: the service thread owns all state; the control thread reads snapshot().
#include <rte_mempool.h>
#include <rte_ring.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <expected>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "channel/frame.hpp"
#include "common/counter.hpp"
#include "config/model.hpp"

namespace ivs::channel {

struct ChannelCounters {
  Counter sent, sent_bytes;       // messages to the VM handed to the switch
  Counter acked, retries, failed; // acknowledged mode, to the VM
  Counter send_errors;            // not handed to the switch: no buffer, ring full
  Counter received, received_bytes;  // messages from the agent
  Counter delivered;              // ... given to at least one daemon
  Counter replies;                // ... of which answers routed to the daemon that asked
  Counter no_listener;            // ... that no daemon took (not acked)
  Counter duplicates;             // ... retries of a message already delivered (acked again, not delivered twice)
  Counter acks_received;
};

struct ChannelSnapshot {
  std::string vm;
  uint32_t id = 0;
  uint16_t vlan = 0;
  MacAddr agent_mac;
  Ipv4Addr agent_ip;
  uint64_t sent = 0, sent_bytes = 0, acked = 0, retries = 0, failed = 0, send_errors = 0;
  uint64_t received = 0, received_bytes = 0, delivered = 0, replies = 0, no_listener = 0, duplicates = 0, acks_received = 0;
  uint64_t pending_acks = 0;
};

class ChannelService {
 public:
  explicit ChannelService(const config::ChannelConfig& cfg);
  ~ChannelService();
  // Finds the channel port's rings (the port must be open), makes the service's mbuf
  // pool, binds the socket and starts the thread.
  std::expected<void, std::string> start();
  void stop();

  std::vector<ChannelSnapshot> snapshot() const;
  size_t clients() const { return n_clients_.load(std::memory_order_relaxed); }
  uint64_t bad_requests() const { return bad_requests_.get(); }
  uint64_t bad_frames() const { return bad_frames_.get(); }
  const std::string& socket_path() const { return cfg_.socket; }
  const config::ChannelConfig& config() const { return cfg_; }

 private:
  friend struct ChannelServiceFuzz;  // tests/fuzz: requests and frames without the socket and thread
  using Clock = std::chrono::steady_clock;
  struct Client {
    int fd = -1;
    bool listening = false;
    std::set<size_t> vms;  // listened channels; empty = all
  };
  struct Outstanding {  // a message to a VM: reply routing, and its retries in ack mode
    int client_fd = -1;
    std::string tag_json;           // the daemon's tag, echoed back ("" = none)
    std::vector<uint8_t> frame;     // kept for retries (ack mode only)
    uint32_t tries = 0;
    bool awaiting_ack = false;
    Clock::time_point next_try, expires;
  };

  void run();
  void accept_client();
  void on_client(int fd);
  void drop_client(int fd);
  void handle_request(Client& c, const std::string& text);
  void on_frame(std::span<const uint8_t> f);
  void on_timers(Clock::time_point now);
  bool transmit(const std::vector<uint8_t>& frame, size_t ch);
  void send_ack(size_t ch, const Endpoint& to, uint32_t seq);
  void reply(int fd, const std::string& json);
  int channel_by_vm(const std::string& vm) const;
  int channel_by_id(uint32_t id) const;
  int channel_by_vlan(uint16_t vlan) const;
  static uint64_t key(size_t ch, uint32_t seq) { return uint64_t{static_cast<uint32_t>(ch)} << 32 | seq; }

  config::ChannelConfig cfg_;
  std::vector<std::unique_ptr<ChannelCounters>> counters_;
  rte_ring* to_switch_ = nullptr;
  rte_ring* from_switch_ = nullptr;
  rte_mempool* pool_ = nullptr;
  int listen_fd_ = -1, epoll_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::map<int, Client> clients_;
  std::atomic<size_t> n_clients_{0};
  std::vector<uint32_t> next_seq_;                    // per channel
  std::map<uint64_t, Outstanding> outstanding_;       // key(ch, seq)
  std::vector<std::deque<uint32_t>> recent_from_vm_;  // per channel: seqs delivered lately (duplicate check)
  std::vector<std::atomic<uint64_t>> pending_per_channel_;
  uint16_t ip_id_ = 1;
  Counter bad_requests_, bad_frames_;
};

}  // namespace ivs::channel
