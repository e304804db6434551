// The module interface (pipeline/module.hpp): the registered jobs in their order, the
// builder loop the daemon and the unit rig share, stages made only where a job has work
// with the config, reload planning, and the control methods a module brings.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "config/core_specs.hpp"
#include "config/loader.hpp"
#include "forward/tables.hpp"
#include "pipeline/module.hpp"
#include "support/forwarder_rig.hpp"

using namespace ivs;

namespace {

const char* kPlain = R"(
ports:
  - {name: a, type: ring, network: lan}
  - {name: b, type: ring, network: lan}
networks:
  - {name: lan, vlan: 10, subnet: 10.0.1.0/24}
vms:
  - {name: vm1, port: a, mac: "02:00:00:00:01:01", ip: 10.0.1.11}
)";

std::string with_channels() {
  return std::string(kPlain) + R"(channels:
  map:
    - {vm: vm1, id: 101, vlan: 3001, agent_mac: "02:00:00:00:a1:01", agent_ip: 169.254.77.11}
)";
}

struct Built {
  config::Config cfg;
  std::unique_ptr<forward::ForwardingTables> tables;
  std::unique_ptr<pipeline::SharedTables> shared;  // what the modules read them through (kept at one address)
  std::vector<std::unique_ptr<pipeline::Module>> modules;
};

Built build(const std::string& yaml) {
  Built b;
  auto cfg = config::load_string(yaml, "modules.yaml");
  EXPECT_TRUE(cfg) << (cfg ? "" : cfg.error().front());
  b.cfg = *cfg;
  b.tables = std::move(*forward::ForwardingTables::build(config::topology_spec(b.cfg)));
  b.shared = std::make_unique<pipeline::SharedTables>(pipeline::unowned(*b.tables));
  auto mods = pipeline::make_modules(pipeline::ModuleEnv{b.cfg, *b.shared});
  EXPECT_TRUE(mods) << (mods ? "" : mods.error());
  b.modules = std::move(*mods);
  return b;
}

pipeline::Module* find(Built& b, std::string_view name) {
  for (auto& m : b.modules)
    if (m->name() == name) return m.get();
  return nullptr;
}

}  // namespace

TEST(Modules, EveryRegisteredJobIsMadeInRegistrationOrder) {
  std::vector<std::string> registered;
  for (const auto& info : pipeline::registered_modules()) registered.emplace_back(info.name);
  EXPECT_EQ(registered, (std::vector<std::string>{"qos", "mirror", "channel", "port_security", "flow_export", "ethertypes", "policy"}));
  Built b = build(kPlain);
  std::vector<std::string> made;
  for (const auto& m : b.modules) made.emplace_back(m->name());
  // The names modules give themselves are the registered ones; the policy module is not
  // made without a flow table and upcall rings (this env's): the rig's has it, last.
  registered.pop_back();
  EXPECT_EQ(made, registered);
  test::ForwarderRig rig(kPlain);
  ASSERT_FALSE(rig.modules().empty());
  EXPECT_EQ(rig.modules().back()->name(), "policy");
  EXPECT_NE(rig.modules().back()->upcall_handler(), nullptr);
}

