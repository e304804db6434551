#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into tests/fuzz/corpus/<target>/ (run once;
the files are committed). Seeds are small, valid or nearly valid inputs that reach deep:
the fuzzers mutate from there. Deterministic: the same files every run.

usage: make_corpus.py   (from anywhere; writes next to this script)
"""
import hashlib
import json
import os
import random
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")
CONFIG_DIR = os.path.join(HERE, "..", "config")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- frames -----------------------------------------------------------------------------

def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def ip6(s):
    import ipaddress
    return ipaddress.IPv6Address(s).packed


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


VM1, VM2 = mac("02:00:00:00:01:01"), mac("02:00:00:00:01:02")


def eth(payload, etype, vlan=None, dst=VM2, src=VM1):
    h = dst + src
    if vlan is not None:
        h += struct.pack("!HH", 0x8100, vlan)
    return h + struct.pack("!H", etype) + payload


def ipv4(proto, l4, src="10.0.1.11", dst="10.0.1.12", ttl=64, tos=0, frag=0x4000, options=b"", ident=1, total=None):
    ihl = 5 + len(options) // 4
    tl = total if total is not None else ihl * 4 + len(l4)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, tl, ident, frag, ttl, proto, 0, ip4(src), ip4(dst)) + options
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + l4


def tcp(sport=40000, dport=5432, flags=0x02, seq=1000, ack=0, payload=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload


def udp(sport=40000, dport=53, payload=b"hello"):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp(typ=8, code=0, ident=7, seq=1, payload=b"ping"):
    h = struct.pack("!BBHHH", typ, code, 0, ident, seq) + payload
    return h[:2] + struct.pack("!H", csum(h)) + h[4:]


def ipv6(nh, payload, src="fd00::11", dst="fd00::12", hlim=64, tc=0):
    return struct.pack("!IHBB", (6 << 28) | (tc << 20), len(payload), nh, hlim) + ip6(src) + ip6(dst) + payload


def ext(nh, body=b"\0" * 6):  # hop-by-hop / destination options / routing: 8 bytes
    return struct.pack("!BB", nh, (len(body) + 2) // 8 - 1) + body


def frag6(nh, offset=0, more=False, ident=0x1234):
    return struct.pack("!BBHI", nh, 0, (offset << 3) | (1 if more else 0), ident)


def arp(op=1, sip="10.0.1.11", tip="10.0.1.12"):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + VM1 + ip4(sip) + b"\0" * 6 + ip4(tip)


def pad(f):
    return f + b"\0" * max(0, 60 - len(f))


def frames():
    t = tcp()
    yield "tcp_syn", pad(eth(ipv4(6, t), 0x0800))
    yield "tcp_ack_data", eth(ipv4(6, tcp(flags=0x18, ack=5, payload=b"x" * 40)), 0x0800)
    yield "tcp_rst", pad(eth(ipv4(6, tcp(flags=0x04)), 0x0800))
    yield "tcp_fin", pad(eth(ipv4(6, tcp(flags=0x11, ack=9)), 0x0800))
    yield "udp_dns", pad(eth(ipv4(17, udp()), 0x0800))
    yield "icmp_echo", pad(eth(ipv4(1, icmp()), 0x0800))
    yield "icmp_reply", pad(eth(ipv4(1, icmp(typ=0), src="10.0.1.12", dst="10.0.1.11"), 0x0800))
    yield "icmp_unreach", eth(ipv4(1, icmp(typ=3, code=3, payload=ipv4(17, udp())[:28])), 0x0800)
    yield "icmp_short", pad(eth(ipv4(1, b"\x08\x00"), 0x0800))
    yield "ipv4_options", pad(eth(ipv4(6, t, options=b"\x01\x01\x01\x00"), 0x0800))
    yield "ipv4_options_max", eth(ipv4(17, udp(), options=b"\x01" * 40), 0x0800)
    yield "ipv4_frag_first", eth(ipv4(17, udp(payload=b"a" * 32), frag=0x2000, ident=77), 0x0800)
    yield "ipv4_frag_later", pad(eth(ipv4(17, b"b" * 16, frag=0x0004, ident=77), 0x0800))
    yield "ipv4_frag_tiny", pad(eth(ipv4(6, b"\x9c\x40\x15\x38", frag=0x2000), 0x0800))
    yield "ipv4_gre", pad(eth(ipv4(47, b"\x00\x00\x08\x00" + ipv4(6, t)), 0x0800))
    yield "ipv4_total_short", pad(eth(ipv4(6, t, total=24), 0x0800))
    yield "ipv4_total_long", pad(eth(ipv4(6, t, total=1500), 0x0800))
    yield "ipv4_padded", eth(ipv4(17, udp(payload=b"")), 0x0800) + b"\0" * 30
    yield "vlan_tcp", pad(eth(ipv4(6, t), 0x0800, vlan=10))
    yield "vlan_prio0", pad(eth(ipv4(17, udp()), 0x0800, vlan=0x6000))
    yield "vlan_arp", pad(eth(arp(), 0x0806, vlan=20))
    yield "qinq", pad(eth(struct.pack("!HH", 10, 0x0800) + ipv4(6, t), 0x88A8, vlan=None))
    yield "vlan_stacked", pad(eth(struct.pack("!HH", 20, 0x0800) + ipv4(6, t), 0x8100, vlan=10))
    yield "arp_request", pad(eth(arp(), 0x0806, dst=b"\xff" * 6))
    yield "arp_reply", pad(eth(arp(op=2), 0x0806))
    yield "arp_bad_hlen", pad(eth(arp()[:4] + b"\x08\x04" + arp()[6:], 0x0806))
    yield "ipv6_tcp", eth(ipv6(6, t), 0x86DD)
    yield "ipv6_udp", eth(ipv6(17, udp(), tc=0xB8), 0x86DD)
    yield "ipv6_icmp_echo", eth(ipv6(58, icmp(typ=128)), 0x86DD)
    yield "ipv6_hbh_tcp", eth(ipv6(0, ext(6) + t), 0x86DD)
    yield "ipv6_dstopt_udp", eth(ipv6(60, ext(17) + udp()), 0x86DD)
    yield "ipv6_routing_tcp", eth(ipv6(43, ext(6, b"\0\0" + b"\0" * 4 + ip6("fd00::99")[:0]) + t), 0x86DD)
    yield "ipv6_chain3", eth(ipv6(0, ext(60) + ext(43) + ext(6) + t), 0x86DD)
    yield "ipv6_frag_first", eth(ipv6(44, frag6(6, 0, True) + t), 0x86DD)
    yield "ipv6_frag_later", eth(ipv6(44, frag6(6, 3, False) + b"c" * 24), 0x86DD)
    yield "ipv6_frag_atomic", eth(ipv6(44, frag6(17, 0, False) + udp()), 0x86DD)
    yield "ipv6_ext_len_long", eth(ipv6(0, struct.pack("!BB", 6, 200) + b"\0" * 6 + t), 0x86DD)
    yield "ipv6_no_next", eth(ipv6(59, b""), 0x86DD)
    yield "ipv6_esp", eth(ipv6(50, b"\0" * 16), 0x86DD)
    yield "ipv6_version4", eth(b"\x40" + ipv6(6, t)[1:], 0x86DD)
    yield "ipv6_payload_long", eth(ipv6(6, t)[:4] + b"\x05\xdc" + ipv6(6, t)[6:], 0x86DD)
    yield "vlan_ipv6_hbh", eth(ipv6(0, ext(17) + udp()), 0x86DD, vlan=10)
    yield "other_ethertype", pad(eth(b"\x01\x02\x03", 0x88CC))
    yield "runt", eth(b"", 0x0800)[:13]
    yield "jumbo_udp", eth(ipv4(17, udp(payload=b"j" * 8000)), 0x0800)


# --- targets ------------------------------------------------------------------------------

def packet_corpus():
    for name, f in frames():
        put("packet", name, struct.pack("!H", 0) + f)
    # Multi-segment: the first segment cut inside or right after the headers.
    for name, f in frames():
        for cut in (14, 18, 34, 54, 62, 74):
            if cut < len(f) and name in ("tcp_syn", "vlan_tcp", "ipv6_tcp", "ipv6_hbh_tcp", "ipv6_chain3", "ipv4_options", "icmp_echo", "ipv6_frag_first"):
                put("packet", "%s_seg%d" % (name, cut), struct.pack("!H", cut) + f)


def reject_corpus():
    for name, f in frames():
        if name.startswith(("tcp", "udp", "icmp", "ipv4", "vlan_tcp", "vlan_prio0", "ipv6_tcp")):
            put("reject", name, b"\x00\x00" + f)
            put("reject", name + "_tail64", b"\x40\x00" + f)
    put("reject", "tcp_syn_chained", b"\x80\x30" + pad(eth(ipv4(6, tcp()), 0x0800)))


def encap_input(frame, vxlan=False, version=2, session=1, vni=0, udp_port=4789, remote_ip=0xC0A86301, local_ip=0xC0A863FE,
                remote_mac=b"\x02\0\0\0\x09\x99", local_mac=b"\x02IV\0\xff\xff", orig_len=None, port=3, egress=False,
                time_ns=123456789, sequence=9, flow_hash=0x1234, headroom=128, tailroom=0, cut=None):
    """encap_fuzz's input: FuzzedDataProvider takes the frame from the front and every other
    field from the back, each integer's most significant byte last."""
    def be(v, n):
        return v.to_bytes(n, "big")
    params = b"".join([
        be(int(vxlan), 1), be(int(version == 3), 1), be(session, 2), be(vni, 3), be(udp_port - 1, 2),
        be(remote_ip, 4), be(local_ip, 4), remote_mac, local_mac,
        be(len(frame) if orig_len is None else orig_len, 4), be(port, 2), be(int(egress), 1), be(time_ns, 8),
        be(sequence, 4), be(flow_hash, 4), be(headroom // 2, 1), be(tailroom, 1), be(int(cut is not None), 1), be(cut or 0, 2),
    ])
    return frame + params[::-1]


def encap_corpus():
    fr = dict(frames())
    for name in ("tcp_syn", "vlan_tcp", "ipv6_tcp", "runt", "jumbo_udp", "udp_dns", "arp_request"):
        f = fr[name]
        put("encap", name + "_erspan2", encap_input(f, session=77))
        put("encap", name + "_erspan3", encap_input(f, version=3, egress=True, orig_len=len(f) + 100))
        put("encap", name + "_vxlan", encap_input(f, vxlan=True, vni=4242, flow_hash=0xDEADBEEF))
    put("encap", "no_headroom", encap_input(fr["tcp_syn"], headroom=48))
    put("encap", "chain", encap_input(fr["udp_dns"], cut=30))
    # Regression (found by this target): a tagged frame in a chain whose first segment ends
    # before the ethertype (byte 10): ERSPAN II read bytes 12-13 past the segment's data.
    put("encap", "regress_tag_in_second_segment", encap_input(fr["vlan_tcp"], cut=10))
    put("encap", "empty", encap_input(b""))


def filter_corpus():
    exprs = [
        "tcp port 80", "udp and dst port 53", "icmp", "icmp[icmptype] == icmp-echo", "vlan 10 and tcp",
        "ip6", "ip6 and tcp port 22", "tcp[tcpflags] & tcp-syn != 0", "net 10.0.0.0/8", "src host 10.0.1.11",
        "ether host 02:00:00:00:01:01", "ether broadcast", "len > 100", "ip[1] & 0xfc == 0xb8", "arp",
        "portrange 1000-2000", "not (tcp or udp)", "ip proto 47", "ip6 proto 58", "greater 64 and less 1500",
        "tcp and (port 5432 or port 22)", "vlan and udp", "ip[6:2] & 0x1fff != 0", "udp[8:4] = 0x49564348",
        "ether[12:2] = 0x8100", "ip6[6] = 0", "host 10.0.1.11 and not port 22", "ip multicast", "",
    ]
    for i, e in enumerate(exprs):
        put("filter", "expr%02d" % i, e)
    # With a frame of their own (after a NUL).
    fr = dict(frames())
    for i, (e, f) in enumerate([("tcp port 5432", fr["tcp_syn"]), ("vlan 10", fr["vlan_tcp"]), ("ip6 and tcp", fr["ipv6_tcp"]),
                                ("udp port 53", fr["ipv4_frag_later"]), ("icmp", fr["icmp_echo"]), ("tcp[13] & 2 != 0", fr["tcp_syn"]),
                                ("ip[0] & 0xf > 5", fr["ipv4_options"]), ("len >= 60", fr["runt"])]):
        put("filter", "frame%02d" % i, e.encode() + b"\0" + f)
    # Regression (found by this target): DPDK's JIT crashed on programs with a jset.
    put("filter", "regress_jset_multicast", b"multicast\0" + fr["tcp_syn"])
    put("filter", "regress_jset_not_multicast", "ether[0] & 1 = 0")


def channel_frame(vlan, src_mac, dst_mac, src_ip, dst_ip, typ, flags, ident, seq, reply_to, payload, sport=7077, dport=7077):
    hdr = b"IVCH" + bytes([1, typ, flags, 0]) + struct.pack("!III", ident, seq, reply_to)
    u = struct.pack("!HHHH", sport, dport, 8 + len(hdr) + len(payload), 0) + hdr + payload
    return eth(ipv4(17, u, src=src_ip, dst=dst_ip, frag=0x4000), 0x0800, vlan=vlan, dst=dst_mac, src=src_mac)


CHAN_MAC, AGENT1, AGENT2 = mac("02:49:56:ff:ff:fe"), mac("02:00:00:00:a1:01"), mac("02:00:00:00:a1:02")


def channel_frame_corpus():
    a1 = dict(vlan=3001, src_mac=AGENT1, dst_mac=CHAN_MAC, src_ip="169.254.77.11", dst_ip="169.254.77.1")
    a2 = dict(vlan=3002, src_mac=AGENT2, dst_mac=CHAN_MAC, src_ip="169.254.77.12", dst_ip="169.254.77.1")
    put("channel_frame", "data_vm1", channel_frame(**a1, typ=1, flags=0, ident=101, seq=5, reply_to=0, payload=b"status ok"))
    put("channel_frame", "data_ack_vm2", channel_frame(**a2, typ=1, flags=1, ident=102, seq=9, reply_to=0, payload=b"{\"x\":1}"))
    put("channel_frame", "reply_vm1", channel_frame(**a1, typ=1, flags=0, ident=101, seq=6, reply_to=1, payload=b"answer"))
    put("channel_frame", "ack_vm2", channel_frame(**a2, typ=2, flags=0, ident=102, seq=1, reply_to=0, payload=b""))
    put("channel_frame", "wrong_id", channel_frame(**a1, typ=1, flags=0, ident=102, seq=5, reply_to=0, payload=b"x"))
    put("channel_frame", "bad_magic", channel_frame(**a1, typ=1, flags=0, ident=101, seq=5, reply_to=0, payload=b"x").replace(b"IVCH", b"IVCX"))
    put("channel_frame", "binary_payload", channel_frame(**a1, typ=1, flags=1, ident=101, seq=7, reply_to=0, payload=bytes(range(256))))
    put("channel_frame", "untagged", pad(eth(ipv4(17, udp(7077, 7077, b"IVCH")), 0x0800)))
    put("channel_frame", "short", channel_frame(**a1, typ=1, flags=0, ident=101, seq=5, reply_to=0, payload=b"")[:50])


def channel_message_corpus():
    reqs = [
        {"op": "listen"}, {"op": "listen", "vms": ["vm1"]}, {"op": "listen", "vms": ["vm1", "vm2"]}, {"op": "listen", "vms": ["nope"]},
        {"op": "listen", "vms": "vm1"}, {"op": "send", "vm": "vm1", "data": "hello"},
        {"op": "send", "id": 102, "data": "hi", "ack": True}, {"op": "send", "vm": "vm2", "data": "x", "tag": {"n": 1}},
        {"op": "send", "vm": "vm1", "data": "answer", "reply_to": 5}, {"op": "send", "vm": "vm1", "data": "a" * 1400},
        {"op": "send", "vm": "vm1", "data": "a" * 1401}, {"op": "send", "vm": "vm9", "data": "x"}, {"op": "send", "id": -1, "data": "x"},
        {"op": "send", "id": 4294967397, "data": "x"}, {"op": "send", "vm": "vm1"}, {"op": "send", "vm": "vm1", "data": 5},
        {"op": "send", "vm": "vm1", "data": "x", "ack": "yes"}, {"op": "what"}, {"op": 1}, [], 7,
    ]
    for i, r in enumerate(reqs):
        put("channel_message", "req%02d" % i, json.dumps(r))
    put("channel_message", "not_json", "{\"op\": \"send\", ")
    put("channel_message", "utf8", "{\"op\":\"send\",\"vm\":\"vm1\",\"data\":\"\u00e9\u4e2d\"}".encode("utf-8"))
    put("channel_message", "bad_utf8", b"{\"op\":\"send\",\"vm\":\"vm1\",\"data\":\"\xff\xfe\"}")


def control_corpus():
    reqs = [{"method": m} for m in ("show.ports", "show.fdb", "show.routes", "show.pmd", "show.stats", "show.flows", "show.policy",
                                    "show.chains", "show.qos", "show.mirrors", "show.channels", "list.methods", "policy.reload")]
    reqs += [
        {"method": "show.flows", "params": {"limit": 5}}, {"method": "show.flows", "params": {"limit": -1}},
        {"method": "show.qos", "params": {"limit": "x"}},
        {"method": "trace", "params": {"description": "port=vm1 src=10.0.1.11 dst=10.0.2.13 proto=tcp sport=40000 dport=5432 flags=S"}},
        {"method": "trace", "params": {"description": "port=vm1 src=10.0.1.11 dst=10.0.2.13 proto=tcp dport=22"}},
        {"method": "trace", "params": {"description": "port=vm2 src=10.0.1.12 dst=10.0.1.11 proto=udp dport=53 dscp=EF len=100"}},
        {"method": "trace", "params": {"description": "port=up vlan=20 src=10.0.2.99 dst=10.0.2.1 proto=icmp icmp_type=8 ttl=1"}},
        {"method": "trace", "params": {"description": "port=vm1 src=10.0.1.11 dst=10.0.1.1 proto=icmp src_mac=02:00:00:00:01:01 dst_mac=ff:ff:ff:ff:ff:ff"}},
        {"method": "trace", "params": {"description": "port=vm1 src=10.0.1.11 dst=8.8.8.8 proto=tcp ecn=3 dscp=63"}},
        {"method": "trace", "params": {"description": "port=nope src=1.2.3.4"}}, {"method": "trace", "params": {"description": "garbage"}},
        {"method": "trace", "params": {"description": 5}},
        {"method": "mirror.add", "params": {"name": "m1", "taps": ["vm2"], "tools": [{"port": "ids"}]}},
        {"method": "mirror.add", "params": {"name": "m2", "taps": [{"port": "vm1", "direction": "both"}], "filter": "udp port 53",
                                           "snaplen": 128, "sample": 2, "tools": [{"port": "ids"}]}},
        {"method": "mirror.add", "params": {"name": "m3", "taps": [{"flows": {"from": "vm1", "to": "vm3", "protocol": "tcp"}}],
                                           "tools": [{"erspan": {"remote_ip": "10.0.2.13", "local_ip": "10.0.2.1", "port": "ids", "version": 3}}]}},
        {"method": "mirror.add", "params": {"name": "m4", "taps": ["vm1"], "tools": [{"vxlan": {"remote_ip": "10.0.2.13", "local_ip": "10.0.2.1", "port": "ids", "vni": 5}}]}},
        {"method": "mirror.add", "params": {"name": "m5", "taps": ["vm1"], "filter": "tcp[", "tools": [{"port": "ids"}]}},
        {"method": "mirror.add", "params": {"name": "web-in", "taps": ["vm1"], "tools": [{"port": "ids"}]}},
        {"method": "mirror.add", "params": [1, 2]}, {"method": "mirror.del", "params": {"name": "web-in"}},
        {"method": "mirror.del", "params": {"name": "none"}}, {"method": "mirror.del", "params": {"name": 3}},
        {"method": "nope"}, {"method": 5}, {"params": {}}, {"method": "show.ports", "params": "x"},
    ]
    for i, r in enumerate(reqs):
        put("control", "req%02d" % i, json.dumps(r))
    put("control", "not_json", "{\"method\": ")
    put("control", "bad_utf8", b"{\"method\": \"\xff\"}")


def config_corpus():
    for root, _, files in os.walk(CONFIG_DIR):
        for fn in sorted(files):
            if fn.endswith(".yaml"):
                rel = os.path.relpath(os.path.join(root, fn), CONFIG_DIR).replace("/", "_")
                shutil.copyfile(os.path.join(root, fn), os.path.join(OUT, "config", rel))
    base = """ports:
  - {name: vm1, type: discard, network: web}
  - {name: vm2, type: discard, network: web}
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1}
vms:
  - {name: vm1, port: vm1, mac: "02:00:00:00:01:01", ip: 10.0.1.11}
"""
    snippets = {
        "policy": "policy:\n  default: drop\n  rules:\n    - {name: a, from: vm1, to: web, protocol: tcp, ports: [22, 80-90], action: allow}\n    - {name: b, protocol: icmp, action: reject}\n",
        "qos": "qos:\n  assign:\n    - {name: v, from: vm1, dscp: EF}\n",
        "mirror": "mirrors:\n  - name: m\n    taps: [vm1, {port: vm2, direction: rx}]\n    filter: tcp port 80\n    snaplen: 128\n    tools: [{port: vm2}]\n",
        "channels": "channels:\n  map:\n    - {vm: vm1, id: 101, vlan: 3001, agent_mac: \"02:00:00:00:a1:01\", agent_ip: 169.254.77.11}\n",
        "flows": "flows:\n  table_size: 4096\n",
        "vms_null": "vms: [~]\n",
        "vms_scalar": "vms: [5]\n",
        "vms_list": "vms: [[a]]\n",
        "vms_dangling": "vms:\n  -\n",
    }
    for name, s in snippets.items():
        put("config", "snippet_" + name + ".yaml", (base if not name.startswith("vms_") else base.split("vms:")[0]) + s)


# --- dictionaries (libFuzzer -dict): words the parsers compare against --------------------

def dicts():
    import glob
    import re
    words = set()
    for f in glob.glob(os.path.join(HERE, "..", "..", "src", "config", "*.cpp")):
        words |= set(re.findall(r'"([a-z_][a-z_0-9.-]*)"', open(f).read()))
    yaml_tokens = ["- ", ": ", "\n", "\n  ", "\n  - ", "{", "}", "[", "]", ", ", "~", "null", "true", "false", "&a ", "*a", "!!str ",
                   "---", "...", "\"", "'", "|", ">", "#", "<<: ", "10.0.1.0/24", "10.0.1.11", "02:00:00:00:01:01", "EF", "AF21"]
    write_dict("config", sorted(words) + yaml_tokens)
    write_dict("control", ["method", "params", "result", "error", "description", "limit", "name", "taps", "tools", "filter",
                           "snaplen", "sample", "dedup", "flows", "direction", "erspan", "vxlan", "pcapng", "group", "port",
                           "show.ports", "show.fdb", "show.routes", "show.pmd", "show.stats", "show.flows", "show.policy",
                           "show.chains", "show.qos", "show.mirrors", "show.channels", "mirror.add", "mirror.del",
                           "policy.reload", "trace", "list.methods", "port=", "src=", "dst=", "proto=", "sport=", "dport=",
                           "flags=", "src_mac=", "dst_mac=", "vlan=", "ttl=", "dscp=", "ecn=", "icmp_type=", "len=", "vm1", "vm2",
                           "vm3", "up", "ids", "10.0.1.11", "10.0.2.13", "tcp", "udp", "icmp"])
    write_dict("channel_message", ["op", "send", "listen", "vm", "vms", "id", "data", "ack", "tag", "reply_to", "vm1", "vm2",
                                   "101", "102", "true", "false", "null", "4294967296", "-1", "1e3", "\\u0000"])
    write_dict("filter", ["tcp", "udp", "icmp", "icmp6", "ip", "ip6", "arp", "rarp", "vlan", "mpls", "pppoes", "geneve", "ether",
                          "host", "net", "port", "portrange", "src", "dst", "and", "or", "not", "proto", "len", "greater", "less",
                          "broadcast", "multicast", "gateway", "mask", "tcpflags", "tcp-syn", "tcp-ack", "icmptype",
                          "icmp-echo", "[", "]", "(", ")", " & ", " | ", " == ", " != ", " >> ", "0x", "10.0.0.0/8",
                          "02:00:00:00:01:01", "::1", "fd00::/8", ":2", ":4"])


def write_dict(target, words):
    d = os.path.join(HERE, "dict")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, target + ".dict"), "w") as f:
        f.write("# libFuzzer dictionary for %s_fuzz (written by make_corpus.py)\n" % target)
        for w in words:  # libFuzzer's escapes: \\, \" and \xHH
            f.write('"%s"\n' % "".join(c if " " <= c <= "~" and c not in '"\\' else "\\x%02X" % ord(c) for c in w))


def main():
    dicts()
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(os.path.join(OUT, "config"))
    packet_corpus()
    reject_corpus()
    encap_corpus()
    filter_corpus()
    channel_frame_corpus()
    channel_message_corpus()
    control_corpus()
    config_corpus()
    for t in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, t))
        size = sum(os.path.getsize(os.path.join(OUT, t, f)) for f in files)
        print("%-16s %3d files %7d bytes" % (t, len(files), size))


if __name__ == "__main__":
    sys.exit(main())
