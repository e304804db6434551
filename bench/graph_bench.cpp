// rte_graph trial (issue 17, item 1): the same two real stages composed two ways, cycles
// per packet for bursts of 32 (docs/benchmarks.md, "rte_graph trial").
//   parse:  packet::parse() of each frame (the switch's parser, every header checked);
//           what the next stage needs goes into the packet's metadata (an mbuf dynamic
//           field, as per-packet metadata would travel in either design); a frame that
//           does not parse goes to a drop edge
//   l2:     the switch's MAC table (forward::ConcurrentTable, DPDK's prefetching bulk
//           lookup of up to 64 keys) by (network, destination MAC), then the egress
//           batch of the found port (pipeline::TxBatch)
// BM_StaticParseL2: a C++ function calling both stage functions over the burst.
// BM_GraphParseL2:  the same two functions as rte_graph nodes (parse -> l2, parse -> drop),
//           behind a source node that injects the burst; one rte_graph_walk() per burst,
//           the parse node moving the whole stream to l2 when nothing is dropped (as
//           DPDK's and grout's nodes do), else enqueueing packet by packet.
// Both run the identical stage code; the difference is the dispatch. Every burst is timed
// on its own (TSC) and the median (p50) and 10th percentile (p10) of cycles per packet are
// reported, robust to a shared machine (see burst_bench.cpp). Arg: destination MACs in the
// burst (1: all to one, 32: each to another). The run fails unless all 32 packets of every
// burst reach the egress batches.
#include <benchmark/benchmark.h>
#include <rte_cycles.h>
#include <rte_graph.h>
#include <rte_graph_worker.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_rcu_qsbr.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "forward/concurrent_table.hpp"
#include "forward/tables.hpp"
#include "packet/parse.hpp"
#include "pipeline/tx_batch.hpp"
#include "support/packet_builder.hpp"

using namespace ivs;
using namespace ivs::test;

namespace {

constexpr uint16_t kBurst = 32;
constexpr uint16_t kPorts = 4;

// What parse hands to l2, with the packet.
struct Meta {
  uint16_t network;
  uint16_t l3_offset;
  uint16_t ethertype;
  uint8_t dscp;
  uint8_t ip_proto;
};
int meta_offset = -1;
Meta& meta(rte_mbuf* m) { return *RTE_MBUF_DYNFIELD(m, meta_offset, Meta*); }

// The stage state both compositions share.
struct Stages {
  std::unique_ptr<forward::ConcurrentTable> fdb;
  pipeline::TxBatch batches[kPorts];
  uint64_t dropped = 0;
};
Stages* g_stages = nullptr;

// Stage 1 on one packet: false = drop.
inline bool parse_one(rte_mbuf* m, uint16_t network) {
  packet::ParsedPacket p;
  if (packet::parse(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m), p)) return false;
  meta(m) = Meta{network, p.l3_offset, p.ethertype, p.dscp, p.ip_proto};
  return true;
}

// Stage 2 on a burst: bulk MAC lookup, then each packet into its port's egress batch.
inline void l2_stage(Stages& s, rte_mbuf** pkts, uint16_t n) {
  forward::FdbKey keys[kBurst];
  const void* kp[kBurst];
  uint64_t values[kBurst];
  int32_t pos[kBurst];
  for (uint16_t i = 0; i < n; ++i) {
    keys[i].network = meta(pkts[i]).network;
    std::memcpy(keys[i].mac, rte_pktmbuf_mtod(pkts[i], const uint8_t*), 6);
    kp[i] = &keys[i];
  }
  const uint64_t hits = s.fdb->lookup_bulk(kp, n, values, pos);
  for (uint16_t i = 0; i < n; ++i) {
    if (!(hits >> i & 1)) {
      ++s.dropped;
      continue;
    }
    s.batches[forward::FdbEntry::decode(values[i]).port % kPorts].push(pkts[i], pipeline::TxMeta{0, keys[i].network});
  }
}

void static_pipeline(Stages& s, rte_mbuf** pkts, uint16_t n) {
  rte_mbuf* ok[kBurst];
  uint16_t k = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (parse_one(pkts[i], 0)) ok[k++] = pkts[i];
    else ++s.dropped;
  }
  l2_stage(s, ok, k);
}

// The graph: source -> parse -> {l2, drop}.
rte_mbuf** g_inject = nullptr;  // the burst the source node hands out on the next walk

uint16_t source_process(rte_graph* g, rte_node* node, void**, uint16_t) {
  if (!g_inject) return 0;
  void** to = rte_node_next_stream_get(g, node, 0, kBurst);
  std::memcpy(to, g_inject, kBurst * sizeof(void*));
  rte_node_next_stream_put(g, node, 0, kBurst);
  g_inject = nullptr;
  return kBurst;
}

uint16_t parse_process(rte_graph* g, rte_node* node, void** objs, uint16_t n) {
  uint16_t bad = 0;
  bool ok[RTE_GRAPH_BURST_SIZE];
  for (uint16_t i = 0; i < n; ++i) bad += !(ok[i] = parse_one(static_cast<rte_mbuf*>(objs[i]), 0));
  if (bad == 0) {
    rte_node_next_stream_move(g, node, 0);  // the common case: the whole stream to l2
  } else {
    for (uint16_t i = 0; i < n; ++i) rte_node_enqueue_x1(g, node, ok[i] ? 0 : 1, objs[i]);
  }
  return n;
}

uint16_t l2_process(rte_graph*, rte_node*, void** objs, uint16_t n) {
  l2_stage(*g_stages, reinterpret_cast<rte_mbuf**>(objs), n);
  return n;
}

uint16_t drop_process(rte_graph*, rte_node*, void**, uint16_t n) {
  g_stages->dropped += n;
  return n;
}

