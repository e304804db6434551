"""Packet-level cases: config + input frames per port -> expected frames per port and
expected drop counters. Every port of a case is a pcap port (rx from in-<port>.pcap,
tx to out-<port>.pcap). Frames are compared as multisets per port (order between
different output ports is not defined)."""
import struct

from frames import (arp, csum, eth, icmp_echo, ip6, ipv4_fragment, ipv4_header, ipv6_ext, ipv6_frag, ipv6_packet, pad, tag, tcp_header, tcp_packet,
                    udp_header, udp_packet)

VM1, VM2, VM3 = "02:00:00:00:01:01", "02:00:00:00:01:02", "02:00:00:00:02:03"
GW_WEB, GW_DB = "02:49:56:00:00:0a", "02:49:56:00:00:14"  # default gateway MACs of VLAN 10 / 20
BCAST = "ff:ff:ff:ff:ff:ff"
UNKNOWN = "02:00:00:00:09:09"

TOPOLOGY = """
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1}
  - {name: db, vlan: 20, subnet: 10.0.2.0/24, gateway: 10.0.2.1}
vms:
  - {name: vm1, port: p1, mac: "02:00:00:00:01:01", ip: 10.0.1.11, allowed_addresses: ["fd00::11"]}
  - {name: vm2, port: p2, mac: "02:00:00:00:01:02", ip: 10.0.1.12, allowed_addresses: ["fd00::12"]}
  - {name: vm3, port: p3, mac: "02:00:00:00:02:03", ip: 10.0.2.13}
"""
PORTS = {"p1": "network: web", "p2": "network: web", "p3": "network: db", "t4": "trunk: [web, db]"}


def u(dst, src, sip, dip, **kw):
    return udp_packet(dst, src, sip, dip, **kw)


def time_exceeded4(frame, gateway):
    """ICMP time exceeded in transit for an untagged IPv4 frame, from `gateway`, back to its sender."""
    orig = frame[14:]
    quote = orig[:(orig[0] & 0x0F) * 4 + 8]
    body = struct.pack("!BBHI", 11, 0, 0, 0) + quote
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    dst = ".".join(str(b) for b in orig[12:16])
    return pad(eth(frame[6:12].hex(":"), frame[0:6].hex(":"), 0x0800) + ipv4_header(gateway, dst, 1, len(body), ident=0) + body)


