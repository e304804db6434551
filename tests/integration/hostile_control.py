#!/usr/bin/env python3
"""The control plane against hostile and careless input, through the real daemon on
pcap and discard ports (no namespaces). Run by hostile_control_test.sh; prints one line
per check and 'hostile: N passed, M failed'. Every daemon it starts is stopped by PID.

usage: hostile_control.py BUILD_DIR
"""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "packet"))
from frames import udp_packet, write_pcap  # noqa: E402

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/release")
WORK = tempfile.mkdtemp(prefix="ivs-hostile-")
SOCK = os.path.join(WORK, "ctl.sock")
CHSOCK = os.path.join(WORK, "channel.sock")
MPORT = 20000 + os.getpid() % 20000
INSTANCE = f"hostile{os.getpid()}"
N_FLOWS = 150000  # revalidating them takes ~10 ms: longer than a 5 ms poll
RESULTS = []
DAEMONS = []  # every ivswitchd started: stopped by PID at the end


def check(name, fn):
    try:
        why = fn()
    except Exception as e:  # a crash of a check is its failure
        why = f"{type(e).__name__}: {e}"
    RESULTS.append((name, why))
    print(("ok   " if not why else "FAIL ") + name + ("" if not why else f"\n     {why}"), flush=True)


def config(extra_switch="", cores=None, extra=""):
    sw = f"instance: {INSTANCE}, control_socket: {SOCK}, metrics_address: '127.0.0.1:{MPORT}', hugepages: off"
    sw += ", control_limits: {request_timeout_ms: 2000}, metrics_limits: {request_timeout_ms: 2000}"
    if cores is not None:
        sw += f", cores: [{cores}]"
    return f"""switch: {{{sw}{extra_switch}}}
ports:
  - {{name: a, type: pcap, rx_file: {WORK}/flows.pcap, tx_file: {WORK}/a-out.pcap, network: lan}}
  - {{name: b, type: discard, network: lan}}
networks:
  - {{name: lan, vlan: 10, subnet: 10.0.1.0/24}}
vms:
  - {{name: vm1, port: a, mac: "02:00:00:00:01:01", ip: 10.0.1.11}}
  - {{name: vm2, port: b, mac: "02:00:00:00:01:02", ip: 10.0.1.12}}
flows: {{upcall_rate: 1000000}}
policy:
  default: allow
  rules:
    - {{name: web, protocol: tcp, ports: [80], action: allow}}
channels:
  socket: {CHSOCK}
  map:
    - {{vm: vm1, id: 101, vlan: 3001, agent_mac: "02:00:00:00:a1:01", agent_ip: 169.254.77.11}}
    - {{vm: vm2, id: 102, vlan: 3002, agent_mac: "02:00:00:00:a1:02", agent_ip: 169.254.77.12}}
{extra}"""


def ivctl(*args, timeout=10):
    return subprocess.run([os.path.join(BUILD, "ivctl"), "--socket", SOCK, *args], capture_output=True, text=True, timeout=timeout)


def start(cfg_text, name="switch.yaml"):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(cfg_text)
    log = open(os.path.join(WORK, "ivswitchd.log"), "a")
    d = subprocess.Popen([os.path.join(BUILD, "ivswitchd"), "--config", path], stdout=log, stderr=subprocess.STDOUT)
    DAEMONS.append(d)
    deadline = time.time() + 30
    while time.time() < deadline:
        if d.poll() is not None:
            raise RuntimeError(f"ivswitchd exited with {d.returncode}; see {log.name}")
        if os.path.exists(SOCK) and ivctl("show", "ports").returncode == 0:
            return d, path
        time.sleep(0.2)
    raise RuntimeError("ivswitchd did not answer within 30 s")


