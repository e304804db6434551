#!/usr/bin/env python3
"""A flood of new flows: UDP datagrams to HOST, each to the next destination port (and a
new source port every 65535), as fast as one socket can send, for SECONDS. Prints how many
datagrams it sent.

  udp_flood.py HOST SECONDS
"""
import socket
import sys
import time


def main():
    host, seconds = sys.argv[1], float(sys.argv[2])
    payload = b"x" * 18
    sent = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a new source port per round
        for port in range(1, 65536):
            try:
                s.sendto(payload, (host, port))
                sent += 1
            except OSError:  # ENOBUFS / EAGAIN under the flood: skip, go on
                pass
            if port % 1024 == 0 and time.monotonic() >= deadline:
                break
        s.close()
    print(f"sent {sent} datagrams to {host} in {seconds:.0f} s, each a new flow")


if __name__ == "__main__":
    main()