CASES = [
    {
        "name": "l2_switching",
        "about": "known unicast to one port; broadcast and unknown unicast flooded in the network only, tagged on the trunk",
        "in": {"p1": [u(VM2, VM1, "10.0.1.11", "10.0.1.12", ident=1),
                      u(BCAST, VM1, "10.0.1.11", "10.0.1.255", ident=2),
                      u(UNKNOWN, VM1, "10.0.1.11", "10.0.1.99", ident=3),
                      u(VM3, VM1, "10.0.1.11", "10.0.1.98", ident=4)]},
        "out": {"p2": [u(VM2, VM1, "10.0.1.11", "10.0.1.12", ident=1),
                       u(BCAST, VM1, "10.0.1.11", "10.0.1.255", ident=2),
                       u(UNKNOWN, VM1, "10.0.1.11", "10.0.1.99", ident=3),
                       u(VM3, VM1, "10.0.1.11", "10.0.1.98", ident=4)],
                "t4": [tag(u(BCAST, VM1, "10.0.1.11", "10.0.1.255", ident=2), 10),
                       tag(u(UNKNOWN, VM1, "10.0.1.11", "10.0.1.99", ident=3), 10),
                       tag(u(VM3, VM1, "10.0.1.11", "10.0.1.98", ident=4), 10)],
                "p1": [], "p3": []},
        "drops": {},
    },
    {
        "name": "vlan_trunk",
        "about": "tagged frames on a trunk go untagged to the access port of their VLAN; other VLANs and untagged frames (no native) are dropped",
        "in": {"t4": [u(VM3, UNKNOWN, "10.0.2.50", "10.0.2.13", vlan=20, ident=1),
                      u(VM2, UNKNOWN, "10.0.1.50", "10.0.1.12", vlan=10, ident=2),
                      u(VM2, UNKNOWN, "10.0.1.50", "10.0.1.12", vlan=30, ident=3),
                      u(VM2, UNKNOWN, "10.0.1.50", "10.0.1.12", ident=4)]},
        "out": {"p3": [u(VM3, UNKNOWN, "10.0.2.50", "10.0.2.13", ident=1)],
                "p2": [u(VM2, UNKNOWN, "10.0.1.50", "10.0.1.12", ident=2)],
                "p1": [], "t4": []},
        "drops": {"t4": {"l2.ingress.vlan_not_allowed": 2}},
    },
    {
        "name": "routing",
        "about": "routed between networks: MACs rewritten, TTL-1, checksum valid; TTL expiry, no route, bad checksum dropped; unknown neighbour answered by an ARP request",
        "in": {"p1": [u(GW_WEB, VM1, "10.0.1.11", "10.0.2.13", ttl=64, ident=1),
                      u(GW_WEB, VM1, "10.0.1.11", "10.0.2.13", ttl=1, ident=2),
                      u(GW_WEB, VM1, "10.0.1.11", "192.168.9.9", ident=3),
                      u(GW_WEB, VM1, "10.0.1.11", "10.0.2.13", ident=4, bad_csum=True),
                      u(GW_WEB, VM1, "10.0.1.11", "10.0.2.99", ident=5)]},
        "out": {"p3": [u(VM3, GW_DB, "10.0.1.11", "10.0.2.13", ttl=63, ident=1),
                       arp(BCAST, GW_DB, 1, GW_DB, "10.0.2.1", "00:00:00:00:00:00", "10.0.2.99")],
                "t4": [tag(arp(BCAST, GW_DB, 1, GW_DB, "10.0.2.1", "00:00:00:00:00:00", "10.0.2.99"), 20)],
                # the expired one answered with ICMP time exceeded from web's gateway (RFC 792: IP header + 8 octets)
                "p1": [time_exceeded4(u(GW_WEB, VM1, "10.0.1.11", "10.0.2.13", ttl=1, ident=2), "10.0.1.1")], "p2": []},
        "drops": {"p1": {"l3.route.ttl_expired": 1, "l3.route.no_route": 1, "l3.route.bad_checksum": 1,
                         "l3.route.neighbor_unresolved": 1}},
    },
    {
        "name": "gateway_local",
        "about": "the switch answers ARP and ping for its gateway addresses; other traffic to them is dropped and counted",
        "in": {"p1": [arp(BCAST, VM1, 1, VM1, "10.0.1.11", "00:00:00:00:00:00", "10.0.1.1"),
                      icmp_echo(GW_WEB, VM1, "10.0.1.11", "10.0.1.1", typ=8),
                      icmp_echo(GW_WEB, VM1, "10.0.1.11", "10.0.2.1", typ=8, seq=2),
                      u(GW_WEB, VM1, "10.0.1.11", "10.0.1.1", dport=53)]},
        "out": {"p1": [arp(VM1, GW_WEB, 2, GW_WEB, "10.0.1.1", VM1, "10.0.1.11"),
                       icmp_echo(VM1, GW_WEB, "10.0.1.1", "10.0.1.11", typ=0),
                       icmp_echo(VM1, GW_WEB, "10.0.2.1", "10.0.1.11", typ=0, seq=2)],
                "p2": [], "p3": [], "t4": []},
        "drops": {"p1": {"local.unhandled": 1}},
    },
    {
        "name": "malformed",
        "about": "malformed frames are dropped with their reason and the switch keeps forwarding",
        "in": {"p1": [bytes(10),
                      bytes.fromhex("020000000102020000000101" "0800" "44") + bytes(45),
                      bytes.fromhex("020000000102020000000101" "88a8" "000a" "0800") + bytes(44),
                      u(VM2, "01:00:5e:00:00:01", "10.0.1.11", "10.0.1.12"),
                      u(VM2, VM1, "10.0.1.11", "10.0.1.12", ident=9)]},
        "out": {"p2": [u(VM2, VM1, "10.0.1.11", "10.0.1.12", ident=9)], "p1": [], "p3": [], "t4": []},
        "drops": {"p1": {"parse.eth.runt": 1, "parse.ipv4.bad_header": 1, "parse.vlan.stacked": 1,
                         "l2.ingress.bad_src_mac": 1}},
    },
]


