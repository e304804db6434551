#pragma once
// Every declared counter group (common/counter_schema.hpp), for what walks them all:
// the unit test that checks each counter reaches JSON, /metrics and ivctl, and
// docs/counters.md's generated tables. A new group is added here.
#include "channel/counter_fields.hpp"
#include "ethertypes/counter_fields.hpp"
#include "flowexport/counter_fields.hpp"
#include "mirror/counter_fields.hpp"
#include "pipeline/counter_fields.hpp"
#include "policy/counter_fields.hpp"
#include "portsec/counter_fields.hpp"
#include "qos/counter_fields.hpp"

namespace ivs::control {

inline constexpr const Schema* kCounterSchemas[] = {
    &pipeline::kPortSchema,        &pipeline::kPortDropSchema,   &pipeline::kStatsSchema,     &pipeline::kPmdSchema,
    &pipeline::kRouteHopSchema,
    &portsec::kPortSecuritySchema, &channel::kChannelSchema,     &channel::kChannelSocketSchema,
    &flowexport::kCollectorSchema, &flowexport::kExporterSchema,  &qos::kQosVmSchema,        &qos::kQosMeterSchema,
    &qos::kQosClassSchema,         &qos::kQosQueueSchema,         &qos::kQosSchema,           &mirror::kMirrorSchema,
    &mirror::kMirrorToolSchema,    &policy::kPolicyHeadSchema,    &policy::kPolicyRuleSchema, &policy::kPolicyFlowSchema,
    &policy::kChainSchema,         &policy::kPolicyBusySchema,    &ethertypes::kEthertypeSchema,
    &ethertypes::kEthertypeOverflowSchema, &ethertypes::kEthertypeHeadSchema,
};

}  // namespace ivs::control
