#pragma once
// The packet broker thread (`ivs-broker`): takes the copies the datapath threads made at
// tap points (one ring per datapath thread) and delivers each to its mirror's tools:
//  - pcapng files (rte_pcapng), rotated by size or age, a bounded number kept;
//  - tool ports: the copy is queued to the datapath thread that owns the port, which
//    transmits it with its own tx queue (the broker never shares a tx queue);
//  - remote tools: the copy wrapped in ERSPAN II/III or VXLAN (mirror/encap), then sent
//    like a tool port's;
//  - groups: each copy to one member, chosen by a symmetric flow hash (mirror/flow_hash);
//  - streams: `ivctl capture` (mirror/capture_stream).
// It runs off the switching path: the datapath only copies and enqueues; a full ring
// drops the copy (counted per mirror); a slow tool slows only the broker. A mirror whose
// tools are all backed up costs the datapath no copy at all: the broker says so in
// tools_full(), which the taps read before they copy (mirror/tools_full.hpp).
//
// Threads: the broker thread does all deliveries; the control thread changes a slot's
// tools (set_tools, applied by the broker at its next round) and reads stats.
#include <rte_mempool.h>
#include <rte_pcapng.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/model.hpp"
#include "mirror/capture_stream.hpp"
#include "mirror/tap_record.hpp"
#include "mirror/tools_full.hpp"
#include "mirror/wall_clock.hpp"

namespace ivs::mirror {

// A tool described for tables and the /metrics `tool` label: "pcapng FILE", "port NAME",
// "erspan2 IP session N via port NAME", "vxlan IP vni N via port NAME", "group of N",
// "capture stream". The view describes a tool the broker has not taken yet (just added
// by `ivctl mirror add`) the same way, so its label is never empty.
std::string describe_tool(const config::MirrorTool& c);

struct ToolStats {
  std::string what;           // "pcapng FILE" / "port NAME" / "erspan 10.0.9.1 via port NAME" / "group" / "capture"
  uint64_t delivered = 0, bytes = 0;
  uint64_t errors = 0;        // not delivered: no buffer, a write failed, the tool's queue full
  uint32_t files = 0;         // pcapng: files started (1 + rotations)
  std::vector<ToolStats> members;  // group
};
struct SlotStats {
  std::string mirror;
  uint64_t received = 0;      // copies taken from the rings
  std::vector<ToolStats> tools;
};

class Broker {
 public:
  // tap_rings: one per datapath thread (TapRecord); tool_rings: one per datapath thread
  // (ToolPacket); port_owner[p]: the thread polling port p; port_ids[p]: its ethdev id;
  // port_names[p]: its name.
  Broker(std::vector<rte_ring*> tap_rings, std::vector<rte_ring*> tool_rings, std::vector<unsigned> port_owner,
         std::vector<uint16_t> port_ids, std::vector<std::string> port_names, rte_mempool* pool);
  ~Broker();
  void start();
  void stop();  // drains the rings and closes the files
  // Control thread: the tools of `slot` from now on, for copies of `generation` (no tools:
  // the slot is unused). `stream`: the sink of a kStream tool (ivctl capture).
  void set_tools(uint8_t slot, uint32_t generation, const std::string& mirror, const std::vector<config::MirrorTool>& tools,
                 std::shared_ptr<CaptureStream> stream = nullptr);
  SlotStats stats(uint8_t slot) const;
  // One round (tests): take what is queued, deliver it and publish which mirrors' tools
  // are all backed up; returns the copies handled.
  unsigned run_once();
  // Per mirror slot: every tool backed up (the datapath threads' taps read it).
  const ToolsFull& tools_full() const noexcept { return tools_full_; }

 private:
  struct Tool;
  struct Slot;
  void apply_pending();
  bool any_mirror();
  void deliver(const TapRecord* recs, unsigned n);
  bool deliver_one(Tool& t, const TapRecord& r, rte_mbuf*& copy, bool last, Slot& s);
  bool write_pcapng(Tool& t, const TapRecord& r, const rte_mbuf* copy, Slot& s);
  bool send_to_port(Tool& t, const TapRecord& r, rte_mbuf*& copy, bool last, Slot& s);
  bool backed_up(Tool& t);
  void publish_tools_full();
  std::unique_ptr<Tool> make_tool(const config::MirrorTool& c, const std::shared_ptr<CaptureStream>& stream) const;

  std::vector<rte_ring*> tap_rings_, tool_rings_;
  std::vector<unsigned> port_owner_;
  std::vector<uint16_t> port_ids_;
  std::vector<std::string> port_names_;
  rte_mempool* pool_;
  WallClock clock_;  // ERSPAN III timestamps
  std::vector<std::unique_ptr<Slot>> slots_;            // broker thread
  mutable std::mutex mutex_;                             // pending_ and stats reads
  std::vector<std::pair<uint8_t, std::unique_ptr<Slot>>> pending_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  ToolsFull tools_full_;  // written by the broker thread (publish_tools_full)
};

}  // namespace ivs::mirror
