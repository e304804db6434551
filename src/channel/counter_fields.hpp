#pragma once
// The host-VM channel's counters, declared once (common/counter_schema.hpp; the columns as
// in pipeline/counter_fields.hpp): per channel on a host (rows: channel::ChannelSnapshot
// `r`) and for the channel socket (`svc` the ChannelService). Only a host has them; the
// mapping columns (id, VLAN, agent address) are config, written by channel/control.cpp.
#include <string_view>

#include "common/counter_schema.hpp"

namespace ivs::channel {

// /metrics lists to_vm's and from_vm's series by name (the order of the JSON's keys).
#define IVS_CHANNEL_FIELDS(X)                                                                                                 \
  X("vm", info, none, "", no_label, "VM", "the VM (channels.map[].vm)", r.vm)                                                 \
  X("to_vm/acked", counter, none, "ivswitch_channel_to_vm_total", fixed_label("what=\"acked\""), "ACKED",                     \
    "Host-VM channel: messages to each VM's agent (sent, acked, retries, failed, send_errors).", r.acked)                      \
  X("to_vm/failed", counter, none, "ivswitch_channel_to_vm_total", fixed_label("what=\"failed\""), "FAILED",                  \
    "messages to the VM given up after the retries", r.failed)                                                                 \
  X("to_vm/retries", counter, none, "ivswitch_channel_to_vm_total", fixed_label("what=\"retries\""), "RETRIES",               \
    "messages to the VM sent again (no ack in time)", r.retries)                                                               \
  X("to_vm/send_errors", counter, none, "ivswitch_channel_to_vm_total", fixed_label("what=\"send_errors\""), "SEND ERR",       \
    "messages to the VM the switch could not send", r.send_errors)                                                             \
  X("to_vm/sent", counter, none, "ivswitch_channel_to_vm_total", fixed_label("what=\"sent\""), "TO VM",                       \
    "messages sent to the VM's agent", r.sent)                                                                                 \
  X("from_vm/acks", counter, none, "ivswitch_channel_from_vm_total", fixed_label("what=\"acks\""), "",                        \
    "Host-VM channel: messages from each VM's agent (received, delivered, replies, no_listener, duplicates, acks).",           \
    r.acks_received)                                                                                                           \
  X("from_vm/delivered", counter, none, "ivswitch_channel_from_vm_total", fixed_label("what=\"delivered\""), "DELIVERED",     \
    "messages from the VM delivered to a host daemon", r.delivered)                                                            \
  X("from_vm/duplicates", counter, none, "ivswitch_channel_from_vm_total", fixed_label("what=\"duplicates\""), "DUPLICATES",  \
    "messages from the VM seen again (its retries), acked and not delivered twice", r.duplicates)                              \
  X("from_vm/no_listener", counter, none, "ivswitch_channel_from_vm_total", fixed_label("what=\"no_listener\""), "NO LISTENER", \
    "messages from the VM no host daemon listened for", r.no_listener)                                                         \
  X("from_vm/received", counter, none, "ivswitch_channel_from_vm_total", fixed_label("what=\"received\""), "FROM VM",          \
    "messages received from the VM's agent", r.received)                                                                       \
  X("from_vm/replies", counter, none, "ivswitch_channel_from_vm_total", fixed_label("what=\"replies\""), "ANSWERS",            \
    "answers from the VM to messages sent to it", r.replies)                                                                   \
  X("to_vm/pending_acks", gauge, none, "ivswitch_channel_pending_acks", no_label, "",                                         \
    "Host-VM channel: messages to the VM waiting for the agent's ack.", r.pending_acks)                                        \
  X("to_vm/bytes", counter, bytes, "ivswitch_channel_to_vm_bytes_total", no_label, "",                                       \
    "Host-VM channel: bytes of the messages sent to each VM's agent.", r.sent_bytes)                                           \
  X("from_vm/bytes", counter, bytes, "ivswitch_channel_from_vm_bytes_total", no_label, "",                                   \
    "Host-VM channel: bytes of the messages received from each VM's agent.", r.received_bytes)

#define IVS_CHANNEL_SOCKET_FIELDS(X)                                                                                          \
  X("clients", gauge, none, "ivswitch_channel_clients", no_label, "", "Host daemons connected to the channel socket.",         \
    svc->clients())                                                                                                            \
  X("bad_requests", counter, none, "ivswitch_channel_socket_bad_requests_total", no_label, "",                               \
    "Requests on the channel socket refused as malformed.", svc->bad_requests())                                               \
  X("bad_frames", counter, none, "ivswitch_channel_socket_bad_frames_total", no_label, "",                                   \
    "Datagrams on the channel socket refused as malformed.", svc->bad_frames())

inline constexpr Field kChannelFields[] = {IVS_CHANNEL_FIELDS(IVS_FIELD_DECL)};
inline constexpr Field kChannelSocketFields[] = {IVS_CHANNEL_SOCKET_FIELDS(IVS_FIELD_DECL)};
inline constexpr RowLabel kChannelRowLabels[] = {{"vm", "vm"}};
inline constexpr Schema kChannelSchema{"channels", "channels", kChannelRowLabels, kChannelFields};
inline constexpr Schema kChannelSocketSchema{"channel socket", "", {}, kChannelSocketFields};
inline constexpr std::string_view kChannelTable[] = {"VM",      "TO VM",     "ACKED",   "RETRIES",     "FAILED",    "SEND ERR",
                                                     "FROM VM", "DELIVERED", "ANSWERS", "NO LISTENER", "DUPLICATES"};

}  // namespace ivs::channel
