// The port table (docs/architecture.md, "Ports that come and go"): switch.max_ports slots,
// per-port arrays sized to them at start, and each datapath thread's rx list published
// through one RCU pointer, so that a port joins or leaves a running thread's polling
// without a lock on the datapath.
#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "config/core_specs.hpp"
#include "config/loader.hpp"
#include "dpdk/port.hpp"
#include "forward/concurrent_table.hpp"
#include "forward/slotted_topology.hpp"
#include "forward/tables.hpp"
#include "pipeline/module.hpp"
#include "pipeline/pmd.hpp"

using namespace ivs;
using namespace std::chrono_literals;

namespace {

constexpr const char* kTwoRings = R"(
switch: {max_ports: 4}
ports:
  - {name: a, type: ring, network: web}
  - {name: b, type: ring, network: web}
networks:
  - {name: web, vlan: 10}
)";

// Two ring ports (their rings found by name) in a table of 4 slots, and one datapath
// thread on them, run on a std::thread.
class RxListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cfg = config::load_string(kTwoRings, "rx.yaml");
    ASSERT_TRUE(cfg) << cfg.error().front();
    const int socket = static_cast<int>(rte_socket_id());
    pool_ = rte_pktmbuf_pool_create("rxlist_pool", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
    rcu_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc(nullptr, rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE));
    learn_ = rte_ring_create_elem("rxlist_learn", sizeof(forward::LearnEvent), 1024, socket, 0);
    ASSERT_TRUE(pool_ && rcu_ && learn_);
    rte_rcu_qsbr_init(rcu_, 1);
    tables_ = std::move(*forward::ForwardingTables::build(config::topology_spec(*cfg)));
    fdb_ = std::move(*forward::ConcurrentTable::create("rxlist_fdb", sizeof(forward::FdbKey), 1024, rcu_, true));
    nb_ = std::move(*forward::ConcurrentTable::create("rxlist_nb", 4, 1024, rcu_));
    const auto spec = config::datapath_spec(*cfg);
    ASSERT_EQ(spec.max_ports, 4);
    runtime_ = std::vector<pipeline::PortRuntime>(spec.max_ports);
    // Ring ethdevs' names (net_ring<index>) cannot be made again once closed: each test
    // takes new indices.
    static uint16_t next_index = 20;
    for (uint16_t i = 0; i < 2; ++i) {
      const uint16_t index = next_index++;
      auto port = dpdk::Port::open(spec.ports[i].dev, index, 1, pool_);
      ASSERT_TRUE(port) << port.error();
      runtime_[i].io = port->io();
      runtime_[i].port_id = port->id();
      rx_[i] = rte_ring_lookup(dpdk::ring_port_rx_name(index).c_str());
      tx_[i] = rte_ring_lookup(dpdk::ring_port_tx_name(index).c_str());
      ASSERT_NE(rx_[i], nullptr);
      ASSERT_NE(tx_[i], nullptr);
      ports_.push_back(std::move(*port));
    }
    ctx_ = pipeline::DatapathContext{tables_.get(), fdb_.get(), nb_.get(), learn_, pool_, &runtime_, rte_get_tsc_hz()};
    ctx_.port_capacity = spec.max_ports;
    pmd_ = std::make_unique<pipeline::Pmd>(0, 0, 0, ctx_, rcu_, 0, nullptr, nullptr);
  }
  void TearDown() override {
    stop();
    pmd_.reset();
    for (auto& p : ports_) p.close();
    fdb_.reset();
    nb_.reset();
    tables_.reset();
    if (learn_) rte_ring_free(learn_);
    if (rcu_) rte_free(rcu_);
    if (pool_) rte_mempool_free(pool_);
  }
  void start() {
    running_ = true;
    thread_ = std::thread([this] { pmd_->run(running_); });
  }
  void stop() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
  }
  // What a reload does to a running thread: the next list published, a grace period,
  // then the old list freed.
  void publish(std::vector<uint16_t> slots) {
    auto old = pmd_->publish_rx(std::make_unique<pipeline::RxList>(pipeline::RxList{std::move(slots), {}}));
    rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID);
  }
  // The same, with the slots the thread's loops scan and the tables it forwards with.
  void publish(std::vector<uint16_t> slots, uint16_t in_use, const forward::ForwardingTables* tables) {
    pipeline::RxList l{std::move(slots), {}};
    l.slots_in_use = in_use;
    l.tables = tables;
    auto old = pmd_->publish_rx(std::make_unique<pipeline::RxList>(std::move(l)));
    rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID);
  }
  // `n` ARP requests (broadcast: flooded to the sender's network) on slot `p`'s rx ring.
  void feed_broadcast(int p, unsigned n) {
    static const uint8_t kArp[42] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06,
                                     0, 1, 0x08, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, 0, 0x01, 10, 0, 0, 1,
                                     0, 0, 0, 0, 0, 0, 10, 0, 0, 2};
    for (unsigned i = 0; i < n; ++i) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      ASSERT_NE(m, nullptr);
      auto* d = rte_pktmbuf_mtod(m, uint8_t*);
      std::memset(rte_pktmbuf_append(m, 60), 0, 60);
      std::memcpy(d, kArp, sizeof(kArp));
      ASSERT_EQ(rte_ring_enqueue(rx_[p], m), 0);
    }
  }
  // Frames the thread sent on slot `p` (its tx ring), taken and freed.
  unsigned sent(int p) {
    unsigned n = 0;
    rte_mbuf* m;
    while (rte_ring_dequeue(tx_[p], reinterpret_cast<void**>(&m)) == 0) {
      rte_pktmbuf_free(m);
      ++n;
    }
    return n;
  }
  // `n` short frames (dropped as malformed: received, counted, freed) on slot `p`'s rx ring.
  void feed(int p, unsigned n) {
    for (unsigned i = 0; i < n; ++i) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      ASSERT_NE(m, nullptr);
      rte_pktmbuf_append(m, 10);
      ASSERT_EQ(rte_ring_enqueue(rx_[p], m), 0);
    }
  }
  uint64_t received(uint16_t p) const { return pmd_->port_counters()[p].rx_packets.get(); }
  bool wait_received(uint16_t p, uint64_t n) const {
    for (int i = 0; i < 200 && received(p) < n; ++i) std::this_thread::sleep_for(5ms);
    return received(p) == n;
  }

  rte_mempool* pool_ = nullptr;
  rte_rcu_qsbr* rcu_ = nullptr;
  rte_ring* learn_ = nullptr;
  rte_ring* rx_[2] = {};
  rte_ring* tx_[2] = {};
  std::unique_ptr<forward::ForwardingTables> tables_;
  std::unique_ptr<forward::ConcurrentTable> fdb_, nb_;
  std::vector<pipeline::PortRuntime> runtime_;
  std::vector<dpdk::Port> ports_;
  std::vector<std::unique_ptr<pipeline::Module>> mods_;  // (outlives pmd_: its stages refer to them)
  pipeline::DatapathContext ctx_;
  std::unique_ptr<pipeline::Pmd> pmd_;
  std::atomic<bool> running_{false};
  std::thread thread_;
};