# Static routes (config routes): 203.0.113.0/24 via vm3 (a configured VM: its MAC is a
# static neighbour, so the case needs no ARP exchange), 198.51.100.0/24 via an address
# nobody answers for.
ROUTES = """
routes:
  - {prefix: 203.0.113.0/24, via: 10.0.2.13}
  - {prefix: 198.51.100.0/24, via: 10.0.2.77}
"""
CASES.append({
    "name": "static_routes",
    "about": "a static route: to its next hop's MAC from the gateway MAC of the next hop's network, TTL-1, the destination IP kept; an unresolved next hop dropped and asked for by ARP (the next hop's address, not the destination); outside every route: no route; TTL 1: time exceeded",
    "topology": TOPOLOGY + ROUTES,
    "in": {"p1": [u(GW_WEB, VM1, "10.0.1.11", "203.0.113.9", ttl=64, ident=1),
                  u(GW_WEB, VM1, "10.0.1.11", "198.51.100.5", ident=2),
                  u(GW_WEB, VM1, "10.0.1.11", "192.0.2.1", ident=3),
                  u(GW_WEB, VM1, "10.0.1.11", "203.0.113.9", ttl=1, ident=4)]},
    "out": {"p3": [u(VM3, GW_DB, "10.0.1.11", "203.0.113.9", ttl=63, ident=1),
                   arp(BCAST, GW_DB, 1, GW_DB, "10.0.2.1", "00:00:00:00:00:00", "10.0.2.77")],
            "t4": [tag(arp(BCAST, GW_DB, 1, GW_DB, "10.0.2.1", "00:00:00:00:00:00", "10.0.2.77"), 20)],
            "p1": [time_exceeded4(u(GW_WEB, VM1, "10.0.1.11", "203.0.113.9", ttl=1, ident=4), "10.0.1.1")], "p2": []},
    "drops": {"p1": {"l3.route.next_hop_unresolved": 1, "l3.route.no_route": 1, "l3.route.ttl_expired": 1}},
})

POLICY = """
policy:
  default: drop
  rules:
    - {name: pg, from: vm1, to: vm3, protocol: tcp, ports: [5432], action: allow}
    - {name: ssh, to: vm3, protocol: tcp, ports: [22], action: reject}
"""


def syn(sport, dport):
    return tcp_packet(GW_WEB, VM1, "10.0.1.11", "10.0.2.13", sport, dport, 0x02, seq=1000)


def routed_syn(sport, dport):
    # what leaves toward vm3: MACs rewritten, TTL 63, checksum updated
    return tcp_packet(VM3, GW_DB, "10.0.1.11", "10.0.2.13", sport, dport, 0x02, seq=1000, ttl=63)


def rst_for_syn(sport, dport):
    # RFC 793: a SYN without ACK is answered by RST+ACK, seq 0, ack = seq + 1; from vm3's
    # address (the switch answers for the destination), to vm1 through its gateway MAC
    return tcp_packet(VM1, GW_WEB, "10.0.2.13", "10.0.1.11", dport, sport, 0x14, seq=0, ack=1001, window=0)


CASES.append({
    "name": "policy",
    "about": "allowed flow routed and delivered, default-denied flow dropped, rejected flow answered with a RST; one flow-table entry per flow",
    "extra": POLICY,
    "in": {"p1": [syn(40000, 5432), syn(40000, 5432), syn(40001, 80), syn(40001, 80), syn(40002, 22)]},
    "out": {"p3": [routed_syn(40000, 5432), routed_syn(40000, 5432)],
            "p1": [rst_for_syn(40002, 22)], "p2": [], "t4": []},
    "drops": {"p1": {"policy.denied": 2, "policy.rejected": 1}},
    "policy": {"upcalls_max": 3, "flows": 3},
})

QOS = """
qos:
  assign:
    - {name: voice, from: vm1, dscp: EF}
    - {name: vm2-audit, from: vm2, dscp: AF21, mode: audit}
    - {name: web-cs1, network: web, dscp: CS1}
"""

