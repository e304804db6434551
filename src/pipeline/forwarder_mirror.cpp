// The flow taps' call site (issue 17), and the start of a burst for the mirror module's
// stage (begin_mirrors: the stage loads the burst's mirror set, which its module publishes).
// The flow taps' call site: a mirror whose `match` selects flows by policy takes
// their packets after the flow lookup. The point after it (kFlow) exists now, but it does
// not see a packet sent up to the policy thread, and the flow taps copy a flow's first
// packet as it goes up;
// until they move onto it, the flow lookup (Forwarder::flow_tap) hands the packet to the
// mirror module's TapStage of this Forwarder (mirror/tap_stage.hpp), which judges, counts
// and copies it as its rx and tx taps do.
#include "mirror/tap_stage.hpp"
#include "pipeline/forwarder.hpp"

namespace ivs::pipeline {

void Forwarder::attach_flow_taps() noexcept { flow_taps_ = stages_.find<mirror::TapStage>(); }

void Forwarder::begin_mirrors() noexcept { flow_taps_on_ = flow_taps_ && flow_taps_->begin_burst(*this); }

void Forwarder::flow_tap_copies(const Pkt& p, const packet::ParsedPacket& pp, const flow::FlowEntry* fe, uint8_t direction) noexcept {
  flow_taps_->flow_tap(*this, p, pp, fe, direction);
}

}  // namespace ivs::pipeline
