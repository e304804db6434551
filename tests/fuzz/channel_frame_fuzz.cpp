// Fuzz target: channel frames (channel/frame.cpp parse_frame and the header decode of
// channel/wire.hpp), as an agent in a VM or anything on a channel's VLAN sends them, and
// the host end's handling of the frames the switch passes it (ChannelService::on_frame:
// acks, replies routed to the daemon that asked, messages to listeners).
//
// Checked besides memory safety: a frame that parses has its payload inside the frame and
// rebuilds (build_frame) into a frame that parses to the same fields; everything the host
// end says to a daemon is a JSON object; every frame it hands to the switch (acks) parses
// as a channel frame on a configured channel.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/channel_rig.hpp"
#include "support/fuzz_eal.hpp"

using nlohmann::json;
using namespace ivs;

namespace {
constexpr size_t kMaxFrame = 2048;  // the service reads at most this much of a frame
channel::ChannelServiceFuzz* g_rig = nullptr;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "channel_frame_fuzz: %s\n", what.c_str());
  std::abort();
}

bool same(const channel::ParsedFrame& a, const channel::ParsedFrame& b) {
  return a.vlan == b.vlan && a.src.mac == b.src.mac && a.src.ip == b.src.ip && a.src.port == b.src.port && a.dst.mac == b.dst.mac &&
         a.dst.ip == b.dst.ip && a.dst.port == b.dst.port && a.header.type == b.header.type && a.header.flags == b.header.flags &&
         a.header.id == b.header.id && a.header.seq == b.header.seq && a.header.reply_to == b.header.reply_to &&
         std::equal(a.payload.begin(), a.payload.end(), b.payload.begin(), b.payload.end());
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::eal_up();
  g_rig = new channel::ChannelServiceFuzz();
  // Messages to both VMs, one acknowledged: answers (reply_to) and acks have something to find.
  g_rig->request(R"({"op":"send","vm":"vm1","data":"hello","tag":"t1"})");
  g_rig->request(R"({"op":"send","vm":"vm2","data":"hello","ack":true})");
  g_rig->replies();
  g_rig->frames_to_switch();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxFrame) return -1;
  const std::vector<uint8_t> frame(data, data + size);  // exactly sized: reads past it are reports
  const auto p = channel::parse_frame(frame);
  if (p) {
    if (p->payload.data() < frame.data() || p->payload.data() + p->payload.size() > frame.data() + frame.size())
      fail("payload outside the frame");
    if (!channel::decode(p->payload.data() - channel::kHeaderLen, channel::kHeaderLen)) fail("parsed without a valid header");
    const auto again = channel::build_frame(p->vlan, p->src, p->dst, p->header, p->payload, 1);
    const auto q = channel::parse_frame(again);
    if (!q || !same(*p, *q)) fail("a parsed frame does not rebuild into the same frame");
  }
  auto& rig = *g_rig;
  rig.frame(frame);
  for (const auto& r : rig.replies()) {
    const json j = json::parse(r, nullptr, false);
    if (!j.is_object() || !j.contains("op")) fail("not a JSON object to the daemon: " + r);
  }
  for (const auto& f : rig.frames_to_switch()) {
    const auto a = channel::parse_frame(f);
    if (!a) fail("the host end sent a frame that does not parse");
    bool known = false;
    for (const auto& b : rig.cfg().map) known |= a->vlan == b.vlan && a->header.id == b.id;
    if (!known) fail("the host end sent a frame on no channel");
  }
  return 0;
}
