#!/usr/bin/env python3
"""callgrind.sh's arithmetic.

callgrind_summary.py FILE SIDE CASE: one line of per-burst figures from a callgrind dump.
callgrind_summary.py --ratios SUMMARY: new/old per case from those lines.
"""
import re
import subprocess
import sys

BURST_FN = re.compile(r">.*Forwarder::process_burst\(unsigned short, rte_mbuf\*\*, unsigned short, "
                      r"unsigned int, unsigned long\) \(([\d,]+)x\)")


def annotate(path, *args):
    return subprocess.run(["callgrind_annotate", "--auto=no", "--threshold=100", *args, path],
                          capture_output=True, text=True, check=True).stdout


def per_burst(path):
    bursts = sum(int(m.group(1).replace(",", "")) for m in BURST_FN.finditer(annotate(path, "--tree=calling")))
    events = re.search(r"^events: (.*)$", open(path).read(), re.M).group(1).split()
    # The sum of the functions' own costs (a dump's PROGRAM TOTALS line also counts what
    # ran before the zeroing in threads other than the one that zeroed).
    totals = [0] * len(events)
    started = False
    for line in annotate(path).splitlines():
        if "file:function" in line:
            started = True
            continue
        if not started:
            continue
        fields = re.sub(r"\(\s*[\d.]+%\)", "", line).split()
        vals = []
        for f in fields:
            if re.fullmatch(r"[\d,]+|\.", f):
                vals.append(0 if f == "." else int(f.replace(",", "")))
            else:
                break
        if len(vals) == len(events):
            totals = [a + b for a, b in zip(totals, vals)]
    d = dict(zip(events, totals))
    l1 = d["I1mr"] + d["D1mr"] + d["D1mw"]
    ll = d["ILmr"] + d["DLmr"] + d["DLmw"]
    bm = d["Bcm"] + d["Bim"]
    return bursts, {"ir": d["Ir"] / bursts, "l1d_miss": (d["D1mr"] + d["D1mw"]) / bursts, "mispredict": bm / bursts,
                    "est_cycles": (d["Ir"] + 10 * (l1 + bm) + 100 * ll) / bursts}


def main():
    if sys.argv[1] == "--ratios":
        rows = {}
        for line in open(sys.argv[2]):
            m = re.match(r"callgrind (\S+) (\S+) bursts=\d+ (.*)", line)
            if m:
                rows[(m.group(1), m.group(2))] = dict(kv.split("=") for kv in m.group(3).split())
        for case in dict.fromkeys(c for c, _ in rows):
            if (case, "old") in rows and (case, "new") in rows:
                o, n = rows[(case, "old")], rows[(case, "new")]
                print(f"ratio {case} " + " ".join(f"{k}={float(n[k]) / float(o[k]):.3f}" for k in ("ir", "est_cycles")))
        return
    path, side, case = sys.argv[1:4]
    bursts, f = per_burst(path)
    print(f"callgrind {case} {side} bursts={bursts} " + " ".join(f"{k}={v:.1f}" for k, v in f.items()))


main()