CASES.append({
    "name": "qos_guard",
    "about": "enforce rewrites DSCP keeping ECN (checksum recomputed from scratch must equal the incremental one), audit leaves frames as they are, a tagged frame is rewritten behind its tag",
    "extra": QOS,
    "in": {"p1": [u(VM2, VM1, "10.0.1.11", "10.0.1.12", ident=1, tos=0x01),
                  u(VM2, VM1, "10.0.1.11", "10.0.1.12", ident=2, tos=0xb8 | 0x03),
                  u(VM2, VM1, "10.0.1.11", "10.0.1.12", ident=3, tos=0x02)],
           "p2": [u(VM1, VM2, "10.0.1.12", "10.0.1.11", ident=4, tos=0x20)],
           "t4": [u(VM2, UNKNOWN, "10.0.1.50", "10.0.1.12", vlan=10, ident=5, tos=0xfe)]},
    "out": {"p2": [u(VM2, VM1, "10.0.1.11", "10.0.1.12", ident=1, tos=0xb9),
                   u(VM2, VM1, "10.0.1.11", "10.0.1.12", ident=2, tos=0xbb),
                   u(VM2, VM1, "10.0.1.11", "10.0.1.12", ident=3, tos=0xba),
                   u(VM2, UNKNOWN, "10.0.1.50", "10.0.1.12", ident=5, tos=0x22)],
            "p1": [u(VM1, VM2, "10.0.1.12", "10.0.1.11", ident=4, tos=0x20)],
            "p3": [], "t4": []},
    "drops": {},
})


# Issue 14 items 1 and 2: IPv6 extension headers and IP fragments (switched web -> web).
A6, B6 = "fd00::11", "fd00::12"


def v6(next_header, payload):
    return ipv6_packet(VM2, VM1, A6, B6, next_header, payload)


def frag4(proto, part, ident, offset, more):
    return ipv4_fragment(VM2, VM1, "10.0.1.11", "10.0.1.12", proto, part, ident, offset, more)


SYN22_HBH = v6(0, ipv6_ext(6) + tcp_header(40000, 22, 0x02))
SYN22_DST = v6(60, ipv6_ext(6, 1) + tcp_header(40001, 22, 0x02))
SYN22_FRAG = v6(44, ipv6_frag(6, 0, True, 0x77) + tcp_header(40002, 22, 0x02) + bytes(4))
SYN22_FRAG_REST = v6(44, ipv6_frag(6, 3, False, 0x77) + bytes(16))
SYN80_EXT = v6(0, ipv6_ext(60) + ipv6_ext(43) + ipv6_ext(6) + tcp_header(40003, 80, 0x02))
UDP53 = [frag4(17, udp_header(40000, 53, 60) + bytes(16), 0x101, 0, True),
         frag4(17, bytes(24), 0x101, 3, True), frag4(17, bytes(12), 0x101, 6, False)]
UDP53_V6 = [v6(44, ipv6_frag(60, 0, True, 0x102) + ipv6_ext(17) + udp_header(40000, 53, 62) + bytes(8)),
            v6(44, ipv6_frag(60, 3, False, 0x102) + bytes(30))]
UDP6666 = [frag4(17, udp_header(40000, 6666, 60) + bytes(16), 0x103, 0, True),
           frag4(17, bytes(24), 0x103, 3, True), frag4(17, bytes(12), 0x103, 6, False)]

CASES.append({
    "name": "ipv6_ext_denied",
    "about": "default allow, tcp/22 dropped: a SYN to 22 behind Hop-by-Hop, Destination Options or a Fragment header is denied (and the fragment's rest); tcp/80 behind three headers passes",
    "extra": """
policy:
  default: allow
  rules:
    - {name: ssh, protocol: tcp, ports: [22], action: drop}
""",
    "in": {"p1": [SYN22_HBH, SYN22_DST, SYN22_FRAG, SYN22_FRAG_REST, SYN80_EXT]},
    "out": {"p2": [SYN80_EXT], "p1": [], "p3": [], "t4": []},
    "drops": {"p1": {"policy.denied": 4}},
    "policy": {"upcalls_max": 5, "flows": 4},
})

CASES.append({
    "name": "frag_allowed",
    "about": "default drop with allow rules: IPv6 behind extension headers passes; every fragment of an allowed IPv4/IPv6 datagram passes, every fragment of a datagram no rule allows is dropped",
    "extra": """
policy:
  default: drop
  rules:
    - {name: web, protocol: tcp, ports: [80], action: allow}
    - {name: dns, protocol: udp, ports: [53], action: allow}
""",
    "in": {"p1": [SYN80_EXT] + UDP53 + UDP53_V6 + UDP6666},
    "out": {"p2": [SYN80_EXT] + UDP53 + UDP53_V6, "p1": [], "p3": [], "t4": []},
    "drops": {"p1": {"policy.denied": 3}},
    "policy": {"upcalls_max": 9, "flows": 4},
})