TEST(Modules, AStageOnlyWhereAJobHasWork) {
  Built plain = build(kPlain);
  const auto kAll = {pipeline::AttachPoint::kReceive, pipeline::AttachPoint::kIngress, pipeline::AttachPoint::kLookup,
                     pipeline::AttachPoint::kFlow,    pipeline::AttachPoint::kEgress,  pipeline::AttachPoint::kPoll};
  for (const auto& m : plain.modules) {
    for (auto at : kAll)
      if (m->name() != "port_security") {
        EXPECT_FALSE(m->make_stage(at)) << m->name();
      }
    // What a Forwarder is given (make_stages): nothing but from port security and the mirrors.
    pipeline::StageSet set;
    m->make_stages(set);
    for (auto at : kAll)
      if (m->name() != "port_security" && m->name() != "mirror") {
        EXPECT_TRUE(set.at(at).empty()) << m->name();
      }
  }
  // The mirrors: one stage for the thread at the receive, egress and poll points (mirrors
  // may be added at runtime: there with none configured), none at ingress.
  pipeline::StageSet taps;
  find(plain, "mirror")->make_stages(taps);
  ASSERT_EQ(taps.at(pipeline::AttachPoint::kReceive).size(), 1u);
  EXPECT_EQ(taps.at(pipeline::AttachPoint::kEgress), taps.at(pipeline::AttachPoint::kReceive));
  EXPECT_EQ(taps.at(pipeline::AttachPoint::kPoll), taps.at(pipeline::AttachPoint::kReceive));
  // The flow taps at the lookup, and told of each burst's start (it loads the set there).
  EXPECT_EQ(taps.at(pipeline::AttachPoint::kLookup), taps.at(pipeline::AttachPoint::kReceive));
  EXPECT_EQ(taps.begin_burst_stages(), taps.at(pipeline::AttachPoint::kReceive));
  EXPECT_TRUE(taps.at(pipeline::AttachPoint::kIngress).empty());
  // Port security: a stage, because port a has a VM (on by default), run only on a's bursts.
  auto ps = find(plain, "port_security")->make_stage(pipeline::AttachPoint::kIngress);
  ASSERT_TRUE(ps);
  EXPECT_TRUE(ps->runs_on(0));
  EXPECT_FALSE(ps->runs_on(1));
  EXPECT_FALSE(find(plain, "port_security")->make_stage(pipeline::AttachPoint::kReceive));
  config::Config off = plain.cfg;
  off.ports[0].port_security = false;
  auto mods = pipeline::make_modules(pipeline::ModuleEnv{off, *plain.shared});
  ASSERT_TRUE(mods);
  for (const auto& m : *mods)
    if (m->name() == "port_security") EXPECT_FALSE(m->make_stage(pipeline::AttachPoint::kIngress));  // no port has it: no stage
  Built chans = build(with_channels());
  ASSERT_TRUE(find(chans, "channel"));
  EXPECT_TRUE(find(chans, "channel")->make_stage(pipeline::AttachPoint::kIngress));
  EXPECT_FALSE(find(chans, "flow_export")->make_stage(pipeline::AttachPoint::kIngress));  // records are made off the fast path
}

TEST(Modules, FlowExportPlansAReloadAndRefusesOneThatChangesItsSection) {
  Built b = build(kPlain);
  pipeline::Module* fe = find(b, "flow_export");
  ASSERT_TRUE(fe);
  auto same = fe->plan_reload(b.cfg);
  ASSERT_TRUE(same) << same.error();
  config::Config next = b.cfg;
  next.flow_export.active_timeout_s = 5;
  auto changed = fe->plan_reload(next);
  ASSERT_FALSE(changed);
  EXPECT_NE(changed.error().find("flow_export differs"), std::string::npos) << changed.error();
}

TEST(Modules, ChannelsRefuseAReloadThatChangesThem) {
  Built b = build(with_channels());
  pipeline::Module* ch = find(b, "channel");
  ASSERT_TRUE(ch);
  ASSERT_TRUE(ch->plan_reload(b.cfg));
  config::Config next = b.cfg;
  next.channel.rate_pps += 1;
  auto changed = ch->plan_reload(next);
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error(), "channels differ");
}

TEST(Modules, ControlMethodsComeWithTheModule) {
  Built b = build(kPlain);
  std::vector<std::string> names;
  pipeline::ControlMethod show;
  for (auto& m : b.modules)
    m->add_control_methods([&](const std::string& name, pipeline::ControlMethod fn) {
      names.push_back(name);
      if (name == "flow_export.show") show = fn;
    });
  std::sort(names.begin(), names.end());
  // Without a datapath (the rig) the channel's view has no ports to read: no method.
  EXPECT_EQ(names, (std::vector<std::string>{"flow_export.add", "flow_export.del", "flow_export.show", "show.ethertypes"}));
  ASSERT_TRUE(show);
  const auto r = show(nlohmann::json::object());
  ASSERT_TRUE(r) << r.error().message;
  const auto& v = *r;
  EXPECT_TRUE(v["collectors"].is_array());
  EXPECT_EQ(v["collectors"].size(), 0u);
  EXPECT_EQ(v["active_timeout_s"], 60);
}

