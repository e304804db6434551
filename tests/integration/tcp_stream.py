#!/usr/bin/env python3
"""A TCP stream whose server side records how many bytes arrived in each second, so a
test can see a connection stop (or keep) moving data at a given moment.

  tcp_stream.py server PORT SECONDS OUT   # accept one connection; OUT gets one line per second: bytes,
                                          # OUT.stall the longest pause between two receives (s)
  tcp_stream.py client HOST PORT SECONDS  # send as fast as possible for SECONDS (exit 0 even if cut)
"""
import socket
import sys
import time


def server(port, seconds, out):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(1)
    s.settimeout(seconds + 5)
    conn, _ = s.accept()
    conn.settimeout(0.2)
    start = time.time()
    per_second = [0] * seconds
    last = None
    stall = 0.0
    while time.time() - start < seconds:
        try:
            data = conn.recv(65536)
            if not data:
                break
            now = time.time()
            if last is not None:
                stall = max(stall, now - last)
            last = now
            per_second[min(seconds - 1, int(now - start))] += len(data)
        except socket.timeout:
            pass
        except OSError:
            break
    with open(out, "w") as f:
        f.write("\n".join(str(b) for b in per_second) + "\n")
    with open(out + ".stall", "w") as f:
        f.write(f"{stall:.3f}\n")


def client(host, port, seconds):
    c = socket.create_connection((host, port), timeout=3)
    c.settimeout(0.5)
    buf = b"x" * 16384
    end = time.time() + seconds
    while time.time() < end:
        try:
            c.send(buf)
        except socket.timeout:
            continue
        except OSError:
            break
    c.close()


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
