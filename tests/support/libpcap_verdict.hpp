#pragma once
// libpcap's own verdict on a frame, the reference the mirror tests compare the switch's
// filters against (pcap_compile + pcap_offline_filter, optimised, as the mirrors compile).
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <string>

#include "support/packet_builder.hpp"

namespace ivs::test {

inline bool libpcap_selects(const std::string& expr, const Bytes& frame) {
  pcap_t* p = pcap_open_dead(DLT_EN10MB, 65535);
  bpf_program prog{};
  EXPECT_EQ(pcap_compile(p, &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN), 0) << expr;
  pcap_pkthdr h{};
  h.caplen = h.len = static_cast<bpf_u_int32>(frame.size());
  const bool r = pcap_offline_filter(&prog, &h, frame.data()) != 0;
  pcap_freecode(&prog);
  pcap_close(p);
  return r;
}

}  // namespace ivs::test
