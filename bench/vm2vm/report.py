#!/usr/bin/env python3
"""The report of bench/suite.sh: REPORT_DIR/report.md and REPORT_DIR/suite.png.

Reads what suite.sh kept in REPORT_DIR: tp-*/raw.txt (run.sh: one line per run),
tp-*/cycles.txt (busy cycles per packet of each run), flowsetup*/summary.txt,
latency/summary.txt, machine.txt. For each case: the median Mpps of each system over the
repetitions with min..max, the ratios ivswitch/OVS-DPDK and ivswitch/ceiling taken
within each repetition (median [min..max]), each switch's busy cycles per packet, and the
lines `<system> <case>: <Mpps> Mpps`.

usage: report.py REPORT_DIR
"""
import glob
import os
import statistics
import sys

CEILING = "testpmd-io:io"
# case name, the run.sh step it comes from, flows, OVS-DPDK scenario (None: OVS cannot
# express it), ivswitch scenario
CASES = [
    ("l2-1flow", "L2, 1 flow", "tp-1flow", "1", "ovs-dpdk:normal", "ivswitch:l2"),
    ("l2-10kflows", "L2, 10,000 flows", "tp-10kflows", "10000", "ovs-dpdk:normal", "ivswitch:l2"),
    ("routed-1flow", "routed, 1 flow", "tp-1flow", "1", "ovs-dpdk:routed", "ivswitch:routed"),
    ("policy1k-100kflows-stateless", "policy 1k rules, 100k flows, vs stateless OpenFlow", "tp-100kflows", "100000",
     "ovs-dpdk:acl1k", "ivswitch:policy1k"),
    ("policy1k-100kflows-stateful", "policy 1k rules, 100k flows, vs OVS conntrack", "tp-100kflows", "100000",
     "ovs-dpdk:ct1k", "ivswitch:policy1k"),
    ("qos-1flow", "QoS guard on (every packet re-marked), 1 flow", "tp-1flow", "1", "ovs-dpdk:dscp", "ivswitch:qos"),
    ("mirror1pct-10kflows", "mirror, 1% filter, 10,000 flows", "tp-10kflows", "10000", None, "ivswitch:mirror1pct"),
]


CLEAN_MAX = float(os.environ.get("CLEAN_MAX", "5"))  # as run.sh: % of the CPUs other jobs may take


def read_step(path):
    """raw.txt -> {(scen, rep): mpps}, cycles per run, the set of unclean runs.

    Per run: the last attempt during which other jobs took <= CLEAN_MAX % of the CPUs,
    else the last attempt, marked unclean. Runs that moved nothing (a system that failed
    to start) are left out: a 0 is not a measurement."""
    runs, att, unclean = {}, {}, set()
    raw = os.path.join(path, "raw.txt")
    if not os.path.exists(raw):
        return None, None, None
    tries = {}
    for line in open(raw):
        f = line.split()
        if len(f) < 4:
            continue
        a = next((int(x.split("=")[1]) for x in f if x.startswith("attempt=")), 1)
        fg = next((x.split("=")[1].rstrip("%") for x in f if x.startswith("foreign-during=")), "100")
        foreign = float(fg) if fg.replace(".", "", 1).isdigit() else 100.0
        tries.setdefault((f[0], f[2]), []).append((a, float(f[3]), foreign))
    for key, ts in tries.items():
        ts.sort()
        clean = [t for t in ts if t[2] <= CLEAN_MAX and t[1] > 0]
        a, mpps, _ = clean[-1] if clean else ts[-1]
        if mpps <= 0:
            continue
        if not clean:
            unclean.add(key)
        att[key], runs[key] = a, mpps
    cycles = {}
    cpath = os.path.join(path, "cycles.txt")
    if os.path.exists(cpath):
        scens = {s for s, _ in runs}
        for line in open(cpath):
            name, _, val = line.strip().rpartition(" ")
            rep, _, rest = name.partition("-")
            _, _, rest = rest.partition("-")
            dashed, _, a = rest.rpartition("-try")
            scen = next((s for s in scens if s.replace(":", "-") == dashed), None)
            try:
                v = float(val)
            except ValueError:
                continue
            if scen and v == v and att.get((scen, rep)) == int(a):
                cycles[(scen, rep)] = v
    return runs, cycles, unclean


