#pragma once
// `ivctl channel send|listen`: a host daemon on the command line. It connects to the
// channel socket (asked of the daemon via show.channels unless --channel-socket is given)
// and speaks the host daemons' protocol (docs/channels.md): one JSON object per message.
#include <cstdint>
#include <string>
#include <vector>

namespace ivs::cli {

struct ChannelOptions {
  std::string channel_socket;  // "" = ask the daemon
  std::string vm;              // send: VM name or metadata id (digits)
  std::string message;
  bool ack = false;            // acknowledged mode
  bool wait_reply = true;      // send: wait for the agent's answer
  double timeout_s = 3;        // send: how long to wait for the ack/answer
  std::vector<std::string> vms;  // listen: only these VMs (default all)
  uint64_t count = 0;          // listen: stop after this many messages (0: no limit)
  double seconds = 0;          // listen: stop after this long (0: no limit)
  bool json = false;
};

// Exit status: 0 done; 1 failed (no ack / no answer / error, on stderr).
int channel_send(const std::string& control_socket, const ChannelOptions& o);
int channel_listen(const std::string& control_socket, const ChannelOptions& o);

}  // namespace ivs::cli