// A module whose ingress stage drops every packet on the ports its gate opens (runs_on:
// what the module has published for the port), as port security does on VMs' ports.
class IngressGate final : public pipeline::Module {
 public:
  std::array<std::atomic<bool>, 4> gate{};
  std::string_view name() const noexcept override { return "ingress_gate"; }
  std::unique_ptr<pipeline::Stage> make_stage(pipeline::AttachPoint at) const override {
    struct Gate final : pipeline::Stage {
      explicit Gate(const IngressGate& g) : mod(g) {}
      void run(pipeline::Forwarder& f, pipeline::Burst& b) noexcept override {
        for (uint16_t j = 0; j < b.n; ++j)
          if (b.pkts[j].m) {
            f.drop(b.pkts[j].in_port, b.pkts[j].m, DropReason::kVlanNotAllowed);
            b.pkts[j].m = nullptr;
          }
      }
      bool runs_on(uint16_t port) const noexcept override { return port < 4 && mod.gate[port].load(); }
      const IngressGate& mod;
    };
    return at == pipeline::AttachPoint::kIngress ? std::make_unique<Gate>(*this) : nullptr;
  }
};

}  // namespace

// Every per-port array is sized to the slots, not to the ports configured at start: a
// port added later in slot 3 has its counters already (nothing reallocated).
TEST_F(RxListTest, PerPortArraysHaveEverySlot) {
  EXPECT_EQ(pmd_->port_counters().size(), 4u);
  EXPECT_EQ(tables_->port_count(), 2u);
  EXPECT_TRUE(pmd_->rx_ports().empty()) << "a thread polls nothing until a list is published";
}

