#!/usr/bin/env python3
"""Packet-level tests through the real daemon on pcap ports.

For each case in cases.py: write the input pcaps and a config, start ivswitchd, wait
until it has received every input frame, read its counters with `ivctl --json`, stop
it with SIGTERM, then compare each port's output pcap with the expected frames and the
drop counters with the expected ones. tshark judges every IPv4 header checksum and
every ICMPv6 checksum in the outputs. Prints one line per case and 'N passed, M failed'.

usage: run.py BUILD_DIR [CASE ...]
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cases import CASES, PORTS, TOPOLOGY  # noqa: E402
from frames import read_pcap, write_pcap  # noqa: E402


def ivctl(build, sock, *args):
    out = subprocess.run([os.path.join(build, "ivctl"), "--socket", sock, "--json", *args],
                         capture_output=True, text=True, timeout=10)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip())
    return json.loads(out.stdout)


def tshark_checksums_ok(pcap):
    """True when tshark finds every IPv4 header checksum in the file good."""
    if not shutil.which("tshark") or not read_pcap(pcap):
        return True
    out = subprocess.run(["tshark", "-r", pcap, "-o", "ip.check_checksum:TRUE", "-T", "fields", "-e", "ip.checksum.status"],
                         capture_output=True, text=True, timeout=30)
    # One line per frame; an ICMP error quoting an IP header gives "1,1" (outer, quoted).
    statuses = [s for line in out.stdout.split() for s in line.split(",") if s]
    return all(s in ("1", "Good") for s in statuses)  # 1 = good in tshark's field encoding


def tshark_icmpv6_checksums_ok(pcap):
    """True when tshark finds every ICMPv6 checksum in the file good."""
    if not shutil.which("tshark") or not read_pcap(pcap):
        return True
    out = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "icmpv6.checksum.status"],
                         capture_output=True, text=True, timeout=30)
    statuses = [s for line in out.stdout.split() for s in line.split(",") if s]
    return all(s in ("1", "Good") for s in statuses)


def run_case(build, case, workdir):
    d = os.path.join(workdir, case["name"])
    os.makedirs(d)
    sock = os.path.join(d, "ctl.sock")
    ports_yaml = []
    for name, membership in PORTS.items():
        rx = os.path.join(d, f"in-{name}.pcap")
        write_pcap(rx, case["in"].get(name, []))
        ports_yaml.append(f"  - {{name: {name}, type: pcap, rx_file: {rx}, tx_file: {os.path.join(d, 'out-' + name + '.pcap')}, {membership}}}")
    cfg = os.path.join(d, "switch.yaml")
    with open(cfg, "w") as f:
        instance = f"pkt_{case['name']}_{os.getpid()}"
        f.write(f"switch: {{instance: {instance}, control_socket: {sock}, metrics_address: '', hugepages: off}}\n")
        f.write("ports:\n" + "\n".join(ports_yaml) + "\n" + case.get("topology", TOPOLOGY) + case.get("extra", ""))
    log = open(os.path.join(d, "ivswitchd.log"), "w")
    daemon = subprocess.Popen([os.path.join(build, "ivswitchd"), "--config", cfg], stdout=log, stderr=subprocess.STDOUT)
    errors = []
    try:
        expected_rx = sum(len(v) for v in case["in"].values())
        deadline, ports, policy, last = time.time() + 20, None, None, -1
        while time.time() < deadline:
            if daemon.poll() is not None:
                raise RuntimeError(f"ivswitchd exited with {daemon.returncode}; see {log.name}")
            if os.path.exists(sock):
                try:
                    ports = ivctl(build, sock, "show", "ports")["ports"]
                    policy = ivctl(build, sock, "show", "policy")
                    rx = sum(p["rx_packets"] for p in ports)
                    if rx >= expected_rx and rx == last:
                        break
                    last = rx
                except (RuntimeError, json.JSONDecodeError):
                    pass
            time.sleep(0.2)
        else:
            errors.append(f"timed out waiting for {expected_rx} input frames to be received")
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=15)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
            errors.append("ivswitchd did not stop on SIGTERM within 15 s")
        log.close()
        # A daemon that died (crash, sanitizer abort) cannot remove its DPDK runtime dir.
        shutil.rmtree(f"/var/run/dpdk/ivs_{instance}", ignore_errors=True)
    if daemon.returncode not in (0, None) and not errors:
        errors.append(f"ivswitchd exit status {daemon.returncode}")
    if ports is None:
        return errors + ["no counters read"]
    by_name = {p["name"]: p for p in ports}
    if "policy" in case:
        # one install per flow; a second packet of a flow may race its first to the policy
        # thread (already_known) but never installs twice
        want = case["policy"]
        if policy["flows"]["installed"] != want["flows"]:
            errors.append(f"flows installed {policy['flows']['installed']}, want {want['flows']}")
        if policy["slow_path"]["upcalls"] > want["upcalls_max"] + 2:
            errors.append(f"{policy['slow_path']['upcalls']} upcalls for {want['flows']} flows")
    for port, want in case["out"].items():
        out_pcap = os.path.join(d, f"out-{port}.pcap")
        got = read_pcap(out_pcap) if os.path.exists(out_pcap) else []
        if sorted(got) != sorted(want):
            extra = [g.hex() for g in got if g not in want]
            missing = [w.hex() for w in want if w not in got]
            errors.append(f"port {port}: got {len(got)} frames, want {len(want)}; unexpected {extra}; missing {missing}")
        if not tshark_checksums_ok(out_pcap):
            errors.append(f"port {port}: tshark found a bad IPv4 header checksum in {out_pcap}")
        if not tshark_icmpv6_checksums_ok(out_pcap):
            errors.append(f"port {port}: tshark found a bad ICMPv6 checksum in {out_pcap}")
    for port in PORTS:
        want = case["drops"].get(port, {})
        got = by_name[port]["drops"]
        if got != want:
            errors.append(f"port {port}: drops {got}, want {want}")
    return errors


def main():
    build = os.path.abspath(sys.argv[1])
    only = set(sys.argv[2:])
    workdir = tempfile.mkdtemp(prefix="ivs-packet-")
    passed = failed = 0
    for case in CASES:
        if only and case["name"] not in only:
            continue
        try:
            errors = run_case(build, case, workdir)
        except Exception as e:  # a crash of the harness is a failure of the case
            errors = [f"{type(e).__name__}: {e}"]
        if errors:
            failed += 1
            print(f"FAIL {case['name']}: {case['about']}")
            for e in errors:
                print(f"     {e}")
        else:
            passed += 1
            print(f"ok   {case['name']}: {case['about']}")
    if failed:
        print(f"(logs and pcaps kept in {workdir})")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"packet: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