def stop(d, grace=15):
    if d.poll() is None:
        d.send_signal(signal.SIGTERM)
        try:
            d.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            d.kill()
            d.wait()
            return f"did not stop within {grace} s of SIGTERM"
    shutil.rmtree(f"/var/run/dpdk/ivs_{INSTANCE}", ignore_errors=True)
    return None


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def http(raw, unix=False, timeout=5):
    """Sends raw bytes, returns the whole answer (bytes)."""
    s = socket.socket(socket.AF_UNIX if unix else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(SOCK if unix else ("127.0.0.1", MPORT))
    try:
        s.sendall(raw)
    except OSError:  # the server answered and closed before taking it all: read the answer
        pass
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    return out


def rpc(body_obj_or_bytes):
    body = body_obj_or_bytes if isinstance(body_obj_or_bytes, bytes) else json.dumps(body_obj_or_bytes).encode()
    raw = b"POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    answer = http(raw, unix=True)
    head, _, payload = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head else 0
    return status, payload


def metrics_ok(timeout=2):
    t0 = time.time()
    a = http(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", timeout=timeout)
    return a.startswith(b"HTTP/1.1 200") and b"ivswitch_port_rx_packets_total" in a, time.time() - t0


def big_body(unix, declared, send_bytes):
    """A POST declaring `declared` bytes; sends up to send_bytes of it while watching for an
    early answer. Returns the answer's status line (or '' when none came)."""
    s = socket.socket(socket.AF_UNIX if unix else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(SOCK if unix else ("127.0.0.1", MPORT))
    path = b"/rpc" if unix else b"/metrics"
    s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (path, declared))
    chunk = bytes(1 << 20)
    sent, answer = 0, b""
    s.setblocking(False)
    while sent < send_bytes:
        try:
            answer += s.recv(65536)
            if answer:
                break
        except BlockingIOError:
            pass
        except OSError:
            break
        try:
            sent += s.send(chunk)
        except BlockingIOError:
            time.sleep(0.01)
        except OSError:
            break
    s.settimeout(3)
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            answer += b
    except OSError:
        pass
    s.close()
    return answer.split(b"\r\n")[0].decode(errors="replace"), answer


def main():
    frames = [udp_packet("02:00:00:00:01:02", "02:00:00:00:01:01", "10.0.1.11", "10.0.1.12", sport=1024 + i % 60000,
                         dport=2000 + i // 60000) for i in range(N_FLOWS)]
    write_pcap(os.path.join(WORK, "flows.pcap"), frames)
    cores = "1" if 1 in os.sched_getaffinity(0) else None

    # --- before any daemon: what the config check refuses -------------------------------------
    def ring_refused():
        p = os.path.join(WORK, "ring.yaml")
        with open(p, "w") as f:
            f.write("switch: {instance: %s, hugepages: off}\nports:\n  - {name: r, type: ring, network: lan}\n"
                    "networks:\n  - {name: lan, vlan: 10}\n" % INSTANCE)
        r = subprocess.run([os.path.join(BUILD, "ivswitchd"), "--check", "--config", p], capture_output=True, text=True, timeout=20)
        if r.returncode != 2 or f"{p}:3: ports[0]: type 'ring'" not in r.stderr:
            return f"--check rc {r.returncode}: {r.stdout}{r.stderr}"
    check("type: ring is refused at --check with FILE:LINE (it could never start)", ring_refused)

    def regular_file_not_replaced():
        victim = os.path.join(WORK, "precious.txt")
        with open(victim, "w") as f:
            f.write("keep")
        p = os.path.join(WORK, "victim.yaml")
        with open(p, "w") as f:
            f.write(config().replace(f"control_socket: {SOCK}", f"control_socket: {victim}"))
        r = subprocess.run([os.path.join(BUILD, "ivswitchd"), "--config", p], capture_output=True, text=True, timeout=30)
        shutil.rmtree(f"/var/run/dpdk/ivs_{INSTANCE}", ignore_errors=True)
        if not os.path.exists(victim) or open(victim).read() != "keep":
            return "the regular file named as control_socket was deleted"
        if r.returncode == 0 or "not a socket" not in r.stderr:
            return f"rc {r.returncode}: {r.stderr[-300:]}"
    check("a control_socket naming a regular file: refused, the file kept", regular_file_not_replaced)

    def capture_seconds():
        try:
            r = subprocess.run([os.path.join(BUILD, "ivctl"), "--socket", SOCK, "capture", "a", "--seconds", "-1"],
                               capture_output=True, text=True, timeout=5)
        except subprocess.TimeoutExpired:
            return "ivctl capture --seconds -1 ran on"
        if r.returncode == 0 or "seconds" not in r.stderr:
            return f"rc {r.returncode}: {r.stderr}"
        r = subprocess.run([os.path.join(BUILD, "ivctl"), "--socket", SOCK, "capture", "a", "--seconds", "nan"],
                           capture_output=True, text=True, timeout=5)
        if r.returncode == 0:
            return "--seconds nan accepted"
    check("ivctl capture --seconds -1 (or nan) is a usage error, not a capture that never ends", capture_seconds)

    d, cfg_path = start(config(cores=cores))
    pid = d.pid

    # --- item 4: bounded requests -----------------------------------------------------------
    def large_posts():
        before = rss_kb(pid)
        status, answer = big_body(False, 1 << 30, 256 << 20)
        if "413" not in status:
            return f"POST /metrics of 1 GiB: {status!r}"
        status, answer = big_body(True, 1 << 30, 256 << 20)
        if "413" not in status or b"over the" not in answer:
            return f"POST /rpc of 1 GiB: {status!r} {answer[-200:]!r}"
        chunked = http(b"POST /rpc HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + b"100000\r\n" + bytes(1 << 20) * 3,
                       unix=True)
        if not chunked.startswith(b"HTTP/1.1 411"):
            return f"chunked POST: {chunked[:80]!r}"
        headers = b"GET /metrics HTTP/1.1\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"y" * 4000) for i in range(2000)) + b"\r\n"
        try:
            a = http(headers)
        except OSError:
            a = b""
        if a.startswith(b"HTTP/1.1 200"):
            return "8 MB of headers were read and answered"
        grown = rss_kb(pid) - before
        if grown > 32 * 1024:
            return f"the daemon grew by {grown} kB"
        ok, _ = metrics_ok()
        if not ok:
            return "/metrics does not answer afterwards"
    check("1 GiB POSTs get 413 at once (metrics and control), chunked 411, 8 MB of headers refused; memory flat", large_posts)

    def slow_senders():
        stop_flag = threading.Event()
        cut = {}

        def trickle(i, unix):
            s = socket.socket(socket.AF_UNIX if unix else socket.AF_INET, socket.SOCK_STREAM)
            s.connect(SOCK if unix else ("127.0.0.1", MPORT))
            req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200
            t0 = time.time()
            for b in req:
                if stop_flag.is_set():
                    break
                try:
                    s.send(bytes([b]))
                except OSError:
                    cut[(i, unix)] = time.time() - t0
                    break
                time.sleep(0.5)
            s.close()

        threads = [threading.Thread(target=trickle, args=(i, u)) for i in range(8) for u in (False, True)]
        for t in threads:
            t.start()
        time.sleep(1)
        try:
            ok, took = metrics_ok(timeout=3)
            if not ok or took > 1.9:  # under the 2 s deadline: not waiting for a sender to be cut
                return f"/metrics beside 8 slow senders: ok={ok} in {took:.1f} s"
            t0 = time.time()
            r = ivctl("show", "ports", timeout=5)
            if r.returncode != 0 or time.time() - t0 > 1.9:
                return f"ivctl beside 8 slow senders: rc {r.returncode} in {time.time() - t0:.1f} s: {r.stderr}"
            time.sleep(3.5)  # past the 2 s request deadline (+ slack): every slow sender is cut
            if len(cut) != 16:
                return f"{16 - len(cut)} of 16 slow senders still connected after the deadline"
            if max(cut.values()) > 4.5:
                return f"a slow sender was cut after {max(cut.values()):.1f} s (deadline 2 s)"
        finally:
            stop_flag.set()
            for t in threads:
                t.join()
    check("8 slow senders on each server: /metrics and ivctl answer at once; each sender cut at the 2 s deadline", slow_senders)

    def too_many_connections():
        idle = []
        try:
            for _ in range(24):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.settimeout(2)
                s.connect(("127.0.0.1", MPORT))
                idle.append(s)
            # The accepting thread answers every one beyond the bound at once (the listen
            # backlog holds all 24: BoundedServer::kBacklog). Look again until 8 are refused
            # or a served one is cut at its 2 s deadline (a slot freed: from then on a late
            # connection may rightly be served), at most 10 s.
            got, cut = set(), set()
            for s in idle:
                s.setblocking(False)
            until = time.monotonic() + 10
            while len(got) < 8 and not cut and time.monotonic() < until:
                for i, s in enumerate(idle):
                    if i in got or i in cut:
                        continue
                    try:
                        if s.recv(100).startswith(b"HTTP/1.1 503"):
                            got.add(i)
                        else:  # end of stream or another answer: a served connection cut
                            cut.add(i)
                    except BlockingIOError:
                        pass
                    except OSError:
                        cut.add(i)
                time.sleep(0.05)
            refused = len(got)
            if refused != 8:
                return (f"{refused} of 24 idle connections refused with 503, want 8 (16 served at once)"
                        f"{'; a served one was cut before the 8th refusal' if cut else ''}")
        finally:
            for s in idle:
                s.close()
        time.sleep(2.5)
        ok, _ = metrics_ok()
        if not ok:
            return "/metrics does not answer after the idle connections' deadline"
        m = http(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").decode(errors="replace")
        if not re.search(r'ivswitch_control_refused_total\{server="metrics",reason="busy"\} [1-9]', m):
            return "refusals not counted in /metrics"
    check("connections beyond 16 get 503 at once, counted in /metrics", too_many_connections)

    # --- item 12: sloppy answers on the control socket ---------------------------------------
    def sloppy_rpc():
        # The parser's message quotes the invalid bytes: the answer must still be JSON.
        status, body = rpc(b'{"method": "\xff\xfe", "params": {}}')
        if status != 200 or "request is not JSON" not in json.loads(body).get("error", ""):
            return f"invalid UTF-8 method: HTTP {status} {body!r}"
        cases = [
            ({"method": "show.flows", "params": {"limit": -3}}, "params.limit: expected an integer in 1..100000, got -3"),
            ({"method": "show.flows", "params": {"limit": 10**12}}, "params.limit: expected an integer in 1..100000"),
            ({"method": "show.flows", "params": {"limit": "ten"}}, 'params.limit: expected an integer in 1..100000, got "ten"'),
            ({"method": "show.qos", "params": {"limit": 1.5}}, "params.limit: expected an integer in 0..1000, got 1.5"),
            ({"method": "trace", "params": {"description": 5}}, "params.description: expected a string, got 5"),
            ({"method": "mirror.del", "params": {"name": ["x"]}}, "params.name: expected a string"),
            ({"method": "show.ports", "params": [1]}, "params: expected an object"),
        ]
        for req, want in cases:
            status, body = rpc(req)
            err = json.loads(body).get("error", "")
            if status != 200 or want not in err:
                return f"{req}: HTTP {status} {err!r}, want {want!r}"
    check("invalid UTF-8 method: a JSON error (not 500); type and range errors name the parameter", sloppy_rpc)

    def error_codes():
        # Every refusal answers one error type (common/error.hpp): "error" as before, plus a
        # code and, where there is one, the path of the parameter or config key.
        cases = [
            ({"method": "show.nothing"}, "unknown_method", None),
            ({"method": "show.flows", "params": {"limit": "ten"}}, "invalid_params", "params.limit"),
            ({"method": "show.flows", "params": {"limit": -3}}, "out_of_range", "params.limit"),
            ({"method": "trace", "params": {"description": "port=a src=10.0.1.11 dst=10.0.1.12 ttl=300"}}, "out_of_range",
             "params.description"),
            ({"method": "mirror.add", "params": {"name": "m", "taps": [{"port": "a"}], "tools": [{"port": "b"}], "snaplen": 5}},
             "invalid_config", "mirrors[0].snaplen"),
            ({"method": "mirror.del", "params": {"name": "nothing"}}, "not_found", "params.name"),
        ]
        for req, code, path in cases:
            status, body = rpc(req)
            a = json.loads(body)
            if status != 200 or a.get("code") != code or a.get("path") != path or not a.get("error"):
                return f"{req}: HTTP {status} {a}, want code {code} path {path}"
        r = ivctl("mirror", "del", "nothing")
        if r.returncode == 0 or "params.name: no mirror 'nothing'" not in r.stderr:
            return f"ivctl does not print the path: {r.stderr.strip()!r}"
    check("error answers carry a code and the parameter's or config key's path; ivctl prints the path", error_codes)

    def channel_socket():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(3)
        s.connect(CHSOCK)

        def ask(obj_or_bytes):
            s.send(obj_or_bytes if isinstance(obj_or_bytes, bytes) else json.dumps(obj_or_bytes).encode())
            return json.loads(s.recv(1 << 20))
        r = ask({"op": "send", "id": (1 << 32) + 101, "data": "x"})
        if r.get("op") != "error" or "no channel" not in r.get("error", ""):
            return f"id 2^32+101: {r} (would be delivered to id 101)"
        r = ask({"op": "send", "vm": "vm1", "data": "x", "reply_to": (1 << 32) + 5})
        if r.get("op") != "error" or "reply_to" not in r.get("error", ""):
            return f"reply_to 2^32+5: {r}"
        r = ask(b"")
        if r.get("op") != "error" or "empty" not in r.get("error", ""):
            return f"empty datagram: {r}"
        r = ask(json.dumps({"op": "send", "vm": "vm1", "data": "y" * 70000}).encode())
        if r.get("op") != "error" or "over the 65536 bytes" not in r.get("error", ""):
            return f"70 KB datagram: {r}"
        r = ask({"op": "send", "id": 101, "data": "ping"})  # still connected, and the real id works
        if r.get("op") != "sent" or r.get("vm") != "vm1":
            return f"after the bad requests: {r}"
        s.close()
        for big in ("4294967397", "99999999999999999999"):  # 2^32+101; over 64 bits
            r = ivctl("channel", "send", big, "ping", "--no-answer")
            if r.returncode != 2 or "out of range" not in r.stderr:
                return f"ivctl channel send {big}: rc {r.returncode} {r.stdout.strip()!r} {r.stderr.strip()!r}"
    check("channel socket: 64-bit id not cut to 32 bits (socket and ivctl), empty and 70 KB datagrams answered, client kept",
          channel_socket)

    # --- items 5, 6, 12: mirrors -------------------------------------------------------------
    def mirror_paths():
        victim = os.path.join(WORK, "victim.txt")
        with open(victim, "w") as f:
            f.write("precious")
        link = os.path.join(WORK, "link.pcapng")
        os.symlink(victim, link)
        os.mkdir(os.path.join(WORK, "adir"))
        bad = {
            "/proc/self/mem": "under /proc",
            os.path.join(WORK, "adir"): "not a regular file",
            os.path.join(WORK, "nofolder", "x.pcapng"): "does not exist",
            SOCK: "not a regular file",
            link: "symbolic link",
            "rel.pcapng": "not an absolute path",
        }
        for path, want in bad.items():
            r = ivctl("mirror", "add", "m1", "--tap", "a", "--pcapng", path)
            if r.returncode == 0 or want not in r.stderr:
                return f"--pcapng {path}: rc {r.returncode} {r.stderr.strip()!r}, want {want!r}"
        r = ivctl("mirror", "add", "bad/name", "--tap", "a", "--pcapng", os.path.join(WORK, "ok.pcapng"))
        if r.returncode == 0 or "not a valid name" not in r.stderr:
            return f"name 'bad/name': {r.stderr.strip()!r}"
        mirrors = json.loads(ivctl("--json", "show", "mirrors").stdout)["mirrors"]
        if mirrors:
            return f"refused mirrors were added: {[m['name'] for m in mirrors]}"
        if open(victim).read() != "precious":
            return "the symlink's target was truncated"
        r = ivctl("mirror", "add", "good", "--tap", "a", "--pcapng", os.path.join(WORK, "ok.pcapng"))
        if r.returncode != 0:
            return f"a good mirror: {r.stderr}"
        r = ivctl("mirror", "add", "twice", "--tap", "a", "--pcapng", os.path.join(WORK, "ok.pcapng"))
        if r.returncode == 0 or "already written by mirror 'good'" not in r.stderr:
            return f"a second writer of one file: {r.stderr.strip()!r}"
        ivctl("mirror", "del", "good")
    check("mirror pcapng paths: /proc, a folder, a missing folder, the control socket, a symlink refused at the request", mirror_paths)

    def filter_bound():
        terms = " or ".join(f"host 10.0.{i // 256}.{i % 256}" for i in range(3000))
        t0 = time.time()
        r = ivctl("mirror", "add", "f", "--tap", "a", "--filter", terms, "--pcapng", os.path.join(WORK, "f.pcapng"), timeout=20)
        took = time.time() - t0
        if r.returncode == 0 or "at most 1024" not in r.stderr:
            return f"3000-term filter: rc {r.returncode} {r.stderr[:200]!r}"
        if took > 3:
            return f"refusing it took {took:.1f} s"
        few = " or ".join(f"port {i}" for i in range(1, 80))
        r = ivctl("mirror", "add", "f", "--tap", "a", "--filter", few, "--pcapng", os.path.join(WORK, "f.pcapng"))
        if r.returncode == 0 or "79 terms; at most 64" not in r.stderr:
            return f"79-term filter: {r.stderr[:200]!r}"
        t0 = time.time()
        wide = " or ".join(f"port {i}" for i in range(1, 200))  # fits a request line, not the bound
        r = subprocess.run(["curl", "-s", "--unix-socket", SOCK, "-G", "http://x/capture", "--data-urlencode", "port=a",
                            "--data-urlencode", "filter=" + wide], capture_output=True, text=True, timeout=20)
        if "at most 1024" not in r.stdout or time.time() - t0 > 3:
            return f"live capture with the big filter: {r.stdout[:200]!r}"
    check("a filter of 3000 terms is refused at once (mirror add and live capture), not compiled for minutes", filter_bound)

    # --- item 10: reload ---------------------------------------------------------------------
    def reload_answers():
        # The pcap is read once, as fast as it goes: the upcalls beyond what the policy
        # thread takes are dropped (counted), so wait until the flow count stands still.
        deadline = time.time() + 30
        flows, last = 0, -1
        while time.time() < deadline:
            flows = json.loads(ivctl("--json", "show", "policy").stdout)["flows"]["entries"]
            if flows == last or flows >= N_FLOWS:
                break
            last = flows
            time.sleep(1)
        if flows < 10000:
            return f"only {flows} flows installed from the pcap"
        for _ in range(3):
            r = ivctl("--json", "policy", "reload", timeout=20)
            if r.returncode != 0:
                return f"reload of the unchanged file{' (switch.cores: [1])' if cores else ''}: {r.stderr.strip()}"
            v = json.loads(r.stdout)
            if not v["applied"]:
                return f"not applied: {v}"
            m = None
            for _ in range(20):  # the policy thread logs it just after it lets the answer go
                m = re.search(r"policy epoch %d: .* in ([0-9.]+) ms" % v["epoch"], open(os.path.join(WORK, "ivswitchd.log")).read())
                if m:
                    break
                time.sleep(0.05)
            if not m:
                return f"no revalidation logged for epoch {v['epoch']}"
            if abs(float(m.group(1)) - v["convergence_ms"]) > 0.0015:
                return f"answer says {v['convergence_ms']:.3f} ms, epoch {v['epoch']} revalidated {flows} flows in {m.group(1)} ms"
    check("policy reload (switch.cores: [1]) answers after its own revalidation, with its own time", reload_answers)

    def reload_bad_file():
        good = open(cfg_path).read()
        try:
            with open(cfg_path, "w") as f:
                f.write(good.replace("vms:\n", "vms:\n  - ~\n  - 3\n", 1))
            r = ivctl("policy", "reload")
            want = f"{cfg_path}:8: vms[0]: expected a mapping"
            if r.returncode == 0 or want not in r.stderr:
                return f"reload with vms: [~, 3]: {r.stderr.strip()!r}, want {want!r}"
            with open(cfg_path, "w") as f:
                f.write(good.replace("protocol: tcp, ports: [80]", "protocol: 0", 1))
            r = ivctl("policy", "reload")
            if r.returncode == 0 or "0 (HOPOPT)" not in r.stderr:
                return f"reload with protocol: 0: {r.stderr.strip()!r}"
        finally:
            with open(cfg_path, "w") as f:
                f.write(good)
        if ivctl("show", "ports").returncode != 0:
            return "the daemon is gone"
    check("a reload of a file with vms: [~, 3] or protocol: 0 answers with FILE:LINE; nothing changes", reload_bad_file)

    def reload_error_code():
        good = open(cfg_path).read()
        try:
            with open(cfg_path, "w") as f:
                f.write(good.replace("vms:\n", "vms:\n  - ~\n  - 3\n", 1))
            status, body = rpc({"method": "policy.reload"})
            a = json.loads(body)
            if a.get("code") != "invalid_config" or a.get("path") != "vms[0]" or f"{cfg_path}:8: vms[0]" not in a.get("error", ""):
                return f"reload of a bad file: HTTP {status} {a}"
        finally:
            with open(cfg_path, "w") as f:
                f.write(good)
    check("a reload of a bad file answers code invalid_config and the first error's path", reload_error_code)

    def second_switch():
        # Another instance naming the same sockets: refused, and the first keeps both.
        text = config().replace(f"instance: {INSTANCE}", f"instance: {INSTANCE}b").replace(f"'127.0.0.1:{MPORT}'", "''")
        p = os.path.join(WORK, "second.yaml")
        with open(p, "w") as f:
            f.write(text)
        r = subprocess.run([os.path.join(BUILD, "ivswitchd"), "--config", p], capture_output=True, text=True, timeout=60)
        shutil.rmtree(f"/var/run/dpdk/ivs_{INSTANCE}b", ignore_errors=True)
        if r.returncode == 0 or "in use" not in r.stdout + r.stderr:
            return f"second switch: rc {r.returncode} {(r.stdout + r.stderr)[-300:]!r}"
        if ivctl("show", "ports").returncode != 0:
            return "the first switch's control socket is gone"
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(3)
        try:
            s.connect(CHSOCK)
            s.send(json.dumps({"op": "send", "vm": "vm2", "data": "x"}).encode())
            if json.loads(s.recv(65536)).get("op") != "sent":
                return "the first switch's channel socket does not answer"
        except OSError as e:
            return f"the first switch's channel socket: {e}"
        finally:
            s.close()
    check("a second switch naming the same sockets is refused; the first keeps its control and channel sockets", second_switch)

    def sigterm():
        why = stop(d)
        if why:
            return why
        if os.path.exists(SOCK):
            return "the control socket was left behind"
    check("SIGTERM stops the daemon promptly after all this", sigterm)


if __name__ == "__main__":
    try:
        main()
    finally:
        for d in DAEMONS:
            if d.poll() is None:
                d.kill()
                d.wait()
        shutil.rmtree(f"/var/run/dpdk/ivs_{INSTANCE}", ignore_errors=True)
    failed = sum(1 for _, why in RESULTS if why)
    if failed:
        print(f"(logs kept in {WORK})")
    else:
        shutil.rmtree(WORK, ignore_errors=True)
    print(f"hostile: {len(RESULTS) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
