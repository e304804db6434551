#pragma once
// The policy's side of an upcall (the record itself is the core's: pipeline/upcall.hpp):
// the tuple its rules match for the upcalled packet.
#include <cstring>

#include "pipeline/upcall.hpp"
#include "policy/classifier.hpp"
#include "qos/decision.hpp"

namespace ivs::policy {

// The upcall record is the core's (pipeline/upcall.hpp); named here too, as the policy
// thread has always called it.
using pipeline::kNoQos;
using pipeline::kNoVerdict;
using pipeline::Upcall;

// What the policy's rules match for the packet of an upcall (its own direction).
inline FlowTuple tuple_of(const Upcall& u) {
  FlowTuple t;
  t.ipv6 = u.key.family == 6;
  t.proto = u.key.proto;
  if (!t.ipv6) {
    uint32_t a, b;
    std::memcpy(&a, u.key.addr[u.direction], 4);
    std::memcpy(&b, u.key.addr[1 - u.direction], 4);
    t.src_ip = __builtin_bswap32(a);
    t.dst_ip = __builtin_bswap32(b);
  } else {
    std::memcpy(t.src6.data(), u.key.addr[u.direction], 16);
    std::memcpy(t.dst6.data(), u.key.addr[1 - u.direction], 16);
  }
  t.src_port = u.pp.src_port;  // TCP/UDP ports; ICMP type/code as the parser read them
  t.dst_port = u.pp.dst_port;
  t.network = u.network;
  return t;
}

}  // namespace ivs::policy
