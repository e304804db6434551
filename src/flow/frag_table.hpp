#pragma once
// Fragments follow their datagram's flow. Only the first fragment of a datagram carries
// the transport header, so a later fragment cannot be keyed by itself: the first
// fragment's flow key (and its ports, as the policy matched them) is remembered here by
// the datagram's identity, and later fragments take it, and with it the flow's verdict,
// QoS decision, mirror selection and chain state. This is the tracking nftables/OVS
// conntrack avoid only by reassembling; reassembly would hold mbufs and need a second,
// bigger buffer budget, tracking holds none (docs/architecture.md, "Fragments").
//
//   identity  IPv4: source, destination, protocol, identification (RFC 791);
//             IPv6: source, destination, identification (RFC 8200); both with the
//             network the datagram came in on
//   first     offset 0: remembered (a second offset-0 fragment is an overlap)
//   later     takes the first fragment's flow; no entry: frag.ingress.no_first (a
//             fragment that overtook its first fragment is dropped, not held)
//   overlap   a fragment overlapping another of its datagram (exact duplicates too) is
//             dropped, and so are the datagram's later fragments (RFC 5722)
//   done      the datagram's pieces join into [0, end of the last fragment): forgotten
//   bounds    kCapacity datagrams per datapath thread, probed in windows of kProbe
//             slots; an entry lives at most kTimeoutS seconds; a datagram in more
//             than kMaxPieces separate pieces at once, or a first fragment finding no
//             free or expired slot: frag.ingress.table_full
//
// Thread: one table per Forwarder (each datapath thread; the trace Forwarder); never
// shared. The fragments of a datagram arrive on one port, which one thread polls.
// Preallocated; no allocation, lock or log per packet.
#include <cstdint>
#include <optional>
#include <vector>

#include "flow/flow_key.hpp"
#include "packet/parse.hpp"

namespace ivs::flow {

class FragTable {
 public:
  static constexpr uint32_t kCapacity = 2048;  // power of two
  static constexpr uint32_t kProbe = 8;
  static constexpr unsigned kMaxPieces = 8;
  static constexpr uint32_t kTimeoutS = 5;

  explicit FragTable(uint64_t tsc_hz);

  // A fragment of an IP packet whose flow key `dk` was made from it (`frame` at the
  // Ethernet header, `pp` parsed with the VLAN tag removed; `net` its network). A first
  // fragment is remembered; a later one gets its datagram's key in `dk` and the first
  // fragment's protocol and ports in `pp`. The drop reason when it must not go on.
  std::optional<DropReason> follow(const uint8_t* frame, packet::ParsedPacket& pp, int16_t net, DirectedKey& dk,
                                   uint64_t now_tsc) noexcept;

  size_t in_use() const;  // datagrams tracked now (tests, views)

 private:
  struct Key {  // 48 bytes, no padding holes: hashed and compared as bytes
    uint8_t src[16], dst[16];
    uint32_t id;
    uint8_t proto;  // IPv4 only; 0 for IPv6
    uint8_t family;
    int16_t net;
    uint8_t pad[8];
  };
  static_assert(sizeof(Key) == 48);
  struct Piece {
    uint32_t lo, hi;  // octets [lo, hi) of the datagram's payload
  };
  struct Entry {
    Key key;
    DirectedKey dk;
    uint64_t expire_tsc;  // 0: free
    uint32_t end;         // octets in the datagram, known once the last fragment came; 0 before
    uint16_t sport, dport;
    uint8_t ip_proto;
    bool poisoned;        // an overlap was seen: every later fragment is dropped
    uint8_t pieces_n;
    Piece pieces[kMaxPieces];
  };

  Entry* find(const Key& k, uint32_t h, uint64_t now_tsc) noexcept;
  Entry* free_slot(uint32_t h, uint64_t now_tsc) noexcept;
  std::optional<DropReason> first(const Key& k, uint32_t h, packet::ParsedPacket& pp, const DirectedKey& dk, uint64_t now_tsc) noexcept;
  std::optional<DropReason> later(Entry& e, packet::ParsedPacket& pp, DirectedKey& dk) noexcept;

  std::vector<Entry> slots_;
  uint64_t timeout_tsc_;
};

}  // namespace ivs::flow
