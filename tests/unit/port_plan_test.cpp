// A reload's ports plan (issue 19 item 3): what the next file adds, removes and changes
// (config/port_changes.hpp), and the slots and threads the core gives the added ports
// (pipeline/port_slots.hpp). Planned whole before anything is opened or published.
#include <gtest/gtest.h>

#include "config/loader.hpp"
#include "config/core_specs.hpp"
#include "config/port_changes.hpp"
#include "forward/tables.hpp"
#include "pipeline/port_slots.hpp"

using namespace ivs;
using pipeline::PortSlot;

namespace {

std::string file(const std::string& switch_section, const std::string& ports, const std::string& vms = "") {
  return switch_section + "ports:\n" + ports + "networks:\n  - {name: web, vlan: 10}\n" + (vms.empty() ? "" : "vms:\n" + vms);
}
constexpr const char* kAB = "  - {name: a, type: tap, network: web}\n  - {name: b, type: tap, network: web}\n";

config::Config load(const std::string& yaml) {
  auto c = config::load_string(yaml, "plan.yaml");
  if (!c) throw std::runtime_error(c.error().front());
  return *c;
}

}  // namespace

TEST(PortPlan, APortAdded) {
  const auto running = load(file("", kAB));
  const auto next = load(file("", std::string(kAB) + "  - {name: c, type: vhost-user, path: /run/c.sock, network: web}\n"));
  auto plan = config::plan_port_changes(running, next);
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_TRUE(plan->removed.empty());
  EXPECT_EQ(plan->added, (std::vector<size_t>{2}));
  EXPECT_TRUE(plan->changed.empty());
  EXPECT_TRUE(config::plan_port_changes(running, running)->empty()) << "the same ports planned a change";
}

TEST(PortPlan, APortRemovedAndTheOrderIgnored) {
  const auto running = load(file("", std::string(kAB) + "  - {name: c, type: tap, network: web}\n"));
  const auto next = load(file("", "  - {name: c, type: tap, network: web}\n  - {name: a, type: tap, network: web}\n"));
  auto plan = config::plan_port_changes(running, next);
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_EQ(plan->removed, (std::vector<std::string>{"b"}));
  EXPECT_TRUE(plan->added.empty()) << "a port moved in the list was planned as added";
}

TEST(PortPlan, APortChangedIsRemovedAndAdded) {
  const auto running = load(file("", kAB));
  const auto next = load(file("", "  - {name: a, type: tap, network: web}\n  - {name: b, type: tap, interface: tapb2, network: web}\n"));
  auto plan = config::plan_port_changes(running, next);
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_EQ(plan->removed, (std::vector<std::string>{"b"}));
  EXPECT_EQ(plan->added, (std::vector<size_t>{1}));
  EXPECT_EQ(plan->changed, (std::vector<std::string>{"b"}));
  EXPECT_EQ(config::port_difference(running.ports[1], next.ports[1]), "interface");
}

// A port a VM of the next file still names cannot be removed alone: the file does not
// load, and the error names the VM's entry and line. Removed with its VM, it is planned.
TEST(PortPlan, APortAVmUsesIsRemovedOnlyWithIt) {
  const std::string vm = "  - {name: vm1, port: b, mac: \"02:00:00:00:00:01\"}\n";
  const auto running = load(file("", kAB, vm));
  auto alone = config::load_string(file("", "  - {name: a, type: tap, network: web}\n", vm), "next.yaml");
  ASSERT_FALSE(alone);
  EXPECT_EQ(alone.error().front(), "next.yaml:6: vms[0]: port 'b' is not defined in 'ports'");
  const auto with_it = load(file("", "  - {name: a, type: tap, network: web}\n"));
  auto plan = config::plan_port_changes(running, with_it);
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_EQ(plan->removed, (std::vector<std::string>{"b"}));
}

// The slots a reload frees are reused by a later reload only: with 3 slots and 3 ports,
// removing one and adding another in one reload is refused, naming the port at fault.
TEST(PortPlan, NoFreeSlotRefusesTheWholeReload) {
  const std::string sw = "switch: {max_ports: 3}\n";
  const auto running = load(file(sw, std::string(kAB) + "  - {name: c, type: tap, network: web}\n"));
  const auto swap = load(file(sw, std::string(kAB) + "  - {name: d, type: tap, network: web}\n"));
  auto plan = config::plan_port_changes(running, swap);
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().find("ports[2] 'd': no free slot in the port table (switch.max_ports 3"), std::string::npos) << plan.error();
  const auto removed = load(file(sw, kAB));
  ASSERT_TRUE(config::plan_port_changes(running, removed));
  ASSERT_TRUE(config::plan_port_changes(removed, swap)) << "the next reload could not use the freed slot";
}

