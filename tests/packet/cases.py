"""Packet-level cases: config + input frames per port -> expected frames per port and
expected drop counters. Every port of a case is a pcap port (rx from in-<port>.pcap,
tx to out-<port>.pcap). Frames are compared as multisets per port (order between
different output ports is not defined)."""
from frames import arp, icmp_echo, tag, tcp_packet, udp_packet

VM1, VM2, VM3 = "02:00:00:00:01:01", "02:00:00:00:01:02", "02:00:00:00:02:03"
GW_WEB, GW_DB = "02:49:56:00:00:0a", "02:49:56:00:00:14"  # default gateway MACs of VLAN 10 / 20
BCAST = "ff:ff:ff:ff:ff:ff"
UNKNOWN = "02:00:00:00:09:09"

TOPOLOGY = """
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1}
  - {name: db, vlan: 20, subnet: 10.0.2.0/24, gateway: 10.0.2.1}
vms:
  - {name: vm1, port: p1, mac: "02:00:00:00:01:01", ip: 10.0.1.11}
  - {name: vm2, port: p2, mac: "02:00:00:00:01:02", ip: 10.0.1.12}
  - {name: vm3, port: p3, mac: "02:00:00:00:02:03", ip: 10.0.2.13}
"""
PORTS = {"p1": "network: web", "p2": "network: web", "p3": "network: db", "t4": "trunk: [web, db]"}


def u(dst, src, sip, dip, **kw):
    return udp_packet(dst, src, sip, dip, **kw)


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
                "p1": [], "p2": []},
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
