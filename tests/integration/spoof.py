#!/usr/bin/env python3
"""Sends the frames a misbehaving VM would send, raw, out of an interface (AF_PACKET), with
correct checksums, COUNT times (default 3), 0.1 s apart. Used by the port-security suite.

  spoof.py synack IFACE SRC_MAC DST_MAC SRC_IP SPORT DST_IP DPORT  a TCP SYN-ACK "from" SRC_IP
  spoof.py arp    IFACE SRC_MAC SENDER_IP TARGET_IP                 a gratuitous ARP reply claiming SENDER_IP
  spoof.py ra     IFACE SRC_MAC                                     an IPv6 router advertisement (lifetime 1800 s)
  spoof.py dhcp   IFACE SRC_MAC SRC_IP                              a DHCP server message (UDP 67 -> 68, broadcast)
  spoof.py udp    IFACE SRC_MAC DST_MAC SRC_IP DST_IP               a UDP datagram from any address
options: --count N
"""
import socket
import struct
import sys
import time


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def l4_csum_v4(src, dst, proto, seg):
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, proto, len(seg))
    return csum(pseudo + seg)


def link_local(m):
    b = mac(m)
    return bytes([0xFE, 0x80] + [0] * 6 + [b[0] ^ 2, b[1], b[2], 0xFF, 0xFE, b[3], b[4], b[5]])


def frames(argv):
    kind, iface = argv[0], argv[1]
    if kind == "synack":
        src_mac, dst_mac, sip, sport, dip, dport = argv[2], argv[3], argv[4], int(argv[5]), argv[6], int(argv[7])
        tcp = struct.pack("!HHIIBBHHH", sport, dport, 1000, 1, 5 << 4, 0x12, 64240, 0, 0)
        tcp = tcp[:16] + struct.pack("!H", l4_csum_v4(sip, dip, 6, tcp)) + tcp[18:]
        return iface, mac(dst_mac) + mac(src_mac) + b"\x08\x00" + ipv4(sip, dip, 6, tcp)
    if kind == "arp":
        src_mac, spa, tpa = argv[2], argv[3], argv[4]
        arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, mac(src_mac), socket.inet_aton(spa),
                          b"\xff" * 6, socket.inet_aton(tpa))
        return iface, b"\xff" * 6 + mac(src_mac) + b"\x08\x06" + arp
    if kind == "ra":
        src_mac = argv[2]
        src, dst = link_local(src_mac), socket.inet_pton(socket.AF_INET6, "ff02::1")
        # type 134, code 0, checksum, hop limit 64, flags 0, router lifetime 1800 s, reachable, retrans;
        # a source link-layer address option with the sender's MAC.
        body = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0) + struct.pack("!BB6s", 1, 1, mac(src_mac))
        pseudo = src + dst + struct.pack("!I3xB", len(body), 58)
        body = body[:2] + struct.pack("!H", csum(pseudo + body)) + body[4:]
        ip6 = struct.pack("!IHBB16s16s", 0x60000000, len(body), 58, 255, src, dst)
        return iface, b"\x33\x33\x00\x00\x00\x01" + mac(src_mac) + b"\x86\xdd" + ip6 + body
    if kind == "dhcp":
        src_mac, sip = argv[2], argv[3]
        payload = bytes([2, 1, 6, 0]) + b"\0" * 232 + b"\x63\x82\x53\x63" + bytes([53, 1, 2, 255])  # a DHCPOFFER
        udp = struct.pack("!HHHH", 67, 68, 8 + len(payload), 0) + payload
        udp = udp[:6] + struct.pack("!H", l4_csum_v4(sip, "255.255.255.255", 17, udp)) + udp[8:]
        return iface, b"\xff" * 6 + mac(src_mac) + b"\x08\x00" + ipv4(sip, "255.255.255.255", 17, udp)
    if kind == "udp":
        src_mac, dst_mac, sip, dip = argv[2], argv[3], argv[4], argv[5]
        udp = struct.pack("!HHHH", 4000, 4001, 8 + 18, 0) + b"x" * 18
        udp = udp[:6] + struct.pack("!H", l4_csum_v4(sip, dip, 17, udp)) + udp[8:]
        return iface, mac(dst_mac) + mac(src_mac) + b"\x08\x00" + ipv4(sip, dip, 17, udp)
    sys.exit(__doc__)


def main():
    argv, count = sys.argv[1:], 3
    if "--count" in argv:
        i = argv.index("--count")
        count = int(argv[i + 1])
        del argv[i:i + 2]
    if len(argv) < 2:
        sys.exit(__doc__)
    iface, frame = frames(argv)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for i in range(count):
        s.send(frame)
        if i + 1 < count:
            time.sleep(0.1)
    print(f"sent {count} x {argv[0]} ({len(frame)} bytes) on {iface}")


if __name__ == "__main__":
    main()
