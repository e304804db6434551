// A mirror whose tools are full costs the datapath no copy (issue 18, item 4): the broker
// publishes which mirrors' tools are all backed up (mirror/tools_full.hpp), the taps read
// it before rte_pktmbuf_copy and count the copy not made; a tool that drains gets copies
// again at the broker's next round; a mirror with one tool backed up keeps feeding the
// other; the ring to the broker is checked before the copy too.
#include <gtest/gtest.h>
#include <rte_mempool.h>
#include <rte_ring_elem.h>

#include <memory>

#include "mirror/broker.hpp"
#include "mirror/capture_stream.hpp"
#include "mirror/mirror_set.hpp"
#include "support/forwarder_rig.hpp"

using namespace ivs;
using namespace ivs::test;

namespace {

const MacAddr kA = mac("02:00:00:00:01:01"), kB = mac("02:00:00:00:01:02");

constexpr const char* kTopo = R"(
ports:
  - {name: p1, type: discard, network: web}
  - {name: p2, type: discard, network: web}
networks:
  - {name: web, vlan: 10}
vms:
  - {name: vm1, port: p1, mac: "02:00:00:00:01:01"}
  - {name: vm2, port: p2, mac: "02:00:00:00:01:02"}
)";

constexpr uint8_t kSlot = 4;
constexpr uint32_t kGeneration = 9;

config::MirrorTool stream_tool() {
  config::MirrorTool t;
  t.kind = config::MirrorTool::kStream;
  t.path = "capture-1";
  return t;
}
config::MirrorTool port_tool(const std::string& port) {
  config::MirrorTool t;
  t.kind = config::MirrorTool::kPort;
  t.port = port;
  return t;
}

// A rig whose p1 rx is tapped by one mirror (slot 4, generation 9) with `tools`, a broker
// (run by hand: run_once) taking its copies, and a capture stream of 8 KiB for a stream tool.
struct FullRig {
  explicit FullRig(const std::vector<config::MirrorTool>& tools, unsigned tap_ring_size = 1024) : rig(kTopo) {
    auto cfg = config::load_string(kTopo, "m.yaml");
    if (!cfg) throw std::runtime_error("config");
    config::MirrorConfig m{"cap", {{"p1", true, false}}, "", 0, 1, true, tools};
    set = std::move(*mirror::MirrorSet::compile(*cfg, {m}, {kSlot}, {kGeneration}));
    published.store(set.get());
    static int seq = 0;
    const int socket = static_cast<int>(rte_socket_id());
    const std::string id = std::to_string(seq++);
    taps = rte_ring_create_elem(("tf_taps" + id).c_str(), sizeof(mirror::TapRecord), tap_ring_size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    toolq = rte_ring_create_elem(("tf_tools" + id).c_str(), sizeof(mirror::ToolPacket), 256, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!taps || !toolq) throw std::runtime_error("rings");
    rig.attach_mirrors(&published, taps, toolq);  // (makes the rig's mirror pool)
    broker = std::make_unique<mirror::Broker>(std::vector<rte_ring*>{taps}, std::vector<rte_ring*>{toolq}, std::vector<unsigned>{0, 0},
                                              std::vector<uint16_t>{0, 1}, std::vector<std::string>{"p1", "p2"}, rig.mirror_pool());
    broker->set_tools(kSlot, kGeneration, "cap", tools, stream);
    rig.attach_mirrors(&published, taps, toolq, &broker->tools_full());
  }
  ~FullRig() {
    broker.reset();  // delivers (and frees) what is queued
    drain_tool_queue();
    rig.attach_mirrors(nullptr, nullptr);
    rte_ring_free(taps);
    rte_ring_free(toolq);
  }
  // One frame of 242 bytes in at p1 (vm1 -> vm2), then a broker round.
  void send_one(bool broker_round = true) {
    rig.send(0, ipv4({kB, kA}, ip4("10.0.1.11"), ip4("10.0.1.12"), packet::kProtoUdp, udp(4000, 53, 200)));
    rig.take(1);
    if (broker_round) broker->run_once();
  }
  bool full() const { return broker->tools_full().full(kSlot, kGeneration); }
  const mirror::MirrorCounters& counters() const { return rig.mirror_counters()[kSlot]; }
  unsigned in_use() const { return rte_mempool_in_use_count(rig.mirror_pool()); }
  unsigned drain_tool_queue() {  // what the tool port's thread does (its poll)
    mirror::ToolPacket tps[64];
    unsigned n, total = 0;
    while ((n = rte_ring_sc_dequeue_burst_elem(toolq, tps, sizeof(mirror::ToolPacket), 64, nullptr)) > 0) {
      for (unsigned i = 0; i < n; ++i) rte_pktmbuf_free(tps[i].m);
      total += n;
    }
    return total;
  }

  ForwarderRig rig;
  std::unique_ptr<mirror::MirrorSet> set;
  std::atomic<const mirror::MirrorSet*> published{nullptr};
  rte_ring* taps = nullptr;
  rte_ring* toolq = nullptr;
  std::shared_ptr<mirror::CaptureStream> stream = std::make_shared<mirror::CaptureStream>(8192);
  std::unique_ptr<mirror::Broker> broker;
};

}  // namespace

