#!/usr/bin/env python3
"""ivswitchd's systemd protocol, without systemd: this script plays the service manager.

It binds an AF_UNIX datagram socket, starts ivswitchd with NOTIFY_SOCKET pointing at it
and WATCHDOG_USEC set (a discard port and a pcap port: no root-only ports), and checks
what arrives: READY=1 once the datapath threads poll, WATCHDOG=1 every half interval,
RELOADING=1 then READY=1 around a SIGHUP, STOPPING=1 on SIGTERM. Then a second run with
the test hook IVSWITCHD_TEST_STALL_PMD_MS (datapath thread 0 stops making progress, as a
stuck thread would): the pings must stop while the process and its other threads live on.
Prints ok/FAIL lines and 'notify: N passed, M failed'.

usage: notify_test.py BUILD_DIR
"""
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

WATCHDOG_USEC = 1_000_000        # ivswitchd pings every 500 ms with this; systemd would kill after 1 s without
PING = WATCHDOG_USEC / 2 / 1e6   # the expected ping period, seconds

results = []


def check(what, ok, detail=""):
    results.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f"\n     {detail}" if detail else ""))


class FakeManager:
    """The service manager's end of NOTIFY_SOCKET: every datagram, timestamped."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []  # (time, {key: value})

    def pump(self, seconds):
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            r, _, _ = select.select([self.sock], [], [], left)
            if r:
                data = self.sock.recv(4096).decode()
                kv = dict(line.split("=", 1) for line in data.split("\n") if "=" in line)
                self.messages.append((time.monotonic(), kv))

    def wait_for(self, key, value, seconds):
        """Pumps until a message with key=value arrives; its time, or None."""
        end = time.monotonic() + seconds
        seen = len(self.messages)
        while time.monotonic() < end:
            self.pump(min(0.05, end - time.monotonic()))
            for t, kv in self.messages[seen:]:
                if kv.get(key) == value:
                    return t
            seen = len(self.messages)
        return None

    def times(self, key, since=0.0, until=float("inf")):
        return [t for t, kv in self.messages if key in kv and since <= t <= until]


def start(build, work, name, cores, extra_env=None):
    d = os.path.join(work, name)
    os.makedirs(d)
    with open(os.path.join(d, "in.pcap"), "wb") as f:  # an empty pcap: the port polls, receives nothing
        f.write(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
    cfg = os.path.join(d, "switch.yaml")
    with open(cfg, "w") as f:
        f.write(f"switch: {{instance: notify_{name}_{os.getpid()}, control_socket: {d}/ctl.sock, "
                f"metrics_address: '', hugepages: off, cores: {cores}}}\n"
                f"ports:\n"
                f"  - {{name: p0, type: pcap, rx_file: {d}/in.pcap, tx_file: {d}/out.pcap, network: lan}}\n"
                f"  - {{name: p1, type: discard, network: lan}}\n"
                f"networks:\n  - {{name: lan, vlan: 10}}\n")
    mgr = FakeManager(os.path.join(d, "notify.sock"))
    env = dict(os.environ, NOTIFY_SOCKET=os.path.join(d, "notify.sock"), WATCHDOG_USEC=str(WATCHDOG_USEC))
    env.pop("WATCHDOG_PID", None)
    env.update(extra_env or {})
    log = open(os.path.join(d, "ivswitchd.log"), "w")
    proc = subprocess.Popen([os.path.join(build, "ivswitchd"), "--config", cfg], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    return proc, mgr, d, log


def ivctl(build, d, *args):
    out = subprocess.run([os.path.join(build, "ivctl"), "--socket", f"{d}/ctl.sock", "--json", *args],
                         capture_output=True, text=True, timeout=10)
    return json.loads(out.stdout) if out.returncode == 0 else None


def stop(proc, mgr, log, instance_dir):
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    stopping = mgr.wait_for("STOPPING", "1", 15)
    try:
        rc = proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    log.close()
    # a daemon that died cannot remove its DPDK runtime directory
    for name in os.listdir("/var/run/dpdk") if os.path.isdir("/var/run/dpdk") else []:
        if name.startswith(f"ivs_notify_") and name.endswith(f"_{os.getpid()}"):
            shutil.rmtree(os.path.join("/var/run/dpdk", name), ignore_errors=True)
    return stopping, t0, rc


def gaps(ts):
    return [b - a for a, b in zip(ts, ts[1:])]


def run_healthy(build, work):
    proc, mgr, d, log = start(build, work, "healthy", "[]")
    try:
        t_ready = mgr.wait_for("READY", "1", 30)
        check("READY=1 arrives", t_ready is not None, f"messages: {[kv for _, kv in mgr.messages]}")
        if t_ready is None:
            return
        first = next(kv for _, kv in mgr.messages if "READY" in kv)
        pmd = ivctl(build, d, "show", "pmd")
        check("READY=1 is the first message, with a STATUS; the datapath thread is polling by then",
              mgr.messages[0][1].get("READY") == "1" and "STATUS" in first and pmd is not None,
              f"first: {mgr.messages[0][1]}; show pmd: {json.dumps(pmd)[:300]}")
        mgr.pump(4.0)
        pings = mgr.times("WATCHDOG", since=t_ready)
        g = gaps(pings)
        check(f"WATCHDOG=1 every {PING * 1000:.0f} ms (WATCHDOG_USEC={WATCHDOG_USEC}), never a gap systemd would kill for, over 4 s",
              len(pings) >= 4.0 / PING - 1 and g and max(g) < WATCHDOG_USEC / 1e6 and min(g) > PING * 0.5,
              f"{len(pings)} pings, gaps {min(g or [0]) * 1000:.0f}..{max(g or [0]) * 1000:.0f} ms; at (ms after READY) "
              f"{' '.join(str(round((t - t_ready) * 1000)) for t in pings)}")
        t_hup = time.monotonic()
        proc.send_signal(signal.SIGHUP)
        mgr.wait_for("RELOADING", "1", 10)
        mgr.pump(0.5)
        t_rel = next((t for t, kv in mgr.messages if t >= t_hup and kv.get("RELOADING") == "1"), None)
        t_rdy = next((t for t, kv in mgr.messages if t >= (t_rel or t_hup) and kv.get("READY") == "1"), None)
        rel = next((kv for t, kv in mgr.messages if t >= t_hup and "RELOADING" in kv), {})
        check("SIGHUP (systemctl reload): RELOADING=1 with MONOTONIC_USEC, then READY=1",
              t_rel is not None and t_rdy is not None and t_rdy >= t_rel and "MONOTONIC_USEC" in rel, f"{rel}")
        mgr.pump(1.6)
        check("pings go on after the reload", len(mgr.times("WATCHDOG", since=t_rdy or t_hup)) >= 2)
    finally:
        stopping, t0, rc = stop(proc, mgr, log, d)
    check("SIGTERM: STOPPING=1, then a clean exit (status 0)", stopping is not None and rc == 0, f"exit status {rc}")


def run_stalled(build, work):
    cpus = sorted(os.sched_getaffinity(0))
    cores = f"[{cpus[0]}, {cpus[1]}]" if len(cpus) >= 2 else "[]"  # two threads, one of them stuck
    stall_ms = 2500
    proc, mgr, d, log = start(build, work, "stalled", cores, {"IVSWITCHD_TEST_STALL_PMD_MS": str(stall_ms)})
    try:
        t_ready = mgr.wait_for("READY", "1", 30)
        check(f"stall hook run (datapath threads on CPUs {cores}): READY=1", t_ready is not None)
        if t_ready is None:
            return
        mgr.pump(stall_ms / 1000 + 3.5)
        pings = mgr.times("WATCHDOG", since=t_ready)
        last = pings[-1] if pings else t_ready
        quiet = time.monotonic() - last
        check("pings while every thread makes progress, then none once thread 0 is stuck",
              len(pings) >= 3 and quiet >= 3 * WATCHDOG_USEC / 1e6 and proc.poll() is None,
              f"{len(pings)} pings, the last {quiet:.1f} s ago (stall after {stall_ms} ms); process alive: {proc.poll() is None}")
        pmd = ivctl(build, d, "show", "pmd")
        check("the rest of the switch still answers (ivctl show pmd)", pmd is not None)
        log.flush()
        text = open(os.path.join(d, "ivswitchd.log")).read()
        check("the daemon logs why it withholds the watchdog", "service watchdog withheld" in text,
              next((line for line in text.splitlines() if "withheld" in line), text[-300:]))
    finally:
        stopping, t0, rc = stop(proc, mgr, log, d)
    check("a stuck thread does not prevent a clean stop", stopping is not None and rc == 0, f"exit status {rc}")


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/release")
    work = tempfile.mkdtemp(prefix="ivs-notify.")
    try:
        run_healthy(build, work)
        run_stalled(build, work)
    finally:
        if os.environ.get("NOTIFY_KEEP"):
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    failed = results.count(False)
    print(f"notify: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
