#pragma once
// The flow table's established entries, written at a clean stop and read back at the next
// start (a restart or an upgrade keeps its flows, as OVS's flow-restore-wait does;
// docs/vms.md "The restart gap"). This file knows the bytes only: what is saved and whether a
// saved flow may come back is the policy thread's (policy/flow_restore.cpp).
//
// Format (version 1, little-endian, written by explicit fields, except the FlowKey: its
// 48 bytes copied as they are, ports in host order, so a file is for the same machine only):
//   "IVSFLOWS" u32 version u32 flags(0) u64 policy_digest u32 epoch
//   u32 n_ports   { u8 len, name }     the ports by name (an entry's port is an index here)
//   u32 n_networks{ u8 len, name }     the networks by name
//   u32 n_flows   { SavedFlow, 84 bytes each, see serialize_flow_snapshot() }
//   u64 checksum (FNV-1a 64 of every byte before it)
// A file that is short, long, of another version, with a bad checksum, an index out of
// its tables or a flow whose fields do not hold together (parse_flow_snapshot) is refused whole (parse_flow_snapshot says why); nothing in it is trusted
// before the checksum and every bound are checked.
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <vector>

#include "flow/flow_key.hpp"

namespace ivs::flow {

inline constexpr uint32_t kFlowSnapshotVersion = 1;
inline constexpr size_t kSavedFlowBytes = 84;

struct SavedFlow {
  FlowKey key{};
  uint8_t state = 0;      // FlowState
  uint8_t initiator = 0;  // direction of the first packet
  uint16_t network = 0;   // index into FlowSnapshot::networks
  uint16_t first_port = 0;  // index into FlowSnapshot::ports
  uint16_t first_sport = 0, first_dport = 0;
  int32_t rule = -1;
  uint32_t epoch = 0;
  uint8_t tcp_flags[2] = {};
  uint64_t slot_word[2] = {};  // the module slot's words as the entry held them (FlowSlot::word); not used by the restore
};

struct FlowSnapshot {
  uint64_t policy_digest = 0;  // identity of the policy the flows were decided under
  uint32_t epoch = 0;          // the policy epoch at the stop
  std::vector<std::string> ports, networks;
  std::vector<SavedFlow> flows;
};

// The file's bytes.
std::vector<uint8_t> serialize_flow_snapshot(const FlowSnapshot& s);
// The bytes read back; refused whole, with why, when anything is wrong. At most
// `max_flows` flows (a larger file is refused: the table could not hold them anyway).
std::expected<FlowSnapshot, std::string> parse_flow_snapshot(std::span<const uint8_t> bytes, size_t max_flows);
// Written atomically: a temporary file in the same folder, flushed, then renamed over
// `path`, so that a crash leaves the old file or the new one, never half of one.
std::expected<void, std::string> write_flow_snapshot(const std::string& path, const FlowSnapshot& s);
// Read and parsed; a missing file is an error too (the caller tells "none" from "bad" by
// errno_missing). Files larger than the bound max_flows implies are refused unread.
struct SnapshotReadError {
  bool missing = false;
  std::string message;
};
std::expected<FlowSnapshot, SnapshotReadError> read_flow_snapshot(const std::string& path, size_t max_flows);

}  // namespace ivs::flow