// A capture whose reader does not read: once its buffer passes the high mark the broker
// says so, and the taps make no copy (the mirror pool's in-use count stays put), counting
// each; the reader reads, the next broker round clears it, and copies flow again.
TEST(MirrorToolsFull, NoCopyWhileTheToolIsFullThenCopiesAgain) {
  FullRig r({stream_tool()});
  unsigned sent = 0;
  while (!r.full() && sent < 100) {
    r.send_one();
    ++sent;
  }
  ASSERT_TRUE(r.full()) << "8 KiB of 262-byte records: backed up within about 30";
  EXPECT_GE(sent, 25u);  // not before the buffer is nearly full
  EXPECT_LE(sent, 32u);
  EXPECT_EQ(r.counters().copied.get(), sent);
  EXPECT_EQ(r.counters().tools_full.get(), 0u);
  const unsigned in_use = r.in_use();
  for (int i = 0; i < 10; ++i) r.send_one(false);
  EXPECT_EQ(r.in_use(), in_use) << "a copy was made for a full tool";
  EXPECT_EQ(rte_ring_count(r.taps), 0u);
  EXPECT_EQ(r.counters().copied.get(), sent);
  EXPECT_EQ(r.counters().tools_full.get(), 10u);
  EXPECT_EQ(r.counters().eligible.get(), sent + 10);  // every packet accounted for
  // Still full at the next rounds (no copy came: the broker looks by itself).
  r.broker->run_once();
  EXPECT_TRUE(r.full());
  // The reader reads: at the broker's next round (at most its 1 ms nap) copies resume.
  std::string out;
  EXPECT_GT(r.stream->take(out, std::chrono::milliseconds(0)), 0u);
  EXPECT_TRUE(r.full());  // (the broker has not looked yet)
  r.broker->run_once();
  EXPECT_FALSE(r.full());
  const uint64_t delivered = r.stream->delivered();
  r.send_one();
  EXPECT_EQ(r.counters().copied.get(), sent + 1);
  EXPECT_EQ(r.stream->delivered(), delivered + 1);
  EXPECT_EQ(r.counters().tools_full.get(), 10u);
}

// Two tools: the stalled capture does not stop the copies the tool port still takes; only
// when the queue toward the tool port's thread is nearly full too does the mirror stop
// copying, and it resumes once that thread drained it, though the capture is still stalled.
TEST(MirrorToolsFull, OneToolBackedUpTheOtherStillFed) {
  FullRig r({stream_tool(), port_tool("p2")});
  for (int i = 0; i < 40; ++i) r.send_one();
  EXPECT_GT(r.stream->dropped(), 0u);  // the capture is backed up...
  EXPECT_FALSE(r.full());              // ...the tool port is not: copies go on
  EXPECT_EQ(r.counters().copied.get(), 40u);
  EXPECT_EQ(r.counters().tools_full.get(), 0u);
  unsigned sent = 40;
  while (!r.full() && sent < 400) {
    r.send_one();
    ++sent;
  }
  ASSERT_TRUE(r.full());
  EXPECT_GE(rte_ring_count(r.toolq), 180u);  // backed up: less than a broker burst (64) free of 255
  const unsigned in_use = r.in_use();
  for (int i = 0; i < 5; ++i) r.send_one();
  EXPECT_EQ(r.in_use(), in_use);
  EXPECT_EQ(r.counters().tools_full.get(), 5u);
  EXPECT_GT(r.drain_tool_queue(), 180u);
  r.broker->run_once();
  EXPECT_FALSE(r.full());  // the capture is still stalled: the tool port takes copies again
  r.send_one();
  EXPECT_EQ(r.counters().copied.get(), sent + 1);
  EXPECT_EQ(rte_ring_count(r.toolq), 1u);
}

