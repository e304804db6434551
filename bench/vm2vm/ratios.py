#!/usr/bin/env python3
"""The side-by-side figures of a run.sh result directory: one line per system and case
(`<system> <case>: <Mpps> Mpps`, median over reps), then, per ivswitch case, the ratios
to OVS-DPDK and to the testpmd I/O ceiling (median of per-repetition ratios: both
measured in the same repetition, which cancels some machine noise), then each switch's
own busy cycles per packet (the figure to compare when the generator bounds Mpps).

usage: ratios.py RESULT_DIR
"""
import glob
import os
import statistics
import sys

PAIRS = {"ivswitch:l2": ["ovs-dpdk:normal"], "ivswitch:routed": ["ovs-dpdk:routed"],
         "ivswitch:policy1k": ["ovs-dpdk:acl1k", "ovs-dpdk:ct"]}
# Another ivswitch build measured in the same run (sut/ivswitch-prev.sh): ivswitch:MODE
# against ivswitch-prev:MODE, and the other build against the same OVS-DPDK case.
PREV = "ivswitch-prev"
CEILING = "testpmd-io:io"


def main(res):
    last = {}  # (scen, flows, rep) -> (mpps, attempt)
    for line in open(os.path.join(res, "raw.txt")):
        f = line.split()
        if len(f) < 4:
            continue
        scen, flows, rep, mpps = f[0], f[1], f[2], float(f[3])
        attempt = next((int(x.split("=")[1]) for x in f if x.startswith("attempt=")), 1)
        key = (scen, flows, rep)
        if key not in last or attempt >= last[key][1]:
            last[key] = (mpps, attempt)

    def cycles(scen, flows, rep):
        att = last[(scen, flows, rep)][1]
        path = os.path.join(res, f"{rep}-{flows}-{scen.replace(':', '-')}-try{att}", "cycles.txt")
        try:
            v = float(open(path).read().split()[0])
            return v if v == v else None
        except (OSError, ValueError, IndexError):
            return None

    scens = sorted({k[0] for k in last})
    flows_all = sorted({k[1] for k in last}, key=int)
    print("# side-by-side: median Mpps at the sink over repetitions; ratios are medians of same-repetition ratios")
    for flows in flows_all:
        for scen in scens:
            vals = [v for (s, fl, r), (v, a) in last.items() if s == scen and fl == flows]
            if vals:
                sysname, case = scen.split(":")
                print(f"{sysname} {case} {flows}flow: {statistics.median(vals):.2f} Mpps")
        for ivs, ovs_list in PAIRS.items():
            reps = [r for (s, fl, r) in last if s == ivs and fl == flows]
            if not reps:
                continue
            case = ivs.split(":")[1]
            ovs = ovs_list[0]
            others = [(o, f"ivswitch/ovs-dpdk[{o.split(':')[1]}]") for o in ovs_list] + [(CEILING, "ivswitch/ceiling")]
            for other, label in others:
                ratios = [last[(ivs, flows, r)][0] / last[(other, flows, r)][0]
                          for r in reps if (other, flows, r) in last and last[(other, flows, r)][0] > 0]
                if ratios:
                    print(f"{label} {case} {flows}flow: {statistics.median(ratios):.2f} "
                          f"[{min(ratios):.2f}..{max(ratios):.2f} n={len(ratios)}]")
            prev = ivs.replace("ivswitch:", PREV + ":")
            prev_reps = [r for r in reps if (prev, flows, r) in last and last[(prev, flows, r)][0] > 0]
            if prev_reps:
                for num, den, label in ((ivs, prev, f"ivswitch/{PREV}"), (prev, ovs, f"{PREV}/ovs-dpdk[{ovs.split(':')[1]}]")):
                    ratios = [last[(num, flows, r)][0] / last[(den, flows, r)][0]
                              for r in prev_reps if (den, flows, r) in last and last[(den, flows, r)][0] > 0]
                    if ratios:
                        print(f"{label} {case} {flows}flow: {statistics.median(ratios):.2f} "
                              f"[{min(ratios):.2f}..{max(ratios):.2f} n={len(ratios)}]")
                pc = [c for c in (cycles(prev, flows, r) for r in prev_reps) if c]
                if pc:
                    print(f"busy cycles/packet {case} {flows}flow: {PREV} {statistics.median(pc):.1f}")
            ic = [c for c in (cycles(ivs, flows, r) for r in reps) if c]
            oc = [c for c in (cycles(ovs, flows, r) for r in reps if (ovs, flows, r) in last) if c]
            if ic or oc:
                line = f"busy cycles/packet {case} {flows}flow: ivswitch {statistics.median(ic):.1f}" if ic else f"busy cycles/packet {case} {flows}flow: ivswitch n/a"
                if oc:
                    line += f", ovs-dpdk {statistics.median(oc):.1f}"
                    if ic:
                        line += f" (ovs-dpdk/ivswitch {statistics.median(oc) / statistics.median(ic):.2f})"
                print(line)


if __name__ == "__main__":
    main(sys.argv[1])
