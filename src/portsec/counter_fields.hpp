#pragma once
// Port security's counters, declared once (common/counter_schema.hpp; the columns as in
// pipeline/counter_fields.hpp). Rows: the ports (`g` the port's PortGuard, `p` its
// PortSnapshot; `vms`, `drops`, `total` built by portsec/control.cpp). Its drops
// are also in ivswitch_port_drops_total (reasons portsec.*). ivctl's table is one row per
// VM and stays written by hand (cli/show.cpp).
#include "common/counter_schema.hpp"

namespace ivs::portsec {

#define IVS_PORT_SECURITY_FIELDS(X)                                                                                           \
  X("port", info, none, "", no_label, "", "the port", p.name)                                                             \
  X("enabled", gauge, flag, "ivswitch_port_security_enabled", no_label, "",                                           \
    "1 when the port admits only its VMs' MACs and addresses.", g.enabled)                                                     \
  X("vms", info, none, "", no_label, "", "the VMs it admits: MAC, addresses, guards", vms)                                    \
  X("drops", counter, none, "", cli_only("ivswitch_port_drops_total's portsec.* reasons"), "",                               \
    "drops on the port by the portsec.* reasons", drops)                                                                       \
  X("drops_total", counter, none, "", cli_only("sum by (port) of ivswitch_port_drops_total's portsec.* reasons"), "",        \
    "drops on the port by port security, all reasons", total)

inline constexpr Field kPortSecurityFields[] = {IVS_PORT_SECURITY_FIELDS(IVS_FIELD_DECL)};
inline constexpr RowLabel kPortSecurityRowLabels[] = {{"port", "port"}};
inline constexpr Schema kPortSecuritySchema{"port security", "ports", kPortSecurityRowLabels, kPortSecurityFields};

}  // namespace ivs::portsec
