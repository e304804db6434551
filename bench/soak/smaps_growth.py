#!/usr/bin/env python3
"""Where a process's resident memory grew between two copies of /proc/PID/smaps.

    smaps_growth.py BEFORE AFTER [N]

Prints the N (default 12) mappings whose Rss grew most, with their kind (anonymous,
shared memory, file) and name, and the total growth. Mappings are matched by their
start address
(a malloc arena or the brk heap grows at its end)."""
import sys


def read(path):
    maps, cur = {}, None
    for line in open(path):
        f = line.split()
        if not f:
            continue
        if "-" in f[0] and not f[0].endswith(":"):
            cur = {"name": " ".join(f[5:]) if len(f) > 5 else "[anon]", "perm": f[1]}
            maps[f[0].split("-")[0]] = cur
            cur["range"] = f[0]
        elif cur is not None and f[0].endswith(":") and len(f) >= 2 and f[1].isdigit():
            cur[f[0][:-1]] = int(f[1])
    return maps


def main():
    before, after = read(sys.argv[1]), read(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    rows = []
    for start, m in after.items():
        b, rng = before.get(start, {}), m["range"]
        grew = m.get("Rss", 0) - b.get("Rss", 0)
        kind = "shmem" if m.get("Shared_Dirty", 0) + m.get("Shared_Clean", 0) and m["name"].startswith("/memfd") else (
            "anon" if m.get("Anonymous", 0) else "file")
        rows.append((grew, rng, kind, m.get("Rss", 0), m.get("Size", 0), m["name"]))
    rows.sort(reverse=True)
    print(f"RSS growth by mapping (kB), total {sum(r[0] for r in rows):+d} kB:")
    print(f"{'growth':>9} {'rss':>9} {'size':>9}  kind   mapping")
    for grew, rng, kind, rss, size, name in rows[:n]:
        if grew:
            print(f"{grew:>+9d} {rss:>9d} {size:>9d}  {kind:<6} {name} {rng}")


if __name__ == "__main__":
    main()
