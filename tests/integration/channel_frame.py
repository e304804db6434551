#!/usr/bin/env python3
"""Send hand-made host-VM channel frames out of an interface (AF_PACKET), as an attacker
inside a VM (root there) could: any VLAN, addresses, metadata id. Used by channel_test.sh.

  channel_frame.py IFACE --vlan N --src-mac M --dst-mac M --src-ip A --dst-ip A
                   [--sport N] [--dport N] [--id N] [--count N] [--text T]
--vlan 0 sends the frame untagged."""
import argparse
import socket
import struct


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(a, seq: int) -> bytes:
    payload = b"IVCH" + bytes([1, 1, 0, 0]) + struct.pack("!III", a.id, seq, 0) + a.text.encode()
    udp_len = 8 + len(payload)
    src, dst = socket.inet_aton(a.src_ip), socket.inet_aton(a.dst_ip)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", a.sport, a.dport, udp_len, 0) + payload
    udp = udp[:6] + struct.pack("!H", csum(pseudo + udp) or 0xFFFF) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, seq & 0xFFFF, 0x4000, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    mac = lambda m: bytes.fromhex(m.replace(":", ""))
    eth = mac(a.dst_mac) + mac(a.src_mac)
    if a.vlan:
        eth += struct.pack("!HH", 0x8100, a.vlan)
    return eth + struct.pack("!H", 0x0800) + ip + udp


def main():
    p = argparse.ArgumentParser()
    p.add_argument("iface")
    p.add_argument("--vlan", type=int, default=0)
    p.add_argument("--src-mac", required=True)
    p.add_argument("--dst-mac", required=True)
    p.add_argument("--src-ip", required=True)
    p.add_argument("--dst-ip", required=True)
    p.add_argument("--sport", type=int, default=40000)
    p.add_argument("--dport", type=int, default=7077)
    p.add_argument("--id", type=int, default=1)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--text", default="attack")
    a = p.parse_args()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    for i in range(a.count):
        s.send(frame(a, 1000 + i))


if __name__ == "__main__":
    main()
