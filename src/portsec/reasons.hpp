#pragma once
// Port security's drop reasons, declared by the job (common/drop_reason.hpp) and named
// in its registration (src/modules/registry.cpp). The names are what users see:
// ivswitch_port_drops_total's reason label, ivctl show ports / port-security, ivctl
// trace; docs/counters.md lists them. port_security.hpp says which check drops with which.
#include <cstdint>

#include "pipeline/job_drop_reasons.hpp"

namespace ivs::portsec {

#define IVS_PORTSEC_DROP_REASONS(X)                                                                                      \
  X(kMac, "portsec.mac_not_allowed", "source MAC is not a VM of this port on this network (port security)")             \
  X(kIp, "portsec.ip_not_allowed", "source IP is not one of the VM's addresses (vms[].ip, allowed_addresses)")          \
  X(kArp, "portsec.arp_spoofed", "ARP whose sender MAC or IP is not the VM's (port security)")                          \
  X(kNd, "portsec.nd_spoofed", "IPv6 neighbour discovery for an address or MAC not the VM's, or malformed")             \
  X(kRa, "portsec.ra_guard", "router advertisement or redirect from a VM without router: true")                         \
  X(kDhcp, "portsec.dhcp_guard", "DHCP/DHCPv6 server message from a VM without dhcp_server: true")

// kDrops(Drop::kMac): the switch-wide reason (its number in the per-port counters).
IVS_DECLARE_JOB_DROP_REASONS(IVS_PORTSEC_DROP_REASONS);

}  // namespace ivs::portsec
