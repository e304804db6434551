// Fuzz target: what a host daemon writes to the channel socket (one JSON object per
// SOCK_SEQPACKET message: {"op": "send", "vm"|"id": .., "data": .., "ack": .., "tag": ..,
// "reply_to": ..} or {"op": "listen", "vms": [..]}), through ChannelService's request
// handling (support/channel_rig.hpp: no socket, no thread).
//
// Checked besides memory safety: every request gets exactly one reply, a JSON object with
// a string "op"; a request answered "sent" handed exactly one frame to the switch, a
// channel frame (channel/frame.hpp) on that channel's VLAN, to its agent, with its id, the
// sequence number of the reply and the daemon's data as payload; nothing else reaches the
// switch. Ack timers run after each request (retries are frames too).
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "support/channel_rig.hpp"
#include "support/fuzz_eal.hpp"

using nlohmann::json;
using namespace ivs;

namespace {
constexpr size_t kMaxRequest = 64 * 1024;  // the service's receive buffer
channel::ChannelServiceFuzz* g_rig = nullptr;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "channel_message_fuzz: %s\n", what.c_str());
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::eal_up();
  g_rig = new channel::ChannelServiceFuzz();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > kMaxRequest) return -1;  // an empty datagram is a disconnect (recv() == 0)
  auto& rig = *g_rig;
  rig.frames_to_switch();  // retries and "failed" notices of earlier inputs' timers: not this one's
  rig.replies();
  rig.request(std::string(reinterpret_cast<const char*>(data), size));
  const auto replies = rig.replies();
  if (replies.size() != 1) fail("expected one reply, got " + std::to_string(replies.size()));
  const json r = json::parse(replies[0], nullptr, false);
  if (!r.is_object() || !r.contains("op") || !r["op"].is_string()) fail("the reply is not a JSON object with an op: " + replies[0]);
  const auto frames = rig.frames_to_switch();
  if (r["op"] != "sent") {
    if (!frames.empty()) fail("a frame reached the switch for a request that was not sent");
    return 0;
  }
  if (frames.size() != 1) fail("'sent' but " + std::to_string(frames.size()) + " frames");
  const json req = json::parse(data, data + size);
  std::string why;
  const auto f = channel::parse_frame(frames[0], &why);
  if (!f) fail("the frame sent does not parse: " + why);
  const config::ChannelBinding* b = nullptr;
  for (const auto& m : rig.cfg().map)
    if (r.contains("vm") && m.vm == r["vm"].get<std::string>()) b = &m;
  if (!b) fail("'sent' to a VM without a channel");
  if (f->vlan != b->vlan || f->dst.ip != b->agent_ip || f->dst.mac != b->agent_mac || f->header.id != b->id ||
      r["id"] != b->id)
    fail("the frame is not on the channel it was sent to");
  if (f->header.seq != r["seq"].get<uint32_t>()) fail("the reply's seq is not the frame's");
  const std::string payload(f->payload.begin(), f->payload.end());
  if (payload != req["data"].get<std::string>()) fail("the payload is not the daemon's data");
  rig.timers();
  return 0;
}