TEST(SlotPlan, AddedPortsTakeTheLowestFreeSlotsAndTheLeastLoadedThread) {
  // slots: 0 live (thread 0), 1 live (thread 0), 2 retired by an earlier reload (free
  // now), 3 live (thread 1), 4 free; this reload removes slot 1.
  const std::vector<PortSlot> slots{PortSlot::kLive, PortSlot::kLive, PortSlot::kRetired, PortSlot::kLive, PortSlot::kFree};
  const std::vector<unsigned> pmd{0, 0, 0, 1, 0};
  auto plan = pipeline::plan_slots(slots, pmd, {1}, {std::nullopt, std::nullopt}, 2);
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_EQ(plan->retire, (std::vector<uint16_t>{1}));
  EXPECT_EQ(plan->take, (std::vector<uint16_t>{2, 4})) << "a slot this reload frees was reused by it";
  // Threads: 1 port each once slot 1 goes; the tie to thread 0, then thread 1.
  EXPECT_EQ(plan->pmd, (std::vector<unsigned>{0, 1}));
  // A port's `core` names its thread.
  auto pinned = pipeline::plan_slots(slots, pmd, {}, {1u}, 2);
  ASSERT_TRUE(pinned);
  EXPECT_EQ(pinned->pmd, (std::vector<unsigned>{1}));
  // More ports than free slots (1 freed by this reload does not count): refused whole.
  auto over = pipeline::plan_slots(slots, pmd, {1}, {std::nullopt, std::nullopt, std::nullopt}, 2);
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().find("no free slot"), std::string::npos) << over.error();
  EXPECT_FALSE(pipeline::plan_slots(slots, pmd, {4}, {}, 2)) << "a free slot was retired";
}

// The whole plan (config::plan_ports): removed ports' slots, added ports in free slots and
// on a thread (the least loaded, or their core's), and the next topology by slot, from
// which the next tables index each port by its slot. Nothing is opened or published.
TEST(PortsPlanTest, RemovedSlotsAddedSlotsAndThreadsAndTheNextTopologyBySlot) {
  const auto running = load(file("switch: {max_ports: 6}\n",
                                 "  - {name: a, type: tap, network: web}\n  - {name: b, type: tap, network: web}\n"
                                 "  - {name: c, type: tap, network: web}\n"));
  // b removed, d added, c changed (its mtu): removed and added again; the order differs.
  const auto next = load(file("switch: {max_ports: 6}\n",
                              "  - {name: d, type: tap, network: web}\n  - {name: a, type: tap, network: web}\n"
                              "  - {name: c, type: tap, network: web, mtu: 9000}\n"));
  auto tables = forward::ForwardingTables::build(config::topology_spec(running));
  ASSERT_TRUE(tables) << tables.error();
  std::vector<PortSlot> slots(6, PortSlot::kFree);
  slots[0] = slots[1] = slots[2] = PortSlot::kLive;
  const std::vector<unsigned> slot_pmd{0, 1, 0, 0, 0, 0}, cpus{2, 3};
  auto plan = config::plan_ports(running, next, **tables, slots, slot_pmd, cpus);
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_EQ(plan->retire, (std::vector<uint16_t>{1, 2}));  // b and c: their slots stay live until the apply retires them
  ASSERT_EQ(plan->added.size(), 2u);
  EXPECT_EQ(plan->added[0].port, 0u);  // d
  EXPECT_EQ(plan->added[0].slot, 3);   // the lowest free slot (1 and 2 are this reload's to retire)
  EXPECT_EQ(plan->added[0].pmd, 1u);   // thread 1 polls nothing once b is gone
  EXPECT_EQ(plan->added[1].port, 2u);  // c, changed
  EXPECT_EQ(plan->added[1].slot, 4);
  EXPECT_EQ(plan->added[1].pmd, 0u);   // a tie (a on 0, d on 1): the lowest index
  auto next_tables = forward::ForwardingTables::build(plan->topology);
  ASSERT_TRUE(next_tables) << next_tables.error();
  EXPECT_EQ((*next_tables)->port_index("a"), 0);  // kept in its slot
  EXPECT_EQ((*next_tables)->port_index("d"), 3);
  EXPECT_EQ((*next_tables)->port_index("c"), 4);
  EXPECT_EQ((*next_tables)->port_index("b"), -1);
  EXPECT_EQ((*next_tables)->network(0).ports, (std::vector<uint16_t>{0, 3, 4}));  // the flood list: no retired slot

  // A port whose core is a datapath CPU goes to that thread.
  const auto pinned = load(file("switch: {max_ports: 6}\n", std::string(kAB) + "  - {name: e, type: tap, network: web, core: 2}\n"));
  auto ab = forward::ForwardingTables::build(config::topology_spec(load(file("switch: {max_ports: 6}\n", kAB))));
  ASSERT_TRUE(ab);
  std::vector<PortSlot> two(6, PortSlot::kFree);
  two[0] = two[1] = PortSlot::kLive;
  auto p2 = config::plan_ports(load(file("switch: {max_ports: 6}\n", kAB)), pinned, **ab, two, {0, 1, 0, 0, 0, 0}, {3, 2});
  ASSERT_TRUE(p2) << p2.error();
  ASSERT_EQ(p2->added.size(), 1u);
  EXPECT_EQ(p2->added[0].slot, 2);
  EXPECT_EQ(p2->added[0].pmd, 1u);  // CPU 2 is thread 1's
}