def spread(vals, fmt="{:.2f}"):
    return f"{fmt.format(statistics.median(vals))} [{fmt.format(min(vals))}..{fmt.format(max(vals))}]"


def main(out):
    steps = {}
    for d in glob.glob(os.path.join(out, "tp-*")):
        runs, cycles, unclean = read_step(d)
        if runs:
            steps[os.path.basename(d)] = (runs, cycles, unclean)
    lines, rows, plot, prev_rows = [], [], [], []
    for slug, title, step, flows, ovs, ivs in CASES:
        if step not in steps:
            continue
        runs, cycles, unclean = steps[step]
        reps = sorted({r for (s, r) in runs if s == ivs})
        if not reps:
            continue

        def vals(scen):
            return [runs[(scen, r)] for r in reps if (scen, r) in runs]

        def ratio(other):
            rs = [runs[(ivs, r)] / runs[(other, r)] for r in reps if runs.get((other, r), 0) > 0 and (ivs, r) in runs]
            return rs

        def cyc(scen):
            c = [cycles[(scen, r)] for r in reps if (scen, r) in cycles]
            return statistics.median(c) if c else None

        sys_vals = {"ivswitch": vals(ivs), "ovs-dpdk": vals(ovs) if ovs else [], "testpmd": vals(CEILING)}
        for name, v in sys_vals.items():
            if v:
                lines.append(f"{name} {slug}: {statistics.median(v):.2f} Mpps")
        r_ovs, r_ceil = (ratio(ovs) if ovs else []), ratio(CEILING)
        if r_ovs:
            lines.append(f"ivswitch/ovs-dpdk {slug}: {spread(r_ovs)}")
        if r_ceil:
            lines.append(f"ivswitch/testpmd {slug}: {spread(r_ceil)}")
        ci, co = cyc(ivs), (cyc(ovs) if ovs else None)
        prev = ivs.replace("ivswitch:", "ivswitch-prev:")  # another build in the same run (suite.sh -p)
        noisy = sorted(f"{s.split(':')[0]} rep {r}" for (s, r) in unclean if s in (ivs, ovs, CEILING, prev))
        if noisy:
            title += f" (unclean: {', '.join(noisy)})"
        rows.append([title,
                     spread(sys_vals["testpmd"]) if sys_vals["testpmd"] else "-",
                     spread(sys_vals["ovs-dpdk"]) if sys_vals["ovs-dpdk"] else "n/a",
                     spread(sys_vals["ivswitch"]),
                     spread(r_ovs) if r_ovs else "n/a",
                     spread(r_ceil) if r_ceil else "-",
                     f"{ci:.0f}" if ci else "-", f"{co:.0f}" if co else "-"])
        plot.append((title.split(" (unclean")[0], {k: v for k, v in sys_vals.items() if v}))
        if vals(prev):
            r_prev = ratio(prev)
            rp_ovs = [runs[(prev, r)] / runs[(ovs, r)] for r in reps
                      if ovs and runs.get((ovs, r), 0) > 0 and (prev, r) in runs]
            lines.append(f"ivswitch-prev {slug}: {statistics.median(vals(prev)):.2f} Mpps")
            if r_prev:
                lines.append(f"ivswitch/ivswitch-prev {slug}: {spread(r_prev)}")
            if rp_ovs:
                lines.append(f"ivswitch-prev/ovs-dpdk {slug}: {spread(rp_ovs)}")
            cp = cyc(prev)
            prev_rows.append([title, spread(vals(prev)), spread(sys_vals["ivswitch"]), spread(r_prev) if r_prev else "-",
                              spread(rp_ovs) if rp_ovs else "n/a", spread(r_ovs) if r_ovs else "n/a",
                              f"{cp:.0f}" if cp else "-", f"{ci:.0f}" if ci else "-"])

    md = ["# Side-by-side suite: ivswitch vs OVS-DPDK vs the testpmd I/O ceiling", ""]
    mt = os.path.join(out, "machine.txt")
    if os.path.exists(mt):
        md += ["```", open(mt).read().strip(), "```", ""]
    md += ["Mpps at the sink, median over repetitions [min..max]; ratios are taken within each repetition "
           "(same minute, same machine state), median [min..max]; busy cycles/packet from each switch's own "
           "accounting (ivswitch: `ivctl show pmd`, OVS: `pmd-stats-show`), median. 64-byte frames, "
           "generator and switch on one core each (bench/vm2vm/README.md).", "",
           "| case | testpmd (ceiling) | OVS-DPDK | ivswitch | ivswitch / OVS | ivswitch / ceiling | cycles/pkt ivswitch | cycles/pkt OVS |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    md += ["| " + " | ".join(r) + " |" for r in rows]
    if prev_rows:
        md += ["", "The same cases, this build against the other ivswitch build measured in the same run "
               "(`suite.sh -p`):", "",
               "| case | previous build | this build | this / previous | previous / OVS | this / OVS | cycles/pkt previous | cycles/pkt this |",
               "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        md += ["| " + " | ".join(r) + " |" for r in prev_rows]
    md += ["", f"A run is *unclean* when other jobs took more than {CLEAN_MAX:g}% of the CPUs during it "
           "in every attempt (run.sh retries such runs); it is kept and marked. Runs that moved no packet "
           "are left out."]
    fs = os.path.join(out, "failed-steps.txt")
    if os.path.exists(fs) and os.path.getsize(fs):
        md += ["", "**Failed steps** (their figures are missing or partial):", "", "```", open(fs).read().strip(), "```"]
    md += ["", "```"] + lines + ["```", ""]
    for name, title in (("flowsetup", "Flow setup, K=8,000 new 5-tuples, both switches alternating"),
                        ("flowsetup-ivs", "Flow setup, ivswitch alone, K=200,000"),
                        ("latency", "Latency: ping RTT between two real guests (QEMU), same guests for every system")):
        p = os.path.join(out, name, "summary.txt")
        if os.path.exists(p):
            md += [f"## {title}", "", "```", open(p).read().strip(), "```", ""]
    if plot:
        md += ["![Mpps by case and system](suite.png)", ""]
    open(os.path.join(out, "report.md"), "w").write("\n".join(md))
    print("\n".join(lines))
    if plot:
        try:
            draw(plot, os.path.join(out, "suite.png"))
        except ImportError:
            print("report: no plot (python3-matplotlib is not installed; bench/suite.sh installs it)")
    print(f"report: {os.path.join(out, 'report.md')}")


def draw(plot, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    systems = [("testpmd", "testpmd io (ceiling)", "#9e9e9e"), ("ovs-dpdk", "OVS-DPDK", "#1f77b4"),
               ("ivswitch", "ivswitch", "#d62728")]
    fig, ax = plt.subplots(figsize=(12, 5))
    width = 0.27
    for i, (key, label, colour) in enumerate(systems):
        xs, ys, lo, hi = [], [], [], []
        for c, (_, data) in enumerate(plot):
            v = data.get(key)
            if not v:
                continue
            m = statistics.median(v)
            xs.append(c + (i - 1) * width); ys.append(m); lo.append(m - min(v)); hi.append(max(v) - m)
        ax.bar(xs, ys, width, label=label, color=colour, yerr=[lo, hi], capsize=3)
    ax.set_xticks(range(len(plot)))
    ax.set_xticklabels([t.replace(", ", ",\n", 1) for t, _ in plot], fontsize=8)
    ax.set_ylabel("Mpps at the sink (median, min..max)")
    ax.set_title("VM-to-VM throughput, 64-byte frames, one switch core")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1])
