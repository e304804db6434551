// Drop reasons and trace events declared by the jobs (common/drop_reason.hpp,
// pipeline/trace_event.hpp): the table numbers the core's reasons, then each registered
// module's block; users see the same names as before the move; a module's reason is its
// block's base + local index; a module's trace event reads as its folder says.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>

#include "channel/reasons.hpp"
#include "config/core_specs.hpp"
#include "config/loader.hpp"
#include "forward/tables.hpp"
#include "pipeline/module.hpp"
#include "pipeline/trace_format.hpp"

using namespace ivs;

namespace {

// Every reason users saw before the jobs declared their own (ivswitch_port_drops_total's
// reason label values, ivctl show ports / stats, docs/counters.md). A reason may be
// added, never renamed or lost.
constexpr std::string_view kNamesBeforeTheMove[] = {
    "parse.eth.runt", "parse.vlan.truncated", "parse.vlan.stacked", "parse.ipv4.truncated", "parse.ipv4.bad_header",
    "parse.ipv4.bad_length", "parse.ipv6.truncated", "parse.ipv6.bad_length", "parse.l4.truncated", "parse.arp.malformed",
    "l2.ingress.bad_src_mac", "l2.ingress.vlan_not_allowed", "l2.ingress.static_mac_elsewhere", "portsec.mac_not_allowed",
    "portsec.ip_not_allowed", "portsec.arp_spoofed", "portsec.nd_spoofed", "portsec.ra_guard", "portsec.dhcp_guard",
    "l2.forward.same_port", "l2.flood.no_other_port", "l3.route.ttl_expired", "l3.route.bad_checksum", "l3.route.no_route",
    "l3.route.not_routable", "l3.route.neighbor_unresolved", "policy.denied", "policy.related_denied", "policy.rejected",
    "chain.shortcut.ttl_expired", "chain.no_flow_entry", "qos.meter.drop", "qos.queue.full", "flow.upcall.rate_limited",
    "flow.upcall.queue_full", "channel.ingress.wrong_port", "channel.ingress.not_message", "channel.ingress.spoofed_address",
    "channel.ingress.bad_header", "channel.ingress.wrong_id", "channel.ingress.rate_limited", "channel.address_reserved",
    "local.unhandled", "tx.queue_full", "tx.link_down", "flood.copy_failed", "l2.egress.vlan_push_failed",
    "parse.ipv6.bad_header", "parse.ipv6.ext_chain_too_long", "parse.ipv6.ext_malformed", "frag.ingress.tiny_first",
    "frag.ingress.overlap", "frag.ingress.no_first", "frag.ingress.table_full", "rx.truncated", "tx.mtu_exceeded",
};

TEST(Reasons, EveryNameUsersSawIsStillThereOnceAndWithAHelp) {
  const auto& t = drop_reasons();
  std::set<std::string_view> names;
  for (size_t i = 0; i < t.size(); ++i) {
    EXPECT_TRUE(names.insert(t[i].name).second) << "reason " << t[i].name << " twice";
    EXPECT_FALSE(t[i].help.empty()) << t[i].name;
  }
  for (auto n : kNamesBeforeTheMove) EXPECT_TRUE(names.contains(n)) << n << " is gone";
  EXPECT_LE(t.size(), kDropReasonCount);
  EXPECT_EQ(t[t.size()].name, "");  // beyond the table: no name, no crash (a stale trace record)
}

TEST(Reasons, TheCoreComesFirstThenEachModulesBlockInRegistrationOrder) {
  const auto& t = drop_reasons();
  for (size_t i = 0; i < kCoreDropReasonCount; ++i) EXPECT_EQ(t[i].name, kCoreDropReasonInfo[i].name);
  size_t next = kCoreDropReasonCount;
  for (const auto& info : pipeline::registered_modules()) {
    if (!info.drop_reasons) continue;
    EXPECT_EQ(info.drop_reasons->base, next) << info.name;
    for (size_t k = 0; k < info.drop_reasons->size(); ++k)
      EXPECT_EQ(t[info.drop_reasons->index(k)].name, info.drop_reasons->reasons[k].name) << info.name;
    next += info.drop_reasons->size();
  }
  EXPECT_EQ(next, t.size());
}

TEST(Reasons, AModulesReasonIsItsBasePlusItsLocalIndex) {
  (void)drop_reasons();
  const DropReason r = channel::kDrops(channel::Drop::kWrongPort);
  EXPECT_GE(static_cast<size_t>(r), kCoreDropReasonCount);
  EXPECT_EQ(drop_reason_name(r), "channel.ingress.wrong_port");
  EXPECT_EQ(drop_reason_name(channel::kDrops(channel::Drop::kAddressReserved)), "channel.address_reserved");
  EXPECT_EQ(static_cast<size_t>(channel::kDrops(channel::Drop::kNotMessage)), static_cast<size_t>(r) + 1);
}

TEST(Reasons, AModulesTraceEventReadsAsItsFolderSays) {
  const auto& events = pipeline::module_trace_events();
  const pipeline::TraceEvent admitted = channel::kTraceEvents(channel::Trace::kAdmitted);
  ASSERT_GE(static_cast<size_t>(admitted), pipeline::kCoreTraceEventCount);
  ASSERT_LT(static_cast<size_t>(admitted) - pipeline::kCoreTraceEventCount, events.size());

  auto cfg = config::load_string(R"(
ports:
  - {name: a, type: ring, network: lan}
networks:
  - {name: lan, vlan: 10}
)", "reasons.yaml");
  ASSERT_TRUE(cfg);
  auto tables = forward::ForwardingTables::build(config::topology_spec(*cfg));
  ASSERT_TRUE(tables);
  pipeline::TraceBuffer buf;
  // The buffer copies the frame's first bytes: a bare mbuf over a zeroed frame will do.
  alignas(64) uint8_t frame[64] = {};
  rte_mbuf mb;
  std::memset(&mb, 0, sizeof(mb));
  mb.buf_addr = frame;
  mb.data_len = 60;
  mb.pkt_len = 60;
  rte_mbuf* m = &mb;
  ASSERT_EQ(buf.begin(m, 0, 1), 0);
  buf.record(m, admitted, 0, 0, 101, 3001, 0x0101a1000002ull /* 02:00:00:a1:01:01 */, 0xa9fe4d0b /* 169.254.77.11 */, 1);
  buf.record(m, pipeline::TraceEvent::kDrop, 0, -1, static_cast<uint32_t>(channel::kDrops(channel::Drop::kRateLimited)));
  const auto p = pipeline::format_packet(buf, 0, pipeline::TraceNames{**tables});
  ASSERT_EQ(p.steps.size(), 2u);
  EXPECT_EQ(p.steps[0].stage, "channel");
  EXPECT_EQ(p.steps[0].event, "admitted");
  EXPECT_EQ(p.steps[0].fields["agent_ip"], "169.254.77.11");
  EXPECT_EQ(p.steps[0].fields["agent_mac"], "02:00:00:a1:01:01");
  EXPECT_EQ(p.steps[0].text, "message of channel id 101 from the agent: admitted (VLAN 3001, agent 02:00:00:a1:01:01 169.254.77.11)");
  EXPECT_EQ(p.steps[1].fields["reason"], "channel.ingress.rate_limited");
  EXPECT_EQ(p.result, "dropped: channel.ingress.rate_limited");
}

}  // namespace