CASES.append({
    "name": "frag_denied_bad",
    "about": "default allow, udp/6666 dropped: later fragments of the denied datagram dropped; tiny first (RFC 1858 too), overlapping and orphan fragments dropped with their counters",
    "extra": """
policy:
  default: allow
  rules:
    - {name: bad, protocol: udp, ports: [6666], action: drop}
""",
    "in": {"p1": UDP6666 + [
        frag4(6, bytes(16), 0x201, 0, True),                                # tiny first: 16 octets of TCP
        frag4(6, bytes(16), 0x202, 1, False),                               # TCP at offset 8 (RFC 1858)
        v6(44, ipv6_frag(6, 0, True, 0x203) + bytes(8)),                    # IPv6 tiny first
        frag4(17, udp_header(1, 53, 48) + bytes(16), 0x204, 0, True),       # allowed first fragment
        frag4(17, bytes(24), 0x204, 2, True),                               # overlaps it
        frag4(17, bytes(8), 0x204, 5, False),                               # the overlapped datagram's rest
        frag4(17, bytes(8), 0x205, 5, False),                               # no first fragment
    ]},
    "out": {"p2": [frag4(17, udp_header(1, 53, 48) + bytes(16), 0x204, 0, True)], "p1": [], "p3": [], "t4": []},
    "drops": {"p1": {"policy.denied": 3, "frag.ingress.tiny_first": 3, "frag.ingress.overlap": 2, "frag.ingress.no_first": 1}},
})


# Reject replies follow RFC 1122 3.2.2: none to or from multicast, broadcast or unspecified
# addresses, none about an ICMP error or a RST (reply.suppressed.* events, tests/unit/reply_test.cpp).
def from_host(src, dst, l4_proto, l4):
    """A frame from a learned host on the trunk (VLAN 10, no port security) to vm2."""
    f = eth(VM2, UNKNOWN, 0x0800, 10) + ipv4_header(src, dst, l4_proto, len(l4)) + l4
    return pad(f)


def unreachable_for(frame):
    """The ICMP unreachable (code 13) the switch makes from an untagged frame, sent back on the trunk."""
    orig_ip = frame[14:]
    ihl = (orig_ip[0] & 0x0F) * 4
    quote = orig_ip[:ihl + 8]
    body = struct.pack("!BBHI", 3, 13, 0, 0) + quote
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    src, dst = ".".join(str(b) for b in orig_ip[16:20]), ".".join(str(b) for b in orig_ip[12:16])
    reply = eth(UNKNOWN, VM2, 0x0800) + ipv4_header(src, dst, 1, len(body), ident=0) + body
    return tag(pad(reply), 10)


UDP9 = struct.pack("!HHHH", 4000, 9, 26, 0) + bytes(18)
QUOTED = ipv4_header("10.0.1.12", "10.0.1.50", 17, 26) + struct.pack("!HHHH", 53, 4000, 26, 0)
PORT_UNREACH = struct.pack("!BBHI", 3, 3, 0, 0) + QUOTED
PORT_UNREACH = PORT_UNREACH[:2] + struct.pack("!H", csum(PORT_UNREACH)) + PORT_UNREACH[4:]
CASES.append({
    "name": "reject_not_answered",
    "about": "reject answers a unicast sender only: not a multicast, unspecified or broadcast address (also a subnet's), not an ICMP error, not a RST",
    "extra": """
policy:
  default: allow
  rules:
    - {name: rej, protocol: udp, ports: [9], action: reject}
    - {name: rej-icmp, protocol: icmp, action: reject}
    - {name: ssh, protocol: tcp, ports: [22], action: reject}
""",
    "in": {"t4": [from_host("10.0.1.50", "10.0.1.12", 17, UDP9),
                  from_host("224.0.0.5", "10.0.1.12", 17, UDP9),
                  from_host("0.0.0.0", "10.0.1.12", 17, UDP9),
                  from_host("10.0.1.50", "10.0.1.255", 17, UDP9),
                  from_host("10.0.1.50", "255.255.255.255", 17, UDP9),
                  from_host("10.0.1.50", "10.0.1.12", 1, PORT_UNREACH),
                  from_host("10.0.1.50", "10.0.1.12", 6, tcp_header(4000, 22, 0x04))]},
    "out": {"t4": [unreachable_for(pad(eth(VM2, UNKNOWN, 0x0800) + ipv4_header("10.0.1.50", "10.0.1.12", 17, len(UDP9)) + UDP9))],
            "p1": [], "p2": [], "p3": []},
    "drops": {"t4": {"policy.rejected": 7}},
})