// Issue 19 item 3, step 1: the modules' per-port state is by slot of the port table, sized
// to its capacity at start, and follows the forwarding tables published later (a port
// added into a free slot needs no reallocation and finds its state there).
TEST(Modules, PerPortStateIsBySlotAndFollowsTheTablesPublishedLater) {
  auto cfg = config::load_string(kPlain, "modules.yaml");
  ASSERT_TRUE(cfg) << cfg.error().front();
  auto start = std::move(*forward::ForwardingTables::build(config::topology_spec(*cfg)));
  pipeline::SharedTables shared(pipeline::unowned(*start));
  pipeline::ModuleEnv env{*cfg, shared};
  env.port_capacity = 4;  // two ports now, two free slots
  EXPECT_EQ(env.port_slots(), 4u);
  auto mods = pipeline::make_modules(env);
  ASSERT_TRUE(mods) << mods.error();
  pipeline::Module* portsec = nullptr;
  for (const auto& m : *mods)
    if (m->name() == "port_security") portsec = m.get();
  ASSERT_TRUE(portsec);
  auto stage = portsec->make_stage(pipeline::AttachPoint::kIngress);
  ASSERT_TRUE(stage);
  EXPECT_TRUE(stage->runs_on(0));
  for (uint16_t slot = 1; slot < 4; ++slot) EXPECT_FALSE(stage->runs_on(slot)) << slot;  // (the free slots have their entry)

  // The next file adds port c (slot 2, the first free one) with a VM on it: its tables
  // published, port security's next checks planned against them put c's VM in slot 2.
  const std::string with_c = R"(
ports:
  - {name: a, type: ring, network: lan}
  - {name: b, type: ring, network: lan}
  - {name: c, type: ring, network: lan}
networks:
  - {name: lan, vlan: 10, subnet: 10.0.1.0/24}
vms:
  - {name: vm1, port: a, mac: "02:00:00:00:01:01", ip: 10.0.1.11}
  - {name: vm2, port: c, mac: "02:00:00:00:01:02", ip: 10.0.1.12}
)";
  auto next = config::load_string(with_c, "modules.yaml");
  ASSERT_TRUE(next) << next.error().front();
  auto grown = std::move(*forward::ForwardingTables::build(config::topology_spec(*next)));
  ASSERT_EQ(grown->port_index("c"), 2);
  shared.set(pipeline::unowned(*grown));
  auto part = portsec->plan_reload(*next);
  ASSERT_TRUE(part) << part.error();
  ASSERT_TRUE(*part);
  (*part)();
  EXPECT_TRUE(stage->runs_on(0));
  EXPECT_FALSE(stage->runs_on(1));
  EXPECT_TRUE(stage->runs_on(2));  // the same stage object: what a Forwarder asks again when its next rx list names slot 2
  EXPECT_FALSE(stage->runs_on(3));
  // Without a port that has it on, the stage is still made while a slot is free (a port
  // added there may have it), and runs on no port.
  config::Config none = *cfg;
  none.ports[0].port_security = false;
  pipeline::SharedTables start_shared(pipeline::unowned(*start));
  pipeline::ModuleEnv none_env{none, start_shared};
  none_env.port_capacity = 4;
  auto none_mods = pipeline::make_modules(none_env);
  ASSERT_TRUE(none_mods) << none_mods.error();
  for (const auto& m : *none_mods)
    if (m->name() == "port_security") {
      auto st = m->make_stage(pipeline::AttachPoint::kIngress);
      ASSERT_TRUE(st) << "no stage for a port with port security added into a free slot later";
      for (uint16_t slot = 0; slot < 4; ++slot) EXPECT_FALSE(st->runs_on(slot)) << slot;
    }
  // A port that stays keeps its port security (its Forwarders chose its stages already).
  config::Config a_off = *next;
  a_off.ports[0].port_security = false;
  auto refused = portsec->plan_reload(a_off);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("a port's port_security differs"), std::string::npos) << refused.error();
}
