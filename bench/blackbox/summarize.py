#!/usr/bin/env python3
"""compare.sh's summary: per case, old and new, median [min..max] of each figure, the
ratio new/old of the medians and the median [min..max] of the per-repetition ratios.
Input: raw.txt lines `rep=N side=old|new blackbox case=C mpps=... cycles_per_pkt=...`."""
import statistics
import sys
from collections import defaultdict

FIGURES = [("mpps", "Mpps"), ("cycles_per_pkt", "busy cycles/pkt"), ("oncpu_cycles_per_pkt", "on-CPU cycles/pkt")]


def parse(path):
    runs = defaultdict(dict)  # (case, rep) -> side -> fields
    for line in open(path):
        if not line.startswith("rep="):
            continue
        fields = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
        runs[(fields["case"], int(fields["rep"]))][fields["side"]] = fields
    return runs


def spread(values, fmt):
    return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}..{fmt.format(max(values))}]"


def main():
    runs = parse(sys.argv[1])
    cases = []
    for case, _ in sorted(runs, key=lambda k: k[1]):
        if case not in cases:
            cases.append(case)
    print(f"{'case':<10} {'figure':<18} {'old':>26} {'new':>26} {'new/old (medians)':>18} {'new/old per rep':>22}")
    for case in cases:
        reps = [runs[k] for k in runs if k[0] == case]
        for key, label in FIGURES:
            old = [float(r["old"][key]) for r in reps if "old" in r and key in r["old"]]
            new = [float(r["new"][key]) for r in reps if "new" in r and key in r["new"]]
            pairs = [float(r["new"][key]) / float(r["old"][key]) for r in reps
                     if "old" in r and "new" in r and key in r["old"] and float(r["old"][key]) > 0]
            if not old or not new:
                print(f"{case:<10} {label:<18} {'(no run)':>26}")
                continue
            fmt = "{:.3f}" if key == "mpps" else "{:.1f}"
            ratio = statistics.median(new) / statistics.median(old)
            per_rep = spread(pairs, "{:.3f}") if pairs else "-"
            print(f"{case:<10} {label:<18} {spread(old, fmt):>26} {spread(new, fmt):>26} {ratio:>18.3f} {per_rep:>22}")
    print("Mpps: higher is better; cycles per packet: lower is better. n =", max(len([k for k in runs if k[0] == c]) for c in cases) if cases else 0, "repetitions")


if __name__ == "__main__":
    main()