# IPv6 routing (networks with subnet6 / gateway6, docs/config.md): neighbour discovery and
# ping answered for the gateway addresses, routed with the hop limit decremented and the
# MACs rewritten, ICMPv6 time exceeded / unreachable back (tshark checks every ICMPv6
# checksum), a solicitation for an unknown neighbour. The VMs' IPv6 addresses are static
# neighbours (forward/static_neighbors6.hpp).
TOPOLOGY6 = """
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1, subnet6: "2001:db8:1::/64", gateway6: "2001:db8:1::1"}
  - {name: db, vlan: 20, subnet: 10.0.2.0/24, gateway: 10.0.2.1, subnet6: "2001:db8:2::/64", gateway6: "2001:db8:2::1"}
vms:
  - {name: vm1, port: p1, mac: "02:00:00:00:01:01", ip: 10.0.1.11, allowed_addresses: ["2001:db8:1::11"]}
  - {name: vm2, port: p2, mac: "02:00:00:00:01:02", ip: 10.0.1.12, allowed_addresses: ["2001:db8:1::12"]}
  - {name: vm3, port: p3, mac: "02:00:00:00:02:03", ip: 10.0.2.13, allowed_addresses: ["2001:db8:2::13"]}
"""
GW6_WEB, GW6_DB = "2001:db8:1::1", "2001:db8:2::1"
GW_WEB_LL = "fe80::49:56ff:fe00:a"  # EUI-64 of 02:49:56:00:00:0a


def icmp6_packet(dst_mac, src_mac, src, dst, body, hop_limit=64):
    """An ICMPv6 message with its checksum over the pseudo-header (RFC 8200 8.1)."""
    pseudo = ip6(src) + ip6(dst) + struct.pack("!I3xB", len(body), 58)
    body = body[:2] + struct.pack("!H", csum(pseudo + body[:2] + b"\0\0" + body[4:])) + body[4:]
    return ipv6_packet(dst_mac, src_mac, src, dst, 58, body, hop_limit)


def nd(typ, target, flags, opt_type, opt_mac):
    return struct.pack("!BBHB3x16s", typ, 0, 0, flags, ip6(target)) + struct.pack("!BB6s", opt_type, 1, bytes.fromhex(opt_mac.replace(":", "")))


def ns_for(target, src="2001:db8:1::11", src_mac=VM1):
    t = ip6(target)
    snm = "ff02::1:ff%02x:%02x%02x" % (t[13], t[14], t[15])
    return icmp6_packet("33:33:ff:%02x:%02x:%02x" % (t[13], t[14], t[15]), src_mac, src, snm, nd(135, target, 0, 1, src_mac), 255)


def na_from_gateway(target, to="2001:db8:1::11", to_mac=VM1, gw_mac=GW_WEB):
    return icmp6_packet(to_mac, gw_mac, target, to, nd(136, target, 0xE0, 2, gw_mac), 255)


def u6(dst_mac, src_mac, src, dst, hop_limit=64, sport=1000):
    return ipv6_packet(dst_mac, src_mac, src, dst, 17, udp_header(sport, 2000, 26) + bytes(18), hop_limit)


def icmp6_error_for(frame, typ, src):
    """ICMPv6 error `typ` (code 0) from `src` quoting the whole (small) untagged packet, back to its sender."""
    orig = frame[14:14 + 40 + struct.unpack("!H", frame[18:20])[0]]
    dst = str(__import__("ipaddress").IPv6Address(orig[8:24]))
    return icmp6_packet(frame[6:12].hex(":"), frame[0:6].hex(":"), src, dst, struct.pack("!BBHI", typ, 0, 0, 0) + orig)