rte_node_t register_node(const char* name, rte_node_process_t fn, uint64_t flags, std::vector<const char*> next) {
  // rte_node_register ends in a flexible array of next-node names: allocated by hand (kept
  // for the process's life, as DPDK keeps a pointer to it).
  auto* r = static_cast<rte_node_register*>(std::calloc(1, sizeof(rte_node_register) + next.size() * sizeof(const char*)));
  std::strncpy(r->name, name, RTE_NODE_NAMESIZE - 1);
  r->flags = flags;
  r->process = fn;
  r->nb_edges = static_cast<rte_edge_t>(next.size());
  for (size_t i = 0; i < next.size(); ++i) r->next_nodes[i] = next[i];
  return __rte_node_register(r);
}

rte_graph* make_graph() {
  static rte_graph* graph = nullptr;
  if (graph) return graph;
  register_node("ivs_bb_drop", drop_process, 0, {});
  register_node("ivs_bb_l2", l2_process, 0, {});
  register_node("ivs_bb_parse", parse_process, 0, {"ivs_bb_l2", "ivs_bb_drop"});
  register_node("ivs_bb_source", source_process, RTE_NODE_SOURCE_F, {"ivs_bb_parse"});
  const char* patterns[] = {"ivs_bb_source", "ivs_bb_parse", "ivs_bb_l2", "ivs_bb_drop"};
  rte_graph_param prm{};
  prm.socket_id = static_cast<int>(rte_socket_id());
  prm.nb_node_patterns = 4;
  prm.node_patterns = patterns;
  const rte_graph_t id = rte_graph_create("ivs_bb_graph", &prm);
  if (id == RTE_GRAPH_ID_INVALID) return nullptr;
  graph = rte_graph_lookup("ivs_bb_graph");
  return graph;
}

MacAddr host_mac(uint32_t i) { return MacAddr{{0x02, 0x10, 0, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)}}; }

void run(benchmark::State& state, bool graph_mode) {
  const unsigned dests = static_cast<unsigned>(state.range(0));
  if (meta_offset < 0) {
    static const rte_mbuf_dynfield desc = {"ivs_bb_meta", sizeof(Meta), alignof(Meta), 0};
    meta_offset = rte_mbuf_dynfield_register(&desc);
    if (meta_offset < 0) return state.SkipWithError("dynfield");
  }
  static unsigned seq = 0;
  const std::string id = std::to_string(seq++);
  auto* rcu = static_cast<rte_rcu_qsbr*>(rte_zmalloc(nullptr, rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE));
  rte_rcu_qsbr_init(rcu, 1);
  Stages s;
  s.fdb = std::move(*forward::ConcurrentTable::create("gb_fdb" + id, sizeof(forward::FdbKey), 4096, rcu, true));
  rte_mempool* pool = rte_pktmbuf_pool_create(("gb_pool" + id).c_str(), 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
  g_stages = &s;
  rte_graph* graph = graph_mode ? make_graph() : nullptr;
  if (!pool || (graph_mode && !graph)) return state.SkipWithError("pool or graph");
  rte_mbuf* pkts[kBurst];
  const MacAddr src = mac("02:00:00:00:00:01");
  for (unsigned d = 0; d < dests; ++d) {
    forward::FdbKey k{0, {}};
    host_mac(d).store(k.mac);
    s.fdb->upsert(&k, forward::FdbEntry{static_cast<uint16_t>(1 + d % (kPorts - 1)), true}.encode(), 0);
  }
  for (uint16_t i = 0; i < kBurst; ++i) {
    const Bytes f = ipv4({host_mac(i % dests), src}, ip4("10.0.0.1"), ip4("10.0.0.2"), packet::kProtoUdp, udp(1000, 2000));
    pkts[i] = rte_pktmbuf_alloc(pool);
    std::memcpy(rte_pktmbuf_append(pkts[i], static_cast<uint16_t>(f.size())), f.data(), f.size());
  }
  std::vector<uint64_t> samples;
  samples.reserve(1 << 20);
  bool lost = false;
  for (auto _ : state) {
    const uint64_t t0 = rte_rdtsc_precise();
    if (graph_mode) {
      g_inject = pkts;
      rte_graph_walk(graph);
    } else {
      static_pipeline(s, pkts, kBurst);
    }
    samples.push_back(rte_rdtsc_precise() - t0);
    // The stages never modify the frames: the same mbufs go round again.
    uint16_t out = 0;
    for (auto& b : s.batches) {
      out += b.size();
      b = pipeline::TxBatch{};
    }
    if (out != kBurst) {
      lost = true;
      break;
    }
  }
  for (auto* m : pkts) rte_pktmbuf_free(m);
  rte_mempool_free(pool);
  s.fdb.reset();
  rte_free(rcu);
  g_stages = nullptr;
  if (lost || s.dropped) return state.SkipWithError("packets did not reach the egress batches");
  std::sort(samples.begin(), samples.end());
  const auto at = [&](double q) { return static_cast<double>(samples[static_cast<size_t>(q * static_cast<double>(samples.size() - 1))]) / kBurst; };
  state.counters["p50_cycles/pkt"] = at(0.5);
  state.counters["p10_cycles/pkt"] = at(0.1);
  state.SetItemsProcessed(static_cast<int64_t>(samples.size()) * kBurst);
}

void BM_StaticParseL2(benchmark::State& s) { run(s, false); }
void BM_GraphParseL2(benchmark::State& s) { run(s, true); }
BENCHMARK(BM_StaticParseL2)->Arg(1)->Arg(32);
BENCHMARK(BM_GraphParseL2)->Arg(1)->Arg(32);

}  // namespace