// A running thread polls what the last published list says, from its next iteration:
// a port joins (its queued frames are taken), and leaves (frames then stay in its ring).
TEST_F(RxListTest, ARunningThreadFollowsThePublishedList) {
  publish({0});
  start();
  feed(0, 3);
  feed(1, 3);
  ASSERT_TRUE(wait_received(0, 3));
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(received(1), 0u) << "a port not in the list was polled";
  EXPECT_EQ(rte_ring_count(rx_[1]), 3u);

  publish({0, 1});  // port b added
  ASSERT_TRUE(wait_received(1, 3)) << "the port added to the list was not polled";
  EXPECT_EQ(pmd_->rx_ports(), (std::vector<uint16_t>{0, 1}));

  publish({1});  // port a removed: after the grace period no burst of it is running
  feed(0, 2);
  feed(1, 1);
  ASSERT_TRUE(wait_received(1, 4));
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(received(0), 3u) << "a removed port was still polled after the grace period";
  EXPECT_EQ(rte_ring_count(rx_[0]), 2u);
  stop();
  rte_mbuf* m;
  while (rte_ring_dequeue(rx_[0], reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
}

// A running thread forwards with the tables its rx list was published with, from its
// next iteration: a port moved to another network by the next tables no longer gets
// the first network's broadcasts (a reload that adds or removes ports publishes the
// next tables so; the old ones are freed after the grace period).
TEST_F(RxListTest, ARunningThreadForwardsWithTheTablesOfItsList) {
  for (auto& r : runtime_) r.link_up = true;  // (the control thread's link check does not run here)
  publish({0, 1}, 2, tables_.get());
  start();
  feed_broadcast(0, 3);
  ASSERT_TRUE(wait_received(0, 3));
  for (int i = 0; i < 100 && rte_ring_count(tx_[1]) < 3; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(sent(1), 3u) << "a and b share network web: a's broadcasts reach b";

  auto cfg = config::load_string(R"(
switch: {max_ports: 4}
ports:
  - {name: a, type: ring, network: web}
  - {name: b, type: ring, network: db}
networks:
  - {name: web, vlan: 10}
  - {name: db, vlan: 20}
)", "next.yaml");
  ASSERT_TRUE(cfg) << cfg.error().front();
  auto next = forward::ForwardingTables::build(config::topology_spec(*cfg));
  ASSERT_TRUE(next) << next.error();
  publish({0, 1}, 2, next->get());
  feed_broadcast(0, 3);
  ASSERT_TRUE(wait_received(0, 6));
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(sent(1), 0u) << "b is in network db in the published tables: web's broadcasts must not reach it";
  EXPECT_EQ(pmd_->port_counters()[0].drops[static_cast<size_t>(DropReason::kFloodEmpty)].get(), 3u)
      << "alone in web now, a's broadcasts count as a flood with no other port";
  stop();
}

// A new rx list refreshes each port's ingress stages from what their modules say now
// (runs_on): the stage a module turned on for a port runs on its next bursts (a port added
// at runtime gets its port security so), even though the list names the same ports.
TEST_F(RxListTest, ANewListRefreshesThePortsIngressStages) {
  mods_.push_back(std::make_unique<IngressGate>());
  auto& gate = static_cast<IngressGate&>(*mods_.front());
  ctx_.modules = &mods_;
  pmd_ = std::make_unique<pipeline::Pmd>(0, 0, 0, ctx_, rcu_, 0, nullptr, nullptr);  // (asks the modules for stages)
  for (auto& r : runtime_) r.link_up = true;
  const auto gated = [&] { return pmd_->port_counters()[1].drops[static_cast<size_t>(DropReason::kVlanNotAllowed)].get(); };
  publish({0, 1}, 2, tables_.get());
  start();
  feed_broadcast(1, 3);
  ASSERT_TRUE(wait_received(1, 3));
  for (int i = 0; i < 100 && rte_ring_count(tx_[0]) < 3; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(sent(0), 3u) << "no stage runs on b yet: its broadcasts reach a";
  EXPECT_EQ(gated(), 0u);

  gate.gate[1] = true;  // the module publishes its state for port b, then the next list
  publish({0, 1}, 2, tables_.get());
  feed_broadcast(1, 3);
  ASSERT_TRUE(wait_received(1, 6));
  for (int i = 0; i < 100 && gated() < 3; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(gated(), 3u) << "the stage the module turned on for b did not run on b after the next list";
  EXPECT_EQ(sent(0), 0u);
  stop();
}

TEST(PortTableConfig, TheChannelsPortTakesASlot) {
  const char* kChannel = R"(switch: {max_ports: 2}
ports:
  - {name: vm1, type: ring, network: lan}
  - {name: vm2, type: ring, network: lan}
networks:
  - {name: lan, vlan: 10, subnet: 10.0.1.0/24}
vms:
  - {name: vm1, port: vm1, mac: "02:00:00:00:01:01", ip: 10.0.1.11}
channels:
  map:
    - {vm: vm1, id: 101, vlan: 3001, agent_mac: "02:00:00:00:a1:01", agent_ip: 169.254.77.11}
)";
  auto full = config::load_string(kChannel, "ch.yaml");
  ASSERT_FALSE(full);
  ASSERT_EQ(full.error().size(), 1u);
  EXPECT_EQ(full.error()[0], "ch.yaml:1: switch.max_ports: 3 ports are configured (the channels' own port among them), more than the port table's 2 slots");
  std::string fits(kChannel);
  fits.replace(fits.find("max_ports: 2"), 12, "max_ports: 3");
  auto ok = config::load_string(fits, "ch.yaml");
  ASSERT_TRUE(ok) << ok.error().front();
  EXPECT_EQ(ok->ports.size(), 3u);
}

TEST(PortTableConfig, MaxPortsBoundsThePortsConfigured) {
  auto dflt = config::load_string("ports:\n  - {name: a, type: discard, network: web}\nnetworks:\n  - {name: web, vlan: 10}\n", "d.yaml");
  ASSERT_TRUE(dflt) << dflt.error().front();
  EXPECT_EQ(dflt->sw.max_ports, 32u);
  EXPECT_EQ(config::datapath_spec(*dflt).max_ports, 32);

  auto over = config::load_string(R"(switch:
  max_ports: 1
ports:
  - {name: a, type: discard, network: web}
  - {name: b, type: discard, network: web}
networks:
  - {name: web, vlan: 10}
)", "over.yaml");
  ASSERT_FALSE(over);
  ASSERT_EQ(over.error().size(), 1u);
  EXPECT_EQ(over.error()[0], "over.yaml:2: switch.max_ports: 2 ports are configured, more than the port table's 1 slots");

  auto big = config::load_string("switch: {max_ports: 33}\n", "big.yaml");
  ASSERT_FALSE(big);
  EXPECT_NE(big.error()[0].find("max_ports"), std::string::npos) << big.error()[0];
}

// The next tables of a reload that adds and removes ports are built from the topology laid
// out by slot (forward/slotted_topology.hpp): a port's index in them is its slot, a free
// slot between two ports is no port (never found by name, in no flood list).
TEST(PortTableConfig, TheTablesOfATopologyLaidOutBySlotIndexPortsByTheirSlot) {
  auto cfg = config::load_string(R"(
ports:
  - {name: a, type: discard, network: lan}
  - {name: b, type: discard, trunk: [lan, db]}
  - {name: c, type: discard, network: db}
networks:
  - {name: lan, vlan: 10}
  - {name: db, vlan: 20}
)", "slots.yaml");
  ASSERT_TRUE(cfg) << cfg.error().front();
  // a stays in slot 0, c took slot 1 once, b came in slot 3 (slot 2: retired by the last reload).
  auto topo = forward::topology_by_slot(config::topology_spec(*cfg), {0, 3, 1});
  ASSERT_TRUE(topo) << topo.error();
  auto tables = forward::ForwardingTables::build(*topo);
  ASSERT_TRUE(tables) << tables.error();
  const auto& t = **tables;
  EXPECT_EQ(t.port_count(), 4u);
  EXPECT_EQ(t.port_index("a"), 0);
  EXPECT_EQ(t.port_index("c"), 1);
  EXPECT_EQ(t.port_index("b"), 3);
  EXPECT_EQ(t.port_index(""), -1);  // the free slot is no port
  EXPECT_EQ(t.network(0).ports, (std::vector<uint16_t>{0, 3}));  // lan: a, and b tagged
  EXPECT_EQ(t.network(1).ports, (std::vector<uint16_t>{1, 3}));  // db: c, and b tagged
  EXPECT_EQ(t.ingress_network(2, false, 0), forward::kNoNetwork);
  EXPECT_EQ(t.membership(3, 1), forward::Membership::kTagged);
  EXPECT_EQ(t.ingress_network(1, false, 0), 1);
  // Refused: a slot given twice, a count that differs.
  EXPECT_FALSE(forward::topology_by_slot(config::topology_spec(*cfg), {0, 1, 1}));
  EXPECT_FALSE(forward::topology_by_slot(config::topology_spec(*cfg), {0, 1}));
}