ECHO6 = struct.pack("!BBHHH", 128, 0, 0, 7, 1) + bytes(range(16))
ECHO6_REPLY = struct.pack("!BBHHH", 129, 0, 0, 7, 1) + bytes(range(16))
CASES.append({
    "name": "ipv6_nd_gateway",
    "about": "NS for gateway6 and for the gateway's EUI-64 link-local answered with NA (R, S, O; target link-layer = gateway_mac); ping6 to gateway6 answered",
    "topology": TOPOLOGY6,
    "in": {"p1": [ns_for(GW6_WEB), ns_for(GW_WEB_LL), icmp6_packet(GW_WEB, VM1, "2001:db8:1::11", GW6_WEB, ECHO6)]},
    "out": {"p1": [na_from_gateway(GW6_WEB), na_from_gateway(GW_WEB_LL),
                   icmp6_packet(VM1, GW_WEB, GW6_WEB, "2001:db8:1::11", ECHO6_REPLY)],
            "p2": [], "p3": [], "t4": []},
    "drops": {},
})
T6_EXPIRED = u6(GW_WEB, VM1, "2001:db8:1::11", "2001:db8:2::13", hop_limit=1, sport=1001)
T6_NOROUTE = u6(GW_WEB, VM1, "2001:db8:1::11", "2001:db8:9::1", sport=1002)
NS_77 = icmp6_packet("33:33:ff:00:00:77", GW_DB, GW6_DB, "ff02::1:ff00:77", nd(135, "2001:db8:2::77", 0, 1, GW_DB), 255)
CASES.append({
    "name": "ipv6_routed",
    "about": "IPv6 routed between networks: hop limit 64 -> 63, MACs rewritten; hop limit 1 answered with ICMPv6 time exceeded and no route with unreachable (from gateway6); unknown neighbour answered by a solicitation",
    "topology": TOPOLOGY6,
    "in": {"p1": [u6(GW_WEB, VM1, "2001:db8:1::11", "2001:db8:2::13"),
                  T6_EXPIRED, T6_NOROUTE,
                  u6(GW_WEB, VM1, "2001:db8:1::11", "2001:db8:2::77", sport=1003)]},
    "out": {"p3": [u6(VM3, GW_DB, "2001:db8:1::11", "2001:db8:2::13", hop_limit=63), NS_77],
            "t4": [tag(NS_77, 20)],
            "p1": [icmp6_error_for(T6_EXPIRED, 3, GW6_WEB), icmp6_error_for(T6_NOROUTE, 1, GW6_WEB)],
            "p2": []},
    "drops": {"p1": {"l3.route6.hop_limit_expired": 1, "l3.route6.no_route": 1, "l3.route6.neighbor_unresolved": 1}},
})

# Policy rules with IPv6 endpoints (issue 21 item 3): a rule denying web -> db by groups
# denies routed IPv6 between their VMs as it denies IPv4, while IPv6 from a VM outside the
# group (and switched IPv6 within web) passes; a rule naming IPv6 prefixes only denies its
# range. vm4 sits on the trunk, in db.
TOPOLOGY6_POLICY = TOPOLOGY6 + """  - {name: vm4, port: t4, network: db, mac: "02:00:00:00:02:04", ip: 10.0.2.14, allowed_addresses: ["2001:db8:2::100"]}
"""
VM4 = "02:00:00:00:02:04"
POLICY6 = """
policy:
  default: allow
  groups:
    - {name: webs, vms: [vm1]}
    - {name: dbs, vms: [vm3]}
  rules:
    - {name: web-db, from: webs, to: dbs, action: drop}
    - {name: range6, from: "2001:db8:1::/64", to: "2001:db8:2::100/126", action: drop}
"""
CASES.append({
    "name": "ipv6_policy",
    "about": "deny web -> db (groups) drops routed IPv6 vm1 -> vm3 as it drops IPv4; vm2 -> vm3 (not in the group) and vm1 -> vm2 (switched) pass; an IPv6-prefix rule drops vm2 -> vm4",
    "topology": TOPOLOGY6_POLICY,
    "extra": POLICY6,
    "in": {"p1": [u6(GW_WEB, VM1, "2001:db8:1::11", "2001:db8:2::13"),
                  u(GW_WEB, VM1, "10.0.1.11", "10.0.2.13", ident=1),
                  u6(VM2, VM1, "2001:db8:1::11", "2001:db8:1::12", sport=1001)],
           "p2": [u6(GW_WEB, VM2, "2001:db8:1::12", "2001:db8:2::13", sport=1002),
                  u6(GW_WEB, VM2, "2001:db8:1::12", "2001:db8:2::100", sport=1003)]},
    "out": {"p3": [u6(VM3, GW_DB, "2001:db8:1::12", "2001:db8:2::13", hop_limit=63, sport=1002)],
            "p2": [u6(VM2, VM1, "2001:db8:1::11", "2001:db8:1::12", sport=1001)],
            "p1": [], "t4": []},
    "drops": {"p1": {"policy.denied": 2}, "p2": {"policy.denied": 1}},
    "policy": {"upcalls_max": 5, "flows": 5},
})
