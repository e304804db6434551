#pragma once
// The host-VM channel's datapath part: its checks at AttachPoint::kIngress
// (channel/stage.cpp says what they admit).
#include <cstdint>
#include <vector>

#include "common/token_bucket.hpp"
#include "forward/tables.hpp"
#include "packet/parse.hpp"
#include "pipeline/module.hpp"

struct rte_mbuf;

namespace ivs::channel {

class ChannelStage final : public pipeline::Stage {
 public:
  // `channels`: how many the config has (fixed from start: the channels section changes
  // only at a restart). The tables it checks against are its Forwarder's (f.tables(), those
  // of the thread's rx list), read per burst, never kept.
  explicit ChannelStage(size_t channels);
  void run(pipeline::Forwarder& f, pipeline::Burst& b) noexcept override;

 private:
  // A frame on a channel's network must be a channel message between the channel's agent
  // and the channel address, with the channel's metadata id, within the agent's rate; the
  // agent's ARP for the channel IP is answered here. False: consumed (dropped with its
  // reason, or answered).
  bool admit(pipeline::Forwarder& f, uint16_t in_port, int16_t net, rte_mbuf* m, const packet::ParsedPacket& pp) noexcept;
  bool tokens(const pipeline::Forwarder& f, size_t channel) noexcept;
  std::vector<TokenBucket> buckets_;  // per channel: agent messages per second
};

}  // namespace ivs::channel