// The ring to the broker is checked before the copy: when it is full the copy is not
// attempted (with the mirror pool empty too, the copy is counted as the broker being
// behind, not as no buffer: the pool was never asked), and copies resume once it drains.
TEST(MirrorToolsFull, FullRingToTheBrokerCostsNoCopy) {
  FullRig r({stream_tool()}, 8);  // room for 7 copies
  for (int i = 0; i < 7; ++i) r.send_one(false);
  EXPECT_EQ(r.counters().copied.get(), 7u);
  std::vector<rte_mbuf*> held;  // the mirror pool, emptied
  while (rte_mbuf* m = rte_pktmbuf_alloc(r.rig.mirror_pool())) held.push_back(m);
  for (int i = 0; i < 3; ++i) r.send_one(false);
  EXPECT_EQ(r.counters().queue_full.get(), 3u);
  EXPECT_EQ(r.counters().no_buffer.get(), 0u) << "the copy was tried before the ring's room";
  for (rte_mbuf* m : held) rte_pktmbuf_free(m);
  EXPECT_EQ(r.broker->run_once(), 7u);
  r.send_one(false);
  EXPECT_EQ(r.counters().copied.get(), 8u);
  EXPECT_EQ(r.counters().eligible.get(), 11u);
}

// A live trace (ivctl trace --live) shows a mirror copy only when one was made: not for
// a packet whose copy was skipped because the tools were full.
TEST(MirrorToolsFull, LiveTraceShowsNoCopyThatWasNotMade) {
  pipeline::LiveTrace live[2];  // (outlive the rig's forwarder, which points at them)
  std::unique_ptr<pipeline::TraceBuffer> bufs[2] = {std::make_unique<pipeline::TraceBuffer>(), std::make_unique<pipeline::TraceBuffer>()};
  FullRig r({stream_tool()});
  for (int i = 0; i < 100 && !r.full(); ++i) r.send_one();
  ASSERT_TRUE(r.full());
  const auto copied_steps = [&](int k) {  // one packet traced live
    r.rig.attach_live(&live[k], bufs[k].get());
    live[k].port = 0;
    live[k].session.store(1);
    live[k].budget.store(1);
    r.send_one(false);
    unsigned traced = 0, copies = 0;
    for (const auto& pk : r.rig.format(*bufs[k])) {
      ++traced;
      for (const auto& st : pk.steps) copies += st.text.find("copied to mirror") != std::string::npos;
    }
    EXPECT_EQ(traced, 1u);
    return copies;
  };
  EXPECT_EQ(copied_steps(0), 0u);
  EXPECT_EQ(r.counters().tools_full.get(), 1u);
  std::string out;
  r.stream->take(out, std::chrono::milliseconds(0));
  r.broker->run_once();
  EXPECT_EQ(copied_steps(1), 1u);  // copies again: the trace shows it
}

// A slot reused by a new mirror does not inherit the old one's full tools: the word holds
// the generation.
TEST(MirrorToolsFull, TheWordNamesTheGeneration) {
  mirror::ToolsFull w;
  EXPECT_FALSE(w.full(3, 5));
  w.set(3, 5);
  EXPECT_TRUE(w.full(3, 5));
  EXPECT_FALSE(w.full(3, 6));
  EXPECT_FALSE(w.full(2, 5));
  w.clear(3);
  EXPECT_FALSE(w.full(3, 5));
  EXPECT_FALSE(w.full(3, 0));
}
