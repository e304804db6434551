"""Frame construction for the packet-level tests, written independently of the C++ code
(Python stdlib only), so that expected outputs are not produced by the code under test."""
import struct


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def ip(s):
    return bytes(int(x) for x in s.split("."))


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def eth(dst, src, etype, vlan=None):
    h = mac(dst) + mac(src)
    if vlan is not None:
        h += struct.pack("!HH", 0x8100, vlan)
    return h + struct.pack("!H", etype)


def pad(frame):
    return frame + bytes(max(0, 60 - len(frame)))


def ipv4_header(src, dst, proto, payload_len, ttl=64, tos=0, ident=1, bad_csum=False):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + payload_len, ident, 0, ttl, proto, 0, ip(src), ip(dst))
    c = csum(h) ^ (0xFFFF if bad_csum else 0)
    return h[:10] + struct.pack("!H", c) + h[12:]


def udp_packet(dst_mac, src_mac, src, dst, sport=1000, dport=2000, ttl=64, vlan=None, payload=18, ident=1, bad_csum=False, tos=0):
    u = struct.pack("!HHHH", sport, dport, 8 + payload, 0) + bytes(payload)
    return pad(eth(dst_mac, src_mac, 0x0800, vlan) + ipv4_header(src, dst, 17, len(u), ttl, tos=tos, ident=ident, bad_csum=bad_csum) + u)


def icmp_echo(dst_mac, src_mac, src, dst, typ=8, ident=7, seq=1, ttl=64, vlan=None):
    body = struct.pack("!BBHHH", typ, 0, 0, ident, seq) + bytes(range(16))
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    return pad(eth(dst_mac, src_mac, 0x0800, vlan) + ipv4_header(src, dst, 1, len(body), ttl) + body)


def arp(dst_mac, src_mac, op, sha, spa, tha, tpa, vlan=None):
    a = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, mac(sha), ip(spa), mac(tha), ip(tpa))
    return pad(eth(dst_mac, src_mac, 0x0806, vlan) + a)


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1, i, len(fr), len(fr)))
            f.write(fr)


def read_pcap(path):
    frames = []
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return frames
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames


def tag(frame, vlan):
    """What a switch emits on a trunk: the (already padded) untagged frame with an 802.1Q tag inserted."""
    return frame[:12] + struct.pack("!HH", 0x8100, vlan) + frame[12:]


def tcp_packet(dst_mac, src_mac, src, dst, sport, dport, flags, seq=1000, ack=0, ttl=64, payload=b"", window=65535):
    """IPv4/TCP with a valid TCP checksum (pseudo-header included)."""
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, window, 0, 0)
    pseudo = ip(src) + ip(dst) + struct.pack("!BBH", 0, 6, len(hdr) + len(payload))
    c = csum(pseudo + hdr + payload)
    hdr = hdr[:16] + struct.pack("!H", c) + hdr[18:]
    seg = hdr + payload
    return pad(eth(dst_mac, src_mac, 0x0800) + ipv4_header(src, dst, 6, len(seg), ttl, ident=0) + seg)


def ipv4_fragment(dst_mac, src_mac, src, dst, proto, part, ident, offset, more):
    """One IPv4 fragment: `part` is its share of the datagram's payload, at `offset`
    8-octet units, MF = `more`; header checksum valid."""
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(part), ident, offset | (0x2000 if more else 0), 64, proto, 0, ip(src), ip(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return pad(eth(dst_mac, src_mac, 0x0800) + h + part)


def ip6(s):
    import ipaddress
    return ipaddress.IPv6Address(s).packed


def ipv6_packet(dst_mac, src_mac, src, dst, next_header, payload, hop_limit=64):
    """IPv6: fixed header + `payload` (extension headers and upper layer as given)."""
    h = struct.pack("!IHBB16s16s", 6 << 28, len(payload), next_header, hop_limit, ip6(src), ip6(dst))
    return pad(eth(dst_mac, src_mac, 0x86DD) + h + payload)


def ipv6_ext(next_header, length=0):
    """An options-style extension header (Hop-by-Hop, Destination Options, Routing...):
    (length + 1) * 8 octets, Next Header `next_header`, one PadN option."""
    n = (length + 1) * 8
    return struct.pack("!BBBB", next_header, length, 1, n - 4) + bytes(n - 4)


def ipv6_frag(next_header, offset, more, ident):
    return struct.pack("!BBHI", next_header, 0, (offset << 3) | (1 if more else 0), ident)


def tcp_header(sport, dport, flags, seq=1000):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0)


def udp_header(sport, dport, length):
    return struct.pack("!HHHH", sport, dport, length, 0)
